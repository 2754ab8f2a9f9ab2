/**
 * A short-lived, bounded, in-memory revocation list, consulted on every verify (cache hits too).
 * Entries remove themselves once no token they could match can still be accepted:
 * - by `jti`: until that token's `exp` (plus the largest clock tolerance a verifier may use);
 * - by subject, client or session (`sid`, OpenID Connect Back-Channel Logout), "issued at or
 *   before T": until T plus the longest token lifetime.
 * A hard `max` per kind bounds memory whatever is fed in; the least recently used entries go
 * first, and each such early eviction is counted and reported. A kind's table is made at its
 * first revocation: an LRU allocates its arrays for `max` entries up front (about 2.7 MB at the
 * default 100,000, measured), which a verifier that revokes nothing, or only by jti, need not hold.
 */
import { LRUCache } from 'lru-cache';
import { clientIdOf, DEFAULT_MAX_TOKEN_LIFETIME, MAX_CLOCK_TOLERANCE, type JwtClaims } from './claims.js';

export interface RevocationListOptions {
  /** Most entries kept per kind (jti, subject, client, session). Default 100,000. */
  max?: number;
  /** Seconds: the longest access-token lifetime of the verifiers using this list. Default 24 h. */
  maxTokenLifetime?: number;
  /** Called when `max` pushes out an entry that could still match a valid token. */
  onEvict?: (entry: { kind: Kind; value: string }) => void;
  /** Milliseconds since the epoch; for tests. */
  clock?: () => number;
}

/** Seconds since the epoch (a JWT NumericDate) or a Date. */
export type Instant = number | Date;

export interface ScopeOfRevocation {
  /** Restrict to tokens from this issuer (multi-tenant lists where subjects may collide). */
  issuer?: string;
  /** Tokens issued at or before this instant are revoked. Default: now. */
  before?: Instant;
}

type Kind = 'jti' | 'subject' | 'client' | 'session';

export class RevocationList {
  readonly maxTokenLifetime: number;
  private readonly clock: () => number;
  /**
   * Made at each kind's first revocation. jti -> the token's exp (seconds); subject, client_id or
   * sid (each alone or issuer + value) -> cutoff: tokens with iat at or before it are revoked
   * (seconds). A sid is the provider's session, ended by a logout.
   */
  private readonly tables: Partial<Record<Kind, LRUCache<string, number>>> = {};
  private readonly make: (kind: Kind) => LRUCache<string, number>;
  private evictedCount = 0;

  constructor(options: RevocationListOptions = {}) {
    const max = options.max ?? 100_000;
    this.maxTokenLifetime = options.maxTokenLifetime ?? DEFAULT_MAX_TOKEN_LIFETIME;
    this.clock = options.clock ?? Date.now;
    this.make = (kind: Kind) =>
      new LRUCache<string, number>({
        max,
        dispose: (value, key, reason) => {
          if (reason === 'evict' && this.expiry(kind, value) > this.clock()) {
            this.evictedCount++;
            options.onEvict?.({ kind, value: key });
          }
        },
      });
  }

  /** Revokes one token by its `jti` until its `exp`. */
  revoke(token: { jti: string; expiresAt: Instant }): void {
    if (typeof token.jti !== 'string' || token.jti === '') throw new TypeError('revoke() needs the token jti');
    const exp = seconds(token.expiresAt);
    if (this.expiry('jti', exp) > this.clock()) this.cache('jti').set(token.jti, exp);
  }

  /** Revokes every token of `subject` issued at or before `before` (default now): log out everywhere. */
  revokeSubject(subject: string, scope: ScopeOfRevocation = {}): void {
    this.revokeIssuedBefore('subject', subject, scope);
  }

  /** Revokes every token of OAuth client `clientId` issued at or before `before` (default now). */
  revokeClient(clientId: string, scope: ScopeOfRevocation = {}): void {
    this.revokeIssuedBefore('client', clientId, scope);
  }

  /**
   * Revokes every token carrying the provider's session id `sid` issued at or before `before`
   * (default now): a logout of that session (OpenID Connect Back-Channel Logout 1.0 §2.4). Only
   * tokens with a `sid` claim can match; pass the issuer, since session ids are the provider's.
   */
  revokeSession(sid: string, scope: ScopeOfRevocation = {}): void {
    this.revokeIssuedBefore('session', sid, scope);
  }

  /** Whether a token with these (verified) claims is revoked. */
  isRevoked(claims: JwtClaims): boolean {
    const tables = this.tables;
    if (holds(tables.jti) && claims.jti !== undefined && this.live('jti', claims.jti) !== undefined) return true;
    if (holds(tables.subject) && claims.sub !== undefined && this.issuedBefore('subject', claims.sub, claims)) return true;
    if (holds(tables.session) && typeof claims.sid === 'string' && this.issuedBefore('session', claims.sid, claims)) return true;
    if (!holds(tables.client)) return false;
    const client = clientIdOf(claims);
    return client !== undefined && this.issuedBefore('client', client, claims);
  }

  /** Entries held now (all kinds; some may have expired and not been swept yet). */
  get size(): number {
    let size = 0;
    for (const table of Object.values(this.tables)) size += table.size;
    return size;
  }

  /** Entries pushed out by `max` while they could still match a token. */
  get evicted(): number {
    return this.evictedCount;
  }

  clear(): void {
    for (const table of Object.values(this.tables)) table.clear();
  }

  private cache(kind: Kind): LRUCache<string, number> {
    return (this.tables[kind] ??= this.make(kind));
  }

  /** Milliseconds after which an entry can match no acceptable token. */
  private expiry(kind: Kind, value: number): number {
    const lastExp = kind === 'jti' ? value : value + this.maxTokenLifetime;
    return (lastExp + MAX_CLOCK_TOLERANCE) * 1000;
  }

  private live(kind: Kind, key: string): number | undefined {
    const cache = this.cache(kind);
    const value = cache.get(key);
    if (value === undefined) return undefined;
    if (this.expiry(kind, value) <= this.clock()) {
      cache.delete(key);
      return undefined;
    }
    return value;
  }

  private revokeIssuedBefore(kind: Exclude<Kind, 'jti'>, value: string, scope: ScopeOfRevocation): void {
    if (typeof value !== 'string' || value === '') throw new TypeError(`a ${kind === 'session' ? 'session id' : kind === 'client' ? 'client id' : 'subject'} is required`);
    const cutoff = scope.before === undefined ? Math.floor(this.clock() / 1000) : seconds(scope.before);
    const key = scope.issuer === undefined ? value : scoped(scope.issuer, value);
    const previous = this.live(kind, key);
    if (previous !== undefined && previous >= cutoff) return;
    if (this.expiry(kind, cutoff) > this.clock()) this.cache(kind).set(key, cutoff);
  }

  private issuedBefore(kind: Exclude<Kind, 'jti'>, value: string, claims: JwtClaims): boolean {
    for (const key of claims.iss === undefined ? [value] : [value, scoped(claims.iss, value)]) {
      const cutoff = this.live(kind, key);
      // A token without iat cannot show that it was issued after the cutoff.
      if (cutoff !== undefined && (claims.iat === undefined || claims.iat <= cutoff)) return true;
    }
    return false;
  }
}

function holds(table: LRUCache<string, number> | undefined): boolean {
  return table !== undefined && table.size > 0;
}

function seconds(instant: Instant): number {
  const value = instant instanceof Date ? instant.getTime() / 1000 : instant;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError('expected seconds since the epoch or a Date');
  return value;
}

function scoped(issuer: string, value: string): string {
  return `${issuer}\u0000${value}`;
}
