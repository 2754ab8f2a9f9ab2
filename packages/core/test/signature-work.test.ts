/**
 * signatureWork 'auto' (signature-work.ts): the decision, driven by the clocks it is given, so
 * that what it does with a measurement is checked exactly; how fast either placement is on this
 * machine is the benchmark's business (bench/), never a test's.
 */
import { Placement } from '../src/signature-work';

/** A machine under load: a clock, the event loop's busy time, and verifications that overlap. */
function machine(multicore = true) {
  const state = { now: 1_000_000, busy: 0 };
  const placement = new Placement(
    multicore,
    () => state.now,
    () => state.busy,
  );
  /**
   * `count` verifications over `ms` of wall time, each costing the event loop `busyEach` ms in
   * the pool placement and `busyInline` inline (the trial measures what it is given); a
   * verification sent to the pool stays in flight until the next one, as under load. Returns how
   * many went to the pool.
   */
  const run = (count: number, ms: number, cost: { pool: number; inline: number }) => {
    let pooled = 0;
    let inFlight = false;
    for (let i = 0; i < count; i++) {
      state.now += ms / count;
      const pool = placement.usePool('auto');
      if (inFlight) placement.leave();
      inFlight = pool;
      if (pool) {
        placement.enter();
        pooled++;
      }
      state.busy += pool ? cost.pool : cost.inline;
    }
    if (inFlight) placement.leave();
    return pooled;
  };
  return { state, placement, run };
}

describe('explicit placements are obeyed', () => {
  test("'inline' never and 'threadpool' always use the pool", () => {
    const { placement } = machine();
    expect([placement.usePool('inline'), placement.usePool('threadpool')]).toEqual([false, true]);
  });
});

describe("'auto' without load or without cores", () => {
  test('one core: never the pool', () => {
    expect(machine(false).run(10_000, 60_000, { pool: 0.01, inline: 0.05 })).toBe(0);
  });

  test('verifications one at a time go inline, with a probe to the pool at most every 100 ms', () => {
    const { placement, state } = machine();
    let pooled = 0;
    for (let i = 0; i < 1000; i++) {
      state.now += 10;
      // Each verification is done before the next: nothing is ever in flight.
      if (placement.usePool('auto')) pooled++;
    }
    expect(pooled).toBe(100);
  });
});

describe("'auto' under load measures both placements and keeps the better", () => {
  test('until a trial, overlapping verifications go to the pool', () => {
    const { run } = machine();
    expect(run(1000, 10_000, { pool: 0.02, inline: 0.05 })).toBeGreaterThan(990);
  });

  test('the pool is kept where it verifies more per second', () => {
    const { run } = machine();
    // Past the first trials (3 s, then 30 s on), then a period: the rate is what the placements serve.
    run(40_000, 40_000, { pool: 0.02, inline: 0.05 });
    expect(run(10_000, 10_000, { pool: 0.02, inline: 0.05 })).toBeGreaterThan(9_900);
  });

  test('inline is chosen where the pool verifies fewer per second (its cores busy elsewhere), and only probes go to the pool', () => {
    const { placement, state } = machine();
    let pooled = 0;
    let inFlight = false;
    // A closed load: the pool placement completes 1 verification per ms, inline 2.
    for (let t = 0; t < 45_000; ) {
      const pool = placement.usePool('auto');
      if (inFlight) placement.leave();
      inFlight = pool;
      if (pool) placement.enter();
      if (pool && t > 35_000) pooled++;
      const step = pool ? 1 : 0.5;
      state.now += step;
      state.busy += step;
      t += step;
    }
    // After the trials (3 s, about 33 s): probes only (one per 100 ms) over the last 10 s.
    expect(pooled).toBeLessThanOrEqual(110);
    expect(pooled).toBeGreaterThan(0);
  });

  test('the first trial comes within seconds of start: where the pool loses, inline from then on', () => {
    const { placement, state } = machine();
    let pooled = 0;
    let inFlight = false;
    // The same closed load as above, for 6 s only.
    for (let t = 0; t < 6_000; ) {
      const pool = placement.usePool('auto');
      if (inFlight) placement.leave();
      inFlight = pool;
      if (pool) placement.enter();
      if (pool && t > 4_000) pooled++;
      const step = pool ? 1 : 0.5;
      state.now += step;
      state.busy += step;
      t += step;
    }
    expect(pooled).toBeLessThanOrEqual(21);
  });

  test('at the same rate (an open load), the placement that keeps the event loop less busy wins', () => {
    const { run } = machine();
    // The arrivals set the rate (1 per ms either way); inline costs the loop 0.2 ms, the pool 0.5.
    run(40_000, 40_000, { pool: 0.5, inline: 0.2 });
    const pooled = run(10_000, 10_000, { pool: 0.5, inline: 0.2 });
    expect(pooled).toBeLessThanOrEqual(110);
  });

  test('the verdict is measured again each period: a pool that pays again is taken back', () => {
    const { run } = machine();
    run(40_000, 40_000, { pool: 0.5, inline: 0.2 });
    // The load changes: now the pool is cheaper for the loop; the next trial (by 70 s) notices.
    run(40_000, 40_000, { pool: 0.02, inline: 0.2 });
    expect(run(10_000, 10_000, { pool: 0.02, inline: 0.2 })).toBeGreaterThan(9_900);
  });

  test('a trial window left open by a burst that ended is dropped, not judged on the lull', () => {
    const { run, state, placement } = machine();
    run(40_000, 40_000, { pool: 0.02, inline: 0.05 });
    // Trials at 3 s and about 33.6 s; a burst just as the next is due (about 64.2 s), stopping inside its first window.
    state.now = 64_300 + 1_000_000;
    run(150, 100, { pool: 0.02, inline: 0.05 });
    // Load comes back ten minutes later: the stale window decides nothing, the pool stays.
    state.now += 600_000;
    expect(run(2_000, 2_000, { pool: 0.02, inline: 0.05 })).toBeGreaterThan(1_980);
    // The same with the other order of windows (trials alternate which placement goes first).
    state.now += 30_000;
    run(150, 100, { pool: 0.02, inline: 0.05 });
    state.now += 600_000;
    expect(run(2_000, 2_000, { pool: 0.02, inline: 0.05 })).toBeGreaterThan(1_980);
    expect(placement.usePool('auto')).toBe(true);
  });

  test('a window with too few verifications to judge leaves the verdict as it was', () => {
    const { run } = machine();
    run(40_000, 40_000, { pool: 0.02, inline: 0.05 });
    // A lull with overlap (20 verifications a second) in which inline would look better: the
    // trials at about 60 s and 90 s see a handful each, and decide nothing.
    run(1_500, 75_000, { pool: 0.5, inline: 0.2 });
    expect(run(2_000, 2_000, { pool: 0.5, inline: 0.2 })).toBeGreaterThan(1_980);
  });
});
