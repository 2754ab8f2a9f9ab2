/**
 * One fetched JWK Set (RFC 7517 §5) and the choice of a key from it, with no I/O: by `kid` as an
 * exact-match label, or, for a token without one, the only key that fits the algorithm. The rules:
 * - every member is vetted (keys/jwk.ts); one that fails is left out and reported;
 * - several keys under one kid: none of them verifies under it, since an impostor could sit
 *   beside the real key and first- or last-match would pick one of them by accident;
 * - the key must fit the token's `alg` (kty, curve, the JWK's own `alg`), checked once per choice.
 * Fetching, caching and refreshing are remote-jwks.ts's.
 */
import type { EventListener, KeySourceFailure } from '../events.js';
import { SourceError } from '../fetch-json.js';
import { keyFitsAlgorithm, vetJwk } from './jwk.js';
import { KeyEntry } from './key-entry.js';

const AMBIGUOUS = Symbol('ambiguous kid');

/** Why no key could be chosen: no such kid, several keys for it, or one that does not fit the alg. */
export type NoKey = 'unknown' | 'ambiguous' | 'mismatch';

export class LocalJwks {
  static readonly empty = new LocalJwks(new Map(), [], new Set());

  private constructor(
    private readonly byKid: ReadonlyMap<string, KeyEntry | typeof AMBIGUOUS>,
    /** Keys usable by a token without kid: those with no kid or a kid of their own. */
    private readonly all: readonly KeyEntry[],
    /** Every kid the set names, its members left out included. */
    private readonly named: ReadonlySet<string>,
  ) {}

  /**
   * The set in `body`, fetched from `jwksUri`. Keys unchanged since `previous` keep their entry,
   * and with it their imported forms. Throws a SourceError for a body that is no key set at all.
   */
  static from(jwksUri: string, body: unknown, previous: LocalJwks, rules: { algorithms: ReadonlySet<string>; maxKeys: number; emit: EventListener }): LocalJwks {
    const keys = typeof body === 'object' && body !== null ? (body as { keys?: unknown }).keys : undefined;
    if (!Array.isArray(keys)) throw new SourceError<KeySourceFailure>('jwks_invalid', `${jwksUri} is not a JWK Set`);
    if (keys.length > rules.maxKeys) {
      throw new SourceError<KeySourceFailure>('too_many_keys', `${jwksUri} has ${keys.length} keys, over the cap of ${rules.maxKeys}`);
    }
    const known = new Map<string, KeyEntry>();
    for (const entry of previous.all) known.set(entry.vetted.fingerprint, entry);

    const entries: KeyEntry[] = [];
    const byKid = new Map<string, KeyEntry | typeof AMBIGUOUS>();
    const named = new Set<string>();
    for (const candidate of keys) {
      const kid = (candidate as { kid?: unknown } | null)?.kid;
      if (typeof kid === 'string') named.add(kid);
      const vetted = vetJwk(candidate, rules.algorithms);
      if (typeof vetted === 'string') {
        rules.emit({ type: 'key_ignored', jwksUri, kid: typeof kid === 'string' ? kid : undefined, reason: vetted });
        continue;
      }
      const entry = known.get(vetted.fingerprint) ?? new KeyEntry(vetted);
      entries.push(entry);
      if (vetted.kid === undefined) continue;
      if (byKid.has(vetted.kid)) {
        byKid.set(vetted.kid, AMBIGUOUS);
        rules.emit({ type: 'key_ignored', jwksUri, kid: vetted.kid, reason: 'kid_duplicate' });
      } else {
        byKid.set(vetted.kid, entry);
      }
    }
    return new LocalJwks(
      byKid,
      entries.filter((entry) => entry.kid === undefined || byKid.get(entry.kid) === entry),
      named,
    );
  }

  /** The key for a token with `kid` and `alg`, or why there is none. */
  select(kid: string | undefined, alg: string): KeyEntry | NoKey {
    if (kid === undefined) {
      let found: KeyEntry | undefined;
      for (const entry of this.all) {
        if (!keyFitsAlgorithm(entry.vetted, alg)) continue;
        if (found !== undefined) return 'ambiguous';
        found = entry;
      }
      return found ?? 'unknown';
    }
    const entry = this.byKid.get(kid);
    if (entry === undefined) return 'unknown';
    if (entry === AMBIGUOUS) return 'ambiguous';
    return keyFitsAlgorithm(entry.vetted, alg) ? entry : 'mismatch';
  }

  /** The entry published under `kid` now (for a token without kid: the only key), or undefined. */
  current(kid: string | undefined): KeyEntry | undefined {
    if (kid === undefined) return this.all.length === 1 ? this.all[0] : undefined;
    const entry = this.byKid.get(kid);
    return entry === AMBIGUOUS ? undefined : entry;
  }

  /** Whether the set names `kid`, as a key that verifies or as one left out. */
  names(kid: string): boolean {
    return this.named.has(kid);
  }

  /** Keys that can verify (an ambiguous kid's keys cannot). */
  get size(): number {
    return this.all.length;
  }

  /** Key ids published (keys without a kid are not listed). */
  get kids(): string[] {
    return [...this.byKid.keys()];
  }

  /** Kids of this set that `next` no longer publishes with the same key, and kids new in `next`. */
  changesTo(next: LocalJwks): { removed: string[]; added: string[] } {
    return {
      removed: [...this.byKid.keys()].filter((kid) => next.byKid.get(kid) !== this.byKid.get(kid)),
      added: [...next.byKid.keys()].filter((kid) => !this.byKid.has(kid)),
    };
  }
}
