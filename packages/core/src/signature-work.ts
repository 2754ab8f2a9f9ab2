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
 * rather than assumes: soon after start and then every TRIAL_PERIOD_MS it spends one window inline and one on the pool (in
 * alternating order) and keeps, until the next trial, the placement that verified more per second
 * or, at the same rate (an open load, whose rate the arrivals set), the one that kept the event
 * loop less busy per verification: the headroom that decides latency and the next load's ceiling.
 */
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';

export type SignatureWork = 'auto' | 'inline' | 'threadpool';

export const SIGNATURE_WORK: readonly SignatureWork[] = ['auto', 'inline', 'threadpool'];

const PROBE_INTERVAL_MS = 100;
const OVERLAP_MEMORY_MS = 1_000;
// A trial costs at most one window in the worse placement per period: 2 % of the time.
const TRIAL_PERIOD_MS = 30_000;
// The first trial comes soon after start (once the code is warm), so that a machine where the
// pool loses is served inline from its first sustained load, not after a period of guessing.
const FIRST_TRIAL_MS = 3_000;
const TRIAL_WINDOW_MS = 300;
// Fewer verifications than this in a window say nothing about either placement.
const TRIAL_MIN_VERIFICATIONS = 100;
// Rates within this share of each other count as the same rate (the noise of a busy machine).
const SAME_RATE = 0.05;

/** Event-loop busy time so far, in ms (performance.eventLoopUtilization().active). */
export type BusyClock = () => number;

interface Window {
  readonly pool: boolean;
  readonly start: number;
  readonly busyAtStart: number;
  verifications: number;
}

interface Measured {
  /** Verifications per ms of wall time. */
  readonly rate: number;
  /** Event-loop busy ms per verification. */
  readonly busy: number;
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
  private firstWindow: Measured | undefined;

  constructor(
    private readonly multicore: boolean,
    private readonly now: () => number = Date.now,
    private readonly busy: BusyClock = () => performance.eventLoopUtilization().active,
  ) {
    this.nextTrial = now() + FIRST_TRIAL_MS;
  }

  /** Whether the next verification goes to the pool; if so, call `enter` and later `leave`. */
  usePool(work: SignatureWork): boolean {
    if (work !== 'auto') return work === 'threadpool';
    if (!this.multicore) return false;
    const now = this.now();
    if (this.inPool > 0) this.overlapUntil = now + OVERLAP_MEMORY_MS;
    const loaded = this.inPool > 0 || now < this.overlapUntil;
    if (loaded) {
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
      if (now < this.nextTrial) return undefined;
      this.trialOrder = !this.trialOrder;
      this.firstWindow = undefined;
      this.window = { pool: this.trialOrder, start: now, busyAtStart: this.busy(), verifications: 0 };
    }
    const window = this.window;
    // A window left open by a burst that ended long ago measures the lull, not a placement.
    if (now - window.start > 2 * TRIAL_WINDOW_MS) return this.endTrial(now, undefined);
    if (now - window.start < TRIAL_WINDOW_MS) {
      window.verifications++;
      return window.pool;
    }
    const measured: Measured = { rate: window.verifications / (now - window.start), busy: (this.busy() - window.busyAtStart) / Math.max(1, window.verifications) };
    if (window.verifications < TRIAL_MIN_VERIFICATIONS) return this.endTrial(now, undefined);
    if (this.firstWindow === undefined) {
      // The second window, in the other placement.
      this.firstWindow = measured;
      this.window = { pool: !window.pool, start: now, busyAtStart: this.busy(), verifications: 1 };
      return !window.pool;
    }
    const [pool, inline] = window.pool ? [measured, this.firstWindow] : [this.firstWindow, measured];
    const sameRate = Math.abs(pool.rate - inline.rate) <= SAME_RATE * Math.max(pool.rate, inline.rate);
    return this.endTrial(now, sameRate ? pool.busy <= inline.busy : pool.rate > inline.rate);
  }

  private endTrial(now: number, poolPays: boolean | undefined): undefined {
    if (poolPays !== undefined) this.poolPays = poolPays;
    this.window = undefined;
    this.firstWindow = undefined;
    this.nextTrial = now + TRIAL_PERIOD_MS;
    return undefined;
  }
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
