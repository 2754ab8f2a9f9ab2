/**
 * The verified-token cache: tokens that passed every check, so that a repeated token costs no
 * signature verify. An LRU (lru-cache) bounded by `max`; the verifier still checks expiry, key
 * removal and revocation on every hit.
 *
 * Keyed by the token's last KEY_LENGTH characters (the tail of its signature), not by the whole
 * token. Each request brings the token as a new string, and a Map hashes a new string in full on
 * lookup, which for a whole token was about half of a cache hit (docs/performance.md); 40
 * characters hash in a few dozen nanoseconds. An entry keeps the whole token and a lookup only
 * answers for a token equal to it (a plain string comparison), so a token that merely shares a
 * tail with a cached one is a miss and goes through full verification; it is never stored unless
 * it verifies. Signatures are unpredictable, so two valid tokens sharing a tail is not a concern
 * beyond one of them being verified again.
 *
 * Admission: a token is stored when it is verified for the second time while the doorkeeper still
 * remembers its first (TinyLFU's doorkeeper: a table of fingerprints as large as the cache, in one
 * typed array). A token used once is never stored: a stream of single-use tokens (clients that
 * fetch a token per call, a load of distinct tokens) neither fills the cache nor, once it is
 * full, evicts a cached token per request. Measured under a distinct-token HTTP load, storing
 * every verified token until the cache was full cost about 25 MiB of RSS and a tenth of the
 * throughput for entries that were never read again, and the later churn of evicted entries,
 * promoted before they died, was old-space garbage (docs/performance.md). A token in use pays one
 * more verify, once, before it is cached; the tokens already cached keep their places.
 */
import { LRUCache } from 'lru-cache';

const KEY_LENGTH = 40;

export class TokenCache<Entry extends { readonly token: { readonly token: string } }> {
  private readonly entries: LRUCache<string, Entry>;
  private readonly doorkeeper: Doorkeeper;

  constructor(max: number) {
    this.entries = new LRUCache({ max });
    this.doorkeeper = new Doorkeeper(max);
  }

  get(token: string): Entry | undefined {
    const entry = this.entries.get(keyOf(token));
    return entry !== undefined && entry.token.token === token ? entry : undefined;
  }

  /** Stores a verified token's entry on its second verification (see Admission). */
  admit(token: string, entry: Entry): void {
    const key = keyOf(token);
    if (this.doorkeeper.seenBefore(key)) this.entries.set(key, entry);
  }

  /** Forgets `token`'s entry (and only that token's). */
  delete(token: string): void {
    if (this.get(token) !== undefined) this.entries.delete(keyOf(token));
  }

  /** Forgets every entry for which `drop` says so. */
  deleteWhere(drop: (entry: Entry) => boolean): void {
    for (const [key, entry] of this.entries.entries()) if (drop(entry)) this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
    this.doorkeeper.clear();
  }
}

/**
 * Fingerprints of recently offered keys, one per slot (a power of two at least `size`, and at
 * least 1,024: 4 KiB), each overwritten by the next key that falls in its slot: it forgets, never
 * grows, and allocates nothing per token. A token whose slot was taken between two of its uses
 * is stored at a later use; the floor keeps that rare for a small cache. A false "seen" (two keys
 * with one fingerprint) only stores a token early.
 */
class Doorkeeper {
  private readonly slots: Uint32Array;
  private readonly mask: number;

  constructor(size: number) {
    const length = 2 ** Math.ceil(Math.log2(Math.max(1024, size)));
    this.slots = new Uint32Array(length);
    this.mask = length - 1;
  }

  /** Whether `key` was offered since its slot was last taken by another key; remembers it either way. */
  seenBefore(key: string): boolean {
    const hash = fnv1a(key);
    const slot = hash & this.mask;
    // The fingerprint: the hash mixed again, never 0 (an empty slot).
    const print = (Math.imul(hash ^ (hash >>> 15), 0x2c1b3c6d) | 1) >>> 0;
    if (this.slots[slot] === print) return true;
    this.slots[slot] = print;
    return false;
  }

  clear(): void {
    this.slots.fill(0);
  }
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

function keyOf(token: string): string {
  return token.length <= KEY_LENGTH ? token : token.slice(-KEY_LENGTH);
}
