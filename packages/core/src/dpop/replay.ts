/**
 * RFC 9449 §11.1: a proof's `jti` is accepted once. The store remembers each proof (by its key's
 * thumbprint and jti) until no verifier would accept it any more: its `iat` plus the proof window.
 * An interface, so that a fleet can share one store (a Redis `SET NX PX`); a store that cannot
 * answer makes the proof refused with a 503, never accepted (fail closed).
 */
import { LRUCache } from 'lru-cache';

export interface DpopReplayStore {
  /**
   * Records `id` until `expiresAt` (milliseconds since the epoch). True when it was not recorded
   * before, false for a replay. May return a promise; a throw or rejection refuses the proof (503).
   */
  use(id: string, expiresAt: number): boolean | PromiseLike<boolean>;
}

export interface MemoryReplayStoreOptions {
  /**
   * Proofs remembered at most. Default 100,000: about 300 proofs/s with the default 330 s window.
   * When every one is still replayable, a new proof is refused (503) rather than an old one
   * forgotten: a flood of proofs must not reopen a replay.
   */
  max?: number;
  /** Called when a proof is refused because the store is full (raise `max`, or share a store). */
  onFull?: () => void;
  /** Milliseconds since the epoch; for tests. */
  clock?: () => number;
}

/** The default store: one process's memory, bounded, oldest entries out first once they expire. */
export class MemoryReplayStore implements DpopReplayStore {
  /** Made at the first proof: an LRU allocates its arrays for `max` entries up front (~2.7 MB at 100,000). */
  private seen: LRUCache<string, number> | undefined;
  private readonly max: number;
  private readonly clock: () => number;
  private readonly onFull: (() => void) | undefined;
  private refusedCount = 0;

  constructor(options: MemoryReplayStoreOptions = {}) {
    const max = options.max ?? 100_000;
    if (!(Number.isInteger(max) && max > 0)) throw new TypeError('tokenward: the DPoP replay store max must be a positive integer');
    this.max = max;
    this.clock = options.clock ?? Date.now;
    this.onFull = options.onFull;
  }

  use(id: string, expiresAt: number): boolean {
    const now = this.clock();
    // One more than `max`: entries leave only as this store says, never by the cache's own eviction.
    const seen = (this.seen ??= new LRUCache<string, number>({ max: this.max + 1 }));
    const known = seen.peek(id);
    if (known !== undefined && known > now) return false;
    if (seen.size >= this.max && !this.makeRoom(seen, now)) {
      this.refusedCount++;
      this.onFull?.();
      throw new Error('the DPoP replay store is full of proofs that could still be replayed');
    }
    seen.set(id, expiresAt);
    return true;
  }

  /** Proofs refused because the store was full. */
  get refused(): number {
    return this.refusedCount;
  }

  get size(): number {
    return this.seen?.size ?? 0;
  }

  /**
   * Drops expired entries from the old end (entries are never touched after they are set, so the
   * least recently used are the oldest, and expire first up to the few seconds of iat leeway).
   */
  private makeRoom(seen: LRUCache<string, number>, now: number): boolean {
    const expired: string[] = [];
    for (const [id, expiresAt] of seen.rentries() as Generator<[string, number]>) {
      if (expiresAt > now || expired.length >= 64) break;
      expired.push(id);
    }
    for (const id of expired) seen.delete(id);
    return seen.size < this.max;
  }
}
