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
  use(id: string, expiresAt: number): boolean | Promise<boolean>;
}

export interface MemoryReplayStoreOptions {
  /** Proofs remembered at most. Default 100,000: about 300 proofs/s with the default 330 s window. */
  max?: number;
  /** Called when `max` pushes out a proof that could still be replayed (raise `max`, or share a store). */
  onEvict?: () => void;
  /** Milliseconds since the epoch; for tests. */
  clock?: () => number;
}

/** The default store: one process's memory, bounded, least recently used out first. */
export class MemoryReplayStore implements DpopReplayStore {
  private readonly seen: LRUCache<string, number>;
  private readonly clock: () => number;
  private evictedCount = 0;

  constructor(options: MemoryReplayStoreOptions = {}) {
    const max = options.max ?? 100_000;
    if (!(Number.isInteger(max) && max > 0)) throw new TypeError('tokenward: the DPoP replay store max must be a positive integer');
    this.clock = options.clock ?? Date.now;
    this.seen = new LRUCache<string, number>({
      max,
      dispose: (expiresAt, _id, reason) => {
        if (reason === 'evict' && expiresAt > this.clock()) {
          this.evictedCount++;
          options.onEvict?.();
        }
      },
    });
  }

  use(id: string, expiresAt: number): boolean {
    const known = this.seen.get(id);
    if (known !== undefined && known > this.clock()) return false;
    this.seen.set(id, expiresAt);
    return true;
  }

  /** Proofs pushed out by `max` while they could still have been replayed. */
  get evicted(): number {
    return this.evictedCount;
  }

  get size(): number {
    return this.seen.size;
  }
}
