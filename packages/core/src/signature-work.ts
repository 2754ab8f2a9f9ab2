/**
 * Where signature math runs (the `signatureWork` option), decided for the whole process because
 * libuv's thread pool is shared by the whole process:
 * - 'inline': node:crypto's synchronous verify on the event loop;
 * - 'threadpool': node:crypto's verify with a callback, on libuv's pool;
 * - 'auto' (the default): the pool only while verifications overlap on a machine with more than
 *   one core. One at a time, a thread hop costs more than the RSA math; under load the pool lets
 *   the other cores do the math while the event loop serves requests (figures:
 *   docs/performance.md). An occasional probe sends one verification to the pool to see whether
 *   others arrive meanwhile.
 */
import { availableParallelism } from 'node:os';

export type SignatureWork = 'auto' | 'inline' | 'threadpool';

export const SIGNATURE_WORK: readonly SignatureWork[] = ['auto', 'inline', 'threadpool'];

const PROBE_INTERVAL_MS = 100;
const OVERLAP_MEMORY_MS = 1_000;

const placement = {
  multicore: availableParallelism() > 1,
  /** Verifications on the pool now. */
  inPool: 0,
  /** Until then (ms since the epoch) verifications go to the pool: an overlap was seen. */
  overlapUntil: 0,
  nextProbe: 0,
};

/** Whether the next verification goes to the pool; if so, call `enterPool` and later `leavePool`. */
export function usePool(work: SignatureWork): boolean {
  if (work !== 'auto') return work === 'threadpool';
  if (!placement.multicore) return false;
  const now = Date.now();
  if (placement.inPool > 0) {
    placement.overlapUntil = now + OVERLAP_MEMORY_MS;
    return true;
  }
  if (now < placement.overlapUntil) return true;
  if (now >= placement.nextProbe) {
    placement.nextProbe = now + PROBE_INTERVAL_MS;
    return true;
  }
  return false;
}

export function enterPool(): void {
  placement.inPool++;
}

export function leavePool(): void {
  placement.inPool--;
}
