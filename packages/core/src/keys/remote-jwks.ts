/**
 * One issuer's remote JWKS (RFC 7517 §5), fetched and refreshed so that requests almost never
 * wait on the network:
 * - fresh for `cacheMaxAge`; past most of that, the next request starts a refresh in the
 *   background and is served from the cache;
 * - one fetch at a time (single-flight), and after the first key set no fetch starts within
 *   `cooldown` of the previous one, whatever asks for it: an unknown `kid`, a thousand random
 *   `kid`s, or a refresh. A rotated key is therefore picked up within one cooldown;
 * - an unknown kid refused for the cooldown, on a token issued since our last fetch, may be a key
 *   published since (a provider may sign with a key as soon as it publishes it): the set is
 *   fetched again when the window ends, without waiting for a request, and the token is answered
 *   503 key_pending with a Retry-After until then, not a 401 that makes the client drop it;
 * - on failure the last good set keeps serving for `maxStale` past its freshness (stale-if-error);
 * - a kid gone from a successfully fetched set stops verifying at once.
 * Which key of a set a token gets is local-jwks.ts's.
 */
import type { KeyObject } from 'node:crypto';
import { TokenwardError, TokenwardSetupError, type RejectionDetail } from '../errors.js';
import type { EventListener, KeySourceFailure } from '../events.js';
import { fetchJson, SourceError, type FetchJsonOptions } from '../fetch-json.js';
import type { KeyEntry } from './key-entry.js';
import { LocalJwks, type NoKey } from './local-jwks.js';

export interface JwksOptions {
  /** Milliseconds a fetched key set counts as fresh. Default 10 min. */
  cacheMaxAge?: number;
  /** Milliseconds between two fetches once a key set is known. Default 30 s, the most allowed. */
  cooldown?: number;
  /** Milliseconds for one fetch, body included. Default 5 s. */
  timeout?: number;
  /** Milliseconds a key set keeps serving past `cacheMaxAge` while refreshes fail. Default 24 h. */
  maxStale?: number;
  /** Byte cap on the JWKS body. Default 512 KiB. */
  maxBytes?: number;
  /** Cap on the number of keys in the set; a larger set is refused whole. Default 100. */
  maxKeys?: number;
  /** The fetch to use (proxies, tests). Default: the global fetch. */
  fetch?: FetchJsonOptions['fetch'];
  /** Allow plain http to hosts other than loopback. Default false. */
  allowInsecureHttp?: boolean;
  /**
   * A kid not in the key set, on a token issued since the set was fetched, while the cooldown
   * forbids asking again: 'retry-later' answers 503 key_pending, 'reject' 401 unknown_kid. Either
   * way the set is fetched again when the window ends. Default 'retry-later': the key may be new,
   * and a 401 tells the client to drop a good token, whose replacement is signed with the same key.
   */
  unknownKidInCooldown?: UnknownKidInCooldown;
}

export type UnknownKidInCooldown = 'retry-later' | 'reject';

export const JWKS_DEFAULTS = {
  cacheMaxAge: 10 * 60_000,
  cooldown: 30_000,
  timeout: 5_000,
  maxStale: 24 * 60 * 60_000,
  maxBytes: 512 * 1024,
  maxKeys: 100,
  unknownKidInCooldown: 'retry-later',
} as const;

/** When to fetch, resolved from JwksOptions (options.ts). */
export interface RefreshPolicy {
  readonly cacheMaxAge: number;
  readonly cooldown: number;
  readonly maxStale: number;
  readonly maxKeys: number;
  readonly unknownKidInCooldown: UnknownKidInCooldown;
  /**
   * Seconds of clock skew allowed (the claims' clockTolerance): a token whose iat is that much
   * before our last fetch may still have been issued after it, by a clock behind ours.
   */
  readonly clockTolerance: number;
}

// Before any key set has been fetched, a source that is down is retried at most this often, so a
// restart of the authorization server is noticed quickly without each request hammering it.
const COLD_RETRY_MS = 1_000;
// The background refresh starts once this share of cacheMaxAge has passed.
const REFRESH_AHEAD = 0.8;

export interface RemoteJwksHooks {
  emit: EventListener;
  /** Milliseconds since the epoch. */
  clock: () => number;
  /** Called after a successful fetch with the kids that disappeared. */
  onRemoved?: (kids: readonly string[]) => void;
}

export class RemoteJwks {
  private keys = LocalJwks.empty;
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private lastFailed = false;
  private lastFailure: { failure: KeySourceFailure; message: string } | undefined;
  private inflight: Promise<void> | undefined;
  private jwksUri: string | undefined;
  /** Kids withdrawn by the last fetch that withdrew any: no key to come. */
  private retired: ReadonlySet<string> = new Set();
  /** The fetch scheduled for the end of the cooldown, at most one (see unknownInCooldown). */
  private scheduled: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly resolveUri: () => Promise<string>,
    private readonly algorithms: ReadonlySet<string>,
    private readonly policy: RefreshPolicy,
    private readonly fetchOptions: FetchJsonOptions,
    private readonly hooks: RemoteJwksHooks,
  ) {}

  /**
   * The key to verify a token with `kid` and `alg` (and `iat`, not yet verified): at once when
   * the set holds it (the common case, no promise on the way), else after the fetch this may
   * take. Throws (or rejects with) a TokenwardError when there is none.
   */
  key(kid: string | undefined, alg: string, iat?: unknown): KeyEntry | Promise<KeyEntry> {
    const now = this.hooks.clock();
    if (this.usable(now)) {
      this.refreshAhead(now);
      const selected = this.keys.select(kid, alg);
      if (typeof selected !== 'string') return selected;
      // Only an unknown kid is worth asking the source again, and only when the cooldown allows.
      if (selected !== 'unknown') throw this.noKey(selected, kid);
      if (!this.mayFetch(now)) throw this.unknownInCooldown(kid, iat, now);
    }
    return this.fetchThenSelect(kid, alg, iat);
  }

  /** The entry currently published under `kid`, without any I/O (verified-token cache checks). */
  current(kid: string | undefined): KeyEntry | undefined {
    const now = this.hooks.clock();
    if (!this.usable(now)) return undefined;
    // Traffic served from the verified-token cache must still notice a key removed upstream.
    this.refreshAhead(now);
    return this.keys.current(kid);
  }

  /**
   * Resolves once a usable key set is held, fetching it if need be; rejects with a
   * TokenwardSetupError that says why not (for `verifier.ready()`, at startup).
   */
  async ready(issuer: string): Promise<void> {
    if (!this.usable(this.hooks.clock())) await this.refresh();
    if (!this.usable(this.hooks.clock())) {
      const { failure, message } = this.lastFailure ?? { failure: 'network', message: 'no answer' };
      throw new TokenwardSetupError(failure, `tokenward: no keys for issuer ${issuer}: ${message}`, issuer);
    }
    if (this.keys.size === 0) throw new TokenwardSetupError('jwks_empty', `tokenward: ${this.jwksUri as string} publishes no key that can verify tokens (see the key_ignored events)`, issuer);
  }

  /** Fetches the set now unless a fetch is under way (then joins it). Never rejects. */
  refresh(): Promise<void> {
    if (this.inflight !== undefined) return this.inflight;
    // This fetch is the one the window allows: a scheduled one would be a second.
    this.cancelScheduled();
    this.attemptedAt = this.hooks.clock();
    this.inflight = this.fetchAndApply().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Cancels the scheduled fetch (verifier.close()); the key set stays usable. */
  close(): void {
    this.cancelScheduled();
  }

  private async fetchThenSelect(kid: string | undefined, alg: string, iat: unknown): Promise<KeyEntry> {
    const now = this.hooks.clock();
    // A fetch already under way began before this token came, so the set it brings may lack a key
    // published since: once it is done the cooldown forbids another, as in key().
    let joined = false;
    if (!this.usable(now)) {
      if (this.mayFetch(now)) {
        joined = this.inflight !== undefined;
        await this.refresh();
      }
      if (!this.usable(this.hooks.clock())) throw new TokenwardError('jwks_unavailable');
    }
    let selected = this.keys.select(kid, alg);
    if (selected === 'unknown' && this.mayFetch(this.hooks.clock())) {
      joined = this.inflight !== undefined;
      await this.refresh();
      selected = this.keys.select(kid, alg);
    }
    if (selected === 'unknown' && joined) throw this.unknownInCooldown(kid, iat, this.hooks.clock());
    if (typeof selected === 'string') throw this.noKey(selected, kid);
    return selected;
  }

  private noKey(reason: NoKey, kid: string | undefined): TokenwardError {
    const detail = this.detail(kid);
    // An unknown kid while we cannot ask the source may be a legitimately new key: not the client's fault.
    if (reason === 'unknown') return new TokenwardError(this.lastFailed ? 'jwks_unavailable' : 'unknown_kid', { detail });
    return new TokenwardError(reason === 'ambiguous' ? 'kid_ambiguous' : 'key_mismatch', { detail });
  }

  /**
   * An unknown kid while the cooldown forbids a fetch. A token issued since our last fetch may be
   * signed by a key published since: the set is fetched again when the window ends, and the client
   * is told when to retry. A token issued before it was checked against a set fetched after it
   * was signed, which lacked its kid, and one without iat has nothing to say it is newer: a 401.
   * The iat is not verified yet, so a forged one buys nothing but the one fetch per window that
   * anyone can cause.
   */
  private unknownInCooldown(kid: string | undefined, iat: unknown, now: number): TokenwardError {
    if (!this.mayBeNew(kid, iat)) return this.noKey('unknown', kid);
    const due = this.scheduleFetch(now);
    if (this.lastFailed || this.policy.unknownKidInCooldown === 'reject') return this.noKey('unknown', kid);
    return new TokenwardError('key_pending', { retryAfter: Math.max(1, Math.ceil((due - now) / 1000)), detail: this.detail(kid) });
  }

  private mayBeNew(kid: string | undefined, iat: unknown): boolean {
    // In whole seconds, as issuers write iat: a token signed in the second of our fetch, after it,
    // has an iat up to a second before the fetch's milliseconds.
    if (typeof iat !== 'number' || !(iat >= Math.floor(this.fetchedAt / 1000) - this.policy.clockTolerance)) return false;
    // A kid the set names (a key left out: use enc, a weak key) or has just withdrawn is no key to come.
    return kid === undefined || !(this.keys.names(kid) || this.retired.has(kid));
  }

  /** Schedules one fetch for when the cooldown ends, unless one is already; returns when that is. */
  private scheduleFetch(now: number): number {
    const due = this.attemptedAt + this.policy.cooldown;
    if (this.scheduled === undefined) {
      this.scheduled = setTimeout(() => {
        this.scheduled = undefined;
        void this.refresh();
      }, due - now);
      // A fetch nobody waits for must not keep the process alive.
      this.scheduled.unref();
    }
    return due;
  }

  private cancelScheduled(): void {
    clearTimeout(this.scheduled);
    this.scheduled = undefined;
  }

  private detail(kid: string | undefined): RejectionDetail {
    return { kid, expected: this.keys.kids, ...(this.jwksUri === undefined ? {} : { hint: `keys from ${this.jwksUri}` }) };
  }

  /** Starts a background refresh once most of cacheMaxAge has passed; never waits for it. */
  private refreshAhead(now: number): void {
    if (now - this.fetchedAt > this.policy.cacheMaxAge * REFRESH_AHEAD && this.mayFetch(now)) void this.refresh();
  }

  private usable(now: number): boolean {
    return now - this.fetchedAt <= this.policy.cacheMaxAge + this.policy.maxStale;
  }

  private mayFetch(now: number): boolean {
    if (this.inflight !== undefined) return true;
    const gap = this.fetchedAt === Number.NEGATIVE_INFINITY ? Math.min(COLD_RETRY_MS, this.policy.cooldown) : this.policy.cooldown;
    return now - this.attemptedAt >= gap;
  }

  private async fetchAndApply(): Promise<void> {
    try {
      this.jwksUri ??= await this.resolveUri();
      const body = await fetchJson(this.jwksUri, this.fetchOptions);
      this.apply(LocalJwks.from(this.jwksUri, body, this.keys, { algorithms: this.algorithms, maxKeys: this.policy.maxKeys, emit: this.hooks.emit }));
      this.lastFailed = false;
    } catch (cause) {
      this.lastFailed = true;
      this.lastFailure = {
        failure: cause instanceof SourceError ? (cause.failure as KeySourceFailure) : 'network',
        message: cause instanceof Error ? cause.message : String(cause),
      };
      this.hooks.emit({ type: 'keys_refresh_failed', jwksUri: this.jwksUri, ...this.lastFailure, staleKeysServing: this.usable(this.hooks.clock()) });
    }
  }

  private apply(next: LocalJwks): void {
    const { removed, added } = this.keys.changesTo(next);
    this.keys = next;
    this.fetchedAt = this.hooks.clock();
    if (removed.length > 0) this.retired = new Set(removed);
    if (removed.length > 0) this.hooks.onRemoved?.(removed);
    this.hooks.emit({ type: 'keys_refreshed', jwksUri: this.jwksUri as string, kids: next.kids, added, removed });
  }
}

/**
 * The key of `keys` for a JWT's header, for jose's key function (the issuer's other signed
 * documents: event tokens, signed introspection answers); an unknown kid is fetched within the
 * cooldown, as for an access token.
 */
export async function headerKey(keys: RemoteJwks, kid: string | undefined, alg: string): Promise<KeyObject> {
  const found = keys.key(kid, alg);
  const entry = found instanceof Promise ? await found : found;
  return entry.imported(alg) ?? (await entry.import(alg));
}
