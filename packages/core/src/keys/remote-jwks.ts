/**
 * One issuer's remote JWKS (RFC 7517 §5), cached and refreshed so that requests almost never
 * wait on the network:
 * - fresh for `cacheMaxAge`; past most of that, the next request starts a refresh in the
 *   background and is served from the cache;
 * - one fetch at a time (single-flight), and after the first key set no fetch starts within
 *   `cooldown` of the previous one, whatever asks for it: an unknown `kid`, a thousand random
 *   `kid`s, or a refresh. A rotated key is therefore picked up within one cooldown;
 * - on failure the last good set keeps serving for `maxStale` past its freshness (stale-if-error);
 * - a kid gone from a successfully fetched set stops verifying at once.
 */
import { KeyObject } from 'node:crypto';
import { importJWK, type CryptoKey } from 'jose';
import { TokenwardError } from '../errors.js';
import type { EventListener, KeySourceFailure } from '../events.js';
import { FetchError, fetchJson, type FetchJsonOptions } from '../fetch-json.js';
import { keyFitsAlgorithm, vetJwk, type VettedJwk } from './jwk.js';

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
}

export const JWKS_DEFAULTS = {
  cacheMaxAge: 10 * 60_000,
  cooldown: 30_000,
  timeout: 5_000,
  maxStale: 24 * 60 * 60_000,
  maxBytes: 512 * 1024,
  maxKeys: 100,
} as const;

// Before any key set has been fetched, a source that is down is retried at most this often, so a
// restart of the authorization server is noticed quickly without each request hammering it.
const COLD_RETRY_MS = 1_000;
// The background refresh starts once this share of cacheMaxAge has passed.
const REFRESH_AHEAD = 0.8;
const ACCEPT = 'application/jwk-set+json, application/json';

/** A verification key from the set, with its imported form per algorithm. */
export class KeyEntry {
  private readonly ready = new Map<string, KeyObject>();
  private readonly pending = new Map<string, Promise<KeyObject>>();
  constructor(readonly vetted: VettedJwk) {}

  get kid(): string | undefined {
    return this.vetted.kid;
  }

  /** The key already imported for `alg`, without waiting (the common case after the first token). */
  imported(alg: string): KeyObject | undefined {
    return this.ready.get(alg);
  }

  /** jose checks the JWK against the algorithm and imports it once; node:crypto then uses it. */
  import(alg: string): Promise<KeyObject> {
    let key = this.pending.get(alg);
    if (key === undefined) {
      key = (importJWK(this.vetted.jwk, alg) as Promise<CryptoKey>).then((cryptoKey) => {
        const keyObject = KeyObject.from(cryptoKey);
        this.ready.set(alg, keyObject);
        return keyObject;
      });
      this.pending.set(alg, key);
    }
    return key;
  }
}

/** How the key source is read: the same limits apply to the JWKS and to issuer metadata. */
export function fetchJsonOptions(options: JwksOptions, accept: string): FetchJsonOptions {
  return {
    timeout: options.timeout ?? JWKS_DEFAULTS.timeout,
    maxBytes: options.maxBytes ?? JWKS_DEFAULTS.maxBytes,
    // Looked up at call time so a test or an APM agent that wraps the global fetch is honoured.
    fetch: options.fetch ?? ((input, init) => fetch(input, init)),
    accept,
    allowInsecureHttp: options.allowInsecureHttp ?? false,
  };
}

// Several keys published under one kid: none of them may verify under it (an impostor could sit
// beside the real key, and first-match or last-match would pick one of them by accident).
const AMBIGUOUS = Symbol('ambiguous kid');

export interface RemoteJwksHooks {
  emit: EventListener;
  /** Milliseconds since the epoch. */
  clock: () => number;
  /** Called after a successful fetch with the kids that disappeared. */
  onRemoved?: (kids: readonly string[]) => void;
}

export class RemoteJwks {
  private readonly options: Required<Omit<JwksOptions, 'fetch' | 'allowInsecureHttp'>> & { fetchJson: FetchJsonOptions };
  private byKid = new Map<string, KeyEntry | typeof AMBIGUOUS>();
  private all: KeyEntry[] = [];
  private fetchedAt = Number.NEGATIVE_INFINITY;
  private attemptedAt = Number.NEGATIVE_INFINITY;
  private lastFailed = false;
  private inflight: Promise<void> | undefined;
  private jwksUri: string | undefined;

  constructor(
    private readonly resolveUri: () => Promise<string>,
    private readonly algorithms: ReadonlySet<string>,
    options: JwksOptions,
    private readonly hooks: RemoteJwksHooks,
  ) {
    const cooldown = Math.min(options.cooldown ?? JWKS_DEFAULTS.cooldown, JWKS_DEFAULTS.cooldown);
    this.options = {
      cacheMaxAge: options.cacheMaxAge ?? JWKS_DEFAULTS.cacheMaxAge,
      cooldown,
      timeout: options.timeout ?? JWKS_DEFAULTS.timeout,
      maxStale: options.maxStale ?? JWKS_DEFAULTS.maxStale,
      maxBytes: options.maxBytes ?? JWKS_DEFAULTS.maxBytes,
      maxKeys: options.maxKeys ?? JWKS_DEFAULTS.maxKeys,
      fetchJson: fetchJsonOptions(options, ACCEPT),
    };
  }

  /** The entry currently published under `kid`, without any I/O (verified-token cache checks). */
  current(kid: string | undefined): KeyEntry | undefined {
    const now = this.hooks.clock();
    if (!this.usable(now)) return undefined;
    // Traffic served from the verified-token cache must still notice a key removed upstream.
    this.refreshAhead(now);
    if (kid === undefined) return this.all.length === 1 ? this.all[0] : undefined;
    const entry = this.byKid.get(kid);
    return entry === AMBIGUOUS ? undefined : entry;
  }

  /**
   * The key for `kid` and `alg` when it can be had without I/O or waiting; undefined sends the
   * caller to getKey, which handles every other case (cold, stale, unknown, ambiguous, mismatch).
   */
  peek(kid: string | undefined, alg: string): KeyEntry | undefined {
    if (kid === undefined) return undefined;
    const now = this.hooks.clock();
    if (!this.usable(now)) return undefined;
    const entry = this.byKid.get(kid);
    if (entry === undefined || entry === AMBIGUOUS || !keyFitsAlgorithm(entry.vetted, alg)) return undefined;
    this.refreshAhead(now);
    return entry;
  }

  /** The key to verify a token with `kid` and `alg`; throws a TokenwardError when there is none. */
  async getKey(kid: string | undefined, alg: string): Promise<KeyEntry> {
    const now = this.hooks.clock();
    if (!this.usable(now)) {
      if (this.mayFetch(now)) await this.refresh();
      if (!this.usable(this.hooks.clock())) throw new TokenwardError('jwks_unavailable');
    } else {
      this.refreshAhead(now);
    }
    let found = this.lookup(kid, alg);
    if (found === undefined && this.mayFetch(this.hooks.clock())) {
      await this.refresh();
      found = this.lookup(kid, alg);
    }
    if (found === undefined) {
      // We could not ask the source: the kid may be a legitimately new key, so not the client's fault.
      throw new TokenwardError(this.lastFailed ? 'jwks_unavailable' : 'unknown_kid');
    }
    if (found === AMBIGUOUS) throw new TokenwardError('kid_ambiguous');
    if (!keyFitsAlgorithm(found.vetted, alg)) throw new TokenwardError('key_mismatch');
    return found;
  }

  /** Fetches the set now unless a fetch is under way (then joins it). Never rejects. */
  refresh(): Promise<void> {
    if (this.inflight !== undefined) return this.inflight;
    this.attemptedAt = this.hooks.clock();
    this.inflight = this.fetchAndApply().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Starts a background refresh once most of cacheMaxAge has passed; never waits for it. */
  private refreshAhead(now: number): void {
    if (now - this.fetchedAt > this.options.cacheMaxAge * REFRESH_AHEAD && this.mayFetch(now)) void this.refresh();
  }

  private lookup(kid: string | undefined, alg: string): KeyEntry | typeof AMBIGUOUS | undefined {
    if (kid !== undefined) return this.byKid.get(kid);
    // No kid: only unambiguous when exactly one published key fits the algorithm.
    const fitting = this.all.filter((entry) => keyFitsAlgorithm(entry.vetted, alg));
    if (fitting.length > 1) return AMBIGUOUS;
    return fitting[0];
  }

  private usable(now: number): boolean {
    return now - this.fetchedAt <= this.options.cacheMaxAge + this.options.maxStale;
  }

  private mayFetch(now: number): boolean {
    if (this.inflight !== undefined) return true;
    const gap = this.fetchedAt === Number.NEGATIVE_INFINITY ? Math.min(COLD_RETRY_MS, this.options.cooldown) : this.options.cooldown;
    return now - this.attemptedAt >= gap;
  }

  private async fetchAndApply(): Promise<void> {
    try {
      this.jwksUri ??= await this.resolveUri();
      const body = await fetchJson(this.jwksUri, this.options.fetchJson);
      this.apply(this.jwksUri, body);
      this.lastFailed = false;
    } catch (cause) {
      this.lastFailed = true;
      const failure: KeySourceFailure = cause instanceof FetchError ? cause.failure : cause instanceof JwksError ? cause.failure : 'network';
      this.hooks.emit({
        type: 'keys_refresh_failed',
        jwksUri: this.jwksUri,
        failure,
        message: cause instanceof Error ? cause.message : String(cause),
        staleKeysServing: this.usable(this.hooks.clock()),
      });
    }
  }

  private apply(jwksUri: string, body: unknown): void {
    const keys = typeof body === 'object' && body !== null ? (body as { keys?: unknown }).keys : undefined;
    if (!Array.isArray(keys)) throw new JwksError('jwks_invalid', `${jwksUri} is not a JWK Set`);
    if (keys.length > this.options.maxKeys) {
      throw new JwksError('too_many_keys', `${jwksUri} has ${keys.length} keys, over the cap of ${this.options.maxKeys}`);
    }
    const previous = new Map<string, KeyEntry>();
    for (const entry of this.all) previous.set(entry.vetted.fingerprint, entry);

    const all: KeyEntry[] = [];
    const byKid = new Map<string, KeyEntry | typeof AMBIGUOUS>();
    for (const candidate of keys) {
      const vetted = vetJwk(candidate, this.algorithms);
      if (typeof vetted === 'string') {
        const kid = (candidate as { kid?: unknown } | null)?.kid;
        this.hooks.emit({ type: 'key_ignored', jwksUri, kid: typeof kid === 'string' ? kid : undefined, reason: vetted });
        continue;
      }
      const entry = previous.get(vetted.fingerprint) ?? new KeyEntry(vetted);
      all.push(entry);
      if (vetted.kid === undefined) continue;
      if (byKid.has(vetted.kid)) {
        byKid.set(vetted.kid, AMBIGUOUS);
        this.hooks.emit({ type: 'key_ignored', jwksUri, kid: vetted.kid, reason: 'kid_duplicate' });
      } else {
        byKid.set(vetted.kid, entry);
      }
    }

    const removed = [...this.byKid.keys()].filter((kid) => byKid.get(kid) !== this.byKid.get(kid));
    const added = [...byKid.keys()].filter((kid) => !this.byKid.has(kid));
    this.byKid = byKid;
    this.all = all.filter((entry) => entry.kid === undefined || byKid.get(entry.kid) === entry);
    this.fetchedAt = this.hooks.clock();
    if (removed.length > 0) this.hooks.onRemoved?.(removed);
    this.hooks.emit({ type: 'keys_refreshed', jwksUri, kids: [...byKid.keys()], added, removed });
  }
}

class JwksError extends Error {
  constructor(readonly failure: KeySourceFailure, message: string) {
    super(message);
  }
}
