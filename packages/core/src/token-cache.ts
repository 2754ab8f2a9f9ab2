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
 */
import { LRUCache } from 'lru-cache';

const KEY_LENGTH = 40;

export class TokenCache<Entry extends { readonly token: { readonly token: string } }> {
  private readonly entries: LRUCache<string, Entry>;

  constructor(max: number) {
    this.entries = new LRUCache({ max });
  }

  get(token: string): Entry | undefined {
    const entry = this.entries.get(keyOf(token));
    return entry !== undefined && entry.token.token === token ? entry : undefined;
  }

  set(token: string, entry: Entry): void {
    this.entries.set(keyOf(token), entry);
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
  }
}

function keyOf(token: string): string {
  return token.length <= KEY_LENGTH ? token : token.slice(-KEY_LENGTH);
}
