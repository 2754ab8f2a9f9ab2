/**
 * Where signature math runs (the `signatureWork` option), decided for the whole process because
 * libuv's thread pool is shared by the whole process:
 * - 'inline': node:crypto's synchronous verify on the event loop;
 * - 'threadpool': node:crypto's verify with a callback, on libuv's pool;
 * - 'auto' (the default): inline, except while verifications overlap on a machine with more than
 *   one core. One at a time, a thread hop costs more than the RSA math; under load the pool lets
 *   the other cores do the math while the event loop serves requests (figures:
 *   docs/performance.md). An occasional probe sends one verification to the pool to see whether
 *   others arrive meanwhile.
 *
 * Whether the pool pays depends on the machine: with its other cores busy (another process, the
 * load generator of a benchmark), the hop only adds work. So under sustained load 'auto' measures
 * rather than assumes: soon after start and then every TRIAL_PERIOD_MS it spends four windows,
 * A B B A (A inline in one trial, the pool in the next), and keeps, until the next trial, the
 * placement that verified more per second over its two windows or, at the same rate (an open
 * load, whose rate the arrivals set), the one that kept the event loop less busy per
 * verification: the headroom that decides latency and the next load's ceiling. The A B B A order
 * cancels a load that rises or falls steadily during the trial, which in an A B trial favours
 * whichever window comes second; and a trial starts only once a load has lasted TRIAL_SETTLE_MS,
 * so the slow first moments of a load (connections opening, code paths warming) do not count
 * against the placement that happens to come first.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';

export type SignatureWork = 'auto' | 'inline' | 'threadpool';

export const SIGNATURE_WORK: readonly SignatureWork[] = ['auto', 'inline', 'threadpool'];

const PROBE_INTERVAL_MS = 100;
const OVERLAP_MEMORY_MS = 1_000;
// A trial costs at most two windows in the worse placement per period: 2 % of the time.
const TRIAL_PERIOD_MS = 30_000;
// The first trial comes soon after start (once the code is warm), so that a machine where the
// pool loses is served inline from its first sustained load, not after a period of guessing.
const FIRST_TRIAL_MS = 3_000;
const TRIAL_WINDOW_MS = 300;
// A load must have lasted this long before a trial starts (see the module's comment).
const TRIAL_SETTLE_MS = 500;
// Fewer verifications than this in a window say nothing about either placement.
const TRIAL_MIN_VERIFICATIONS = 100;
// Rates within this share of each other count as the same rate (the noise of a busy machine).
const SAME_RATE = 0.05;

/** Event-loop busy time so far, in ms (performance.eventLoopUtilization().active). */
export type BusyClock = () => number;

interface Window {
  /** 0 to 3: the trial's windows are A B B A. */
  readonly index: number;
  readonly pool: boolean;
  readonly start: number;
  readonly busyAtStart: number;
  verifications: number;
}

/** One placement's windows of a trial, summed. */
interface Totals {
  ms: number;
  busy: number;
  verifications: number;
}

/**
 * The 'auto' decision, with its clocks injected (the tests drive them; the process uses one
 * instance, `placement`).
 */
export class Placement {
  private inPool = 0;
  /** Until then (ms) verifications go to the pool: an overlap was seen. */
  private overlapUntil = 0;
  private nextProbe = 0;
  /** The trial's verdict: whether the pool pays under this load. Until a trial says, it is assumed to. */
  private poolPays = true;
  private nextTrial: number;
  private trialOrder = false;
  private window: Window | undefined;
  private totals = { pool: totals(), inline: totals() };
  /** When a verification last found no load: the current load began after it. */
  private idleAt: number;

  constructor(
    private readonly multicore: boolean,
    private readonly now: () => number = Date.now,
    private readonly busy: BusyClock = () => performance.eventLoopUtilization().active,
  ) {
    this.idleAt = now();
    this.nextTrial = this.idleAt + FIRST_TRIAL_MS;
  }

  /** Whether the next verification goes to the pool; if so, call `enter` and later `leave`. */
  usePool(work: SignatureWork): boolean {
    if (work !== 'auto') return work === 'threadpool';
    if (!this.multicore) return false;
    const now = this.now();
    if (this.inPool > 0) this.overlapUntil = now + OVERLAP_MEMORY_MS;
    const loaded = this.inPool > 0 || now < this.overlapUntil;
    if (!loaded) this.idleAt = now;
    else {
      const trial = this.trial(now);
      if (trial !== undefined) return trial;
      if (this.poolPays) return true;
      // The pool does not pay here: inline, with a probe now and then so that the load stays seen.
    }
    if (now >= this.nextProbe) {
      this.nextProbe = now + PROBE_INTERVAL_MS;
      return true;
    }
    return false;
  }

  enter(): void {
    this.inPool++;
  }

  leave(): void {
    this.inPool--;
  }

  /** During a trial, the placement of its current window; undefined outside one. */
  private trial(now: number): boolean | undefined {
    if (this.window === undefined) {
      if (now < this.nextTrial || now - this.idleAt < TRIAL_SETTLE_MS) return undefined;
      this.trialOrder = !this.trialOrder;
      this.totals = { pool: totals(), inline: totals() };
      this.window = this.open(0, now, 0);
    }
    const window = this.window;
    // A window left open by a burst that ended long ago measures the lull, not a placement.
    if (now - window.start > 2 * TRIAL_WINDOW_MS) return this.endTrial(now, undefined);
    if (now - window.start < TRIAL_WINDOW_MS) {
      window.verifications++;
      return window.pool;
    }
    if (window.verifications < TRIAL_MIN_VERIFICATIONS) return this.endTrial(now, undefined);
    const sum = window.pool ? this.totals.pool : this.totals.inline;
    sum.ms += now - window.start;
    sum.busy += this.busy() - window.busyAtStart;
    sum.verifications += window.verifications;
    if (window.index < 3) {
      this.window = this.open(window.index + 1, now, 1);
      return this.window.pool;
    }
    const { pool, inline } = this.totals;
    const [poolRate, inlineRate] = [pool.verifications / pool.ms, inline.verifications / inline.ms];
    const sameRate = Math.abs(poolRate - inlineRate) <= SAME_RATE * Math.max(poolRate, inlineRate);
    return this.endTrial(now, sameRate ? pool.busy / pool.verifications <= inline.busy / inline.verifications : poolRate > inlineRate);
  }

  /** The trial's window `index` (A B B A: A is the pool when trialOrder is set), from `now`. */
  private open(index: number, now: number, verifications: number): Window {
    const pool = index === 0 || index === 3 ? this.trialOrder : !this.trialOrder;
    return { index, pool, start: now, busyAtStart: this.busy(), verifications };
  }

  private endTrial(now: number, poolPays: boolean | undefined): undefined {
    if (poolPays !== undefined) this.poolPays = poolPays;
    this.window = undefined;
    this.nextTrial = now + TRIAL_PERIOD_MS;
    return undefined;
  }
}

function totals(): Totals {
  return { ms: 0, busy: 0, verifications: 0 };
}

const placement = new Placement(availableParallelism() > 1);

/** Whether the next verification goes to the pool; if so, call `enterPool` and later `leavePool`. */
export function usePool(work: SignatureWork): boolean {
  return placement.usePool(work);
}

export function enterPool(): void {
  placement.enter();
}

export function leavePool(): void {
  placement.leave();
}
