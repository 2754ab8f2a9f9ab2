/**
 * The introspection source of the verifier: for a token it does not verify itself, the RFC 7662
 * answer of the issuer's server, turned into claims that the verifier then judges like a JWT's.
 * - Cached by the SHA-256 of the token: an active answer until its `exp` or `maxAge`, whichever
 *   comes first (RFC 7662 §4: never past `exp`); an inactive one, or an active one refused by our
 *   rules (another audience), briefly. Two LRUs, so that a flood of made-up tokens, each inactive,
 *   cannot push the active tokens of real users out.
 * - Single flight: any number of concurrent requests with one new token make one call.
 * - Rate-limited (rate-limit.ts): a token not cached beyond the cap is answered 503, not sent.
 * - Outage: a failed call (down, hanging, a wrong or oversized answer) is 503 with Retry-After,
 *   never a 401 that would log a user out, never a 500; nothing about it is cached.
 */
import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { isTokenwardError, TokenwardError, TokenwardSetupError, type Reason } from '../errors.js';
import type { EventListener } from '../events.js';
import { SourceError } from '../fetch-json.js';
import type { Instruments } from '../metrics.js';
import type { AccessToken } from '../token.js';
import { introspectedClaims } from './answer.js';
import { type IntrospectionEndpoint, type IntrospectionAnswer, type IntrospectionFailure } from './endpoint.js';
import type { IntrospectionSettings } from './options.js';
import { CallRateLimit } from './rate-limit.js';

// Seconds a client waits after an introspection outage: long enough for a restart to be noticed.
const OUTAGE_RETRY_AFTER = 5;

interface Active {
  readonly token: AccessToken;
  /** Milliseconds since the epoch. */
  readonly until: number;
}

interface Refused {
  readonly reason: Reason;
  readonly until: number;
}

export interface IntrospectorParts {
  readonly endpoint: IntrospectionEndpoint;
  /** The verifier's judgement of the claims of an active answer: the AccessToken, or a throw. */
  readonly accept: (token: string, claims: Record<string, unknown>) => AccessToken;
  readonly emit: EventListener;
  readonly instruments: Instruments;
  /** Milliseconds since the epoch. */
  readonly clock: () => number;
}

export class Introspector {
  /** Every token goes here, a compact JWS included. */
  readonly everyToken: boolean;
  private readonly active: LRUCache<string, Active> | undefined;
  private readonly refused: LRUCache<string, Refused> | undefined;
  private readonly pending = new Map<string, Promise<AccessToken>>();
  private readonly rateLimit: CallRateLimit;

  constructor(
    private readonly settings: IntrospectionSettings,
    private readonly parts: IntrospectorParts,
  ) {
    this.everyToken = settings.everyToken;
    const { cache } = settings;
    this.active = cache === undefined ? undefined : new LRUCache({ max: cache.max });
    this.refused = cache === undefined ? undefined : new LRUCache({ max: cache.inactiveMax });
    this.rateLimit = new CallRateLimit(settings.rateLimit.calls, settings.rateLimit.window);
  }

  /**
   * The verdict on `token`: without a promise when it is known (an AccessToken, or a throw for a
   * token refused a moment ago, or over the rate limit), else a promise of the answer.
   */
  token(token: string): AccessToken | Promise<AccessToken> {
    const key = createHash('sha256').update(token).digest('base64url');
    const now = this.parts.clock();
    const active = this.active?.get(key);
    if (active !== undefined) {
      if (active.until > now) return active.token;
      this.active?.delete(key);
    }
    const refused = this.refused?.get(key);
    if (refused !== undefined) {
      if (refused.until > now) throw new TokenwardError(refused.reason);
      this.refused?.delete(key);
    }
    const pending = this.pending.get(key);
    if (pending !== undefined) return pending;
    const wait = this.rateLimit.take(now);
    if (wait !== undefined) throw new TokenwardError('introspection_throttled', { retryAfter: Math.max(1, Math.ceil(wait / 1000)) });
    const call = this.introspect(token, key).finally(() => this.pending.delete(key));
    this.pending.set(key, call);
    return call;
  }

  /**
   * For `verifier.ready()`: the endpoint found and answering our client, with a token that cannot
   * exist (its answer, inactive, says the credentials and the answer's form are right).
   */
  async ready(): Promise<void> {
    let answer: IntrospectionAnswer;
    try {
      answer = await this.parts.endpoint.introspect(`tokenward-ready-${randomBytes(16).toString('base64url')}`);
    } catch (cause) {
      const failure = cause instanceof SourceError ? (cause.failure as string) : 'network';
      const credentials = cause instanceof SourceError && /HTTP 40[013]/.test(cause.message) ? ' (are introspection.clientId and clientSecret right?)' : '';
      throw new TokenwardSetupError(failure, `tokenward: token introspection for ${this.settings.issuer} does not work: ${(cause as Error).message}${credentials}`, this.settings.issuer);
    }
    if (answer.active) throw new TokenwardSetupError('answer_invalid', `tokenward: the introspection endpoint of ${this.settings.issuer} calls a made-up token active`, this.settings.issuer);
  }

  clear(): void {
    this.active?.clear();
    this.refused?.clear();
  }

  private async introspect(token: string, key: string): Promise<AccessToken> {
    let answer: IntrospectionAnswer;
    try {
      answer = await this.parts.endpoint.introspect(token);
    } catch (cause) {
      const failure: IntrospectionFailure = cause instanceof SourceError ? (cause.failure as IntrospectionFailure) : 'network';
      const message = cause instanceof Error ? cause.message : String(cause);
      this.parts.instruments.introspected('failed');
      this.parts.emit({ type: 'introspection_failed', endpoint: this.parts.endpoint.knownUrl ?? this.settings.issuer, failure, message });
      throw new TokenwardError('introspection_unavailable', { retryAfter: OUTAGE_RETRY_AFTER, cause });
    }
    this.parts.instruments.introspected(answer.active ? 'active' : 'inactive');
    const now = this.parts.clock();
    const cache = this.settings.cache;
    try {
      if (!answer.active) throw new TokenwardError('token_inactive');
      const accepted = this.parts.accept(token, introspectedClaims(answer, this.settings.issuer, this.settings.requireTokenType));
      // RFC 7662 §4: never past the token's expiry.
      if (cache !== undefined) this.active?.set(key, { token: accepted, until: Math.min(accepted.expiresAt * 1000, now + cache.maxAge * 1000) });
      return accepted;
    } catch (error) {
      // A refusal by the answer or by our rules is remembered briefly; it says nothing about an outage.
      if (cache !== undefined && isTokenwardError(error) && error.status === 401) this.refused?.set(key, { reason: error.reason, until: now + cache.inactiveMaxAge * 1000 });
      throw error;
    }
  }
}
