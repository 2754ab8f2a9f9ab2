/**
 * Signed events from an issuer: OpenID Connect Back-Channel Logout tokens (§2.6) and RFC 8417
 * Security Event Tokens (SSF 1.0 §4). Both are JWTs signed with the issuer's keys and carrying an
 * `events` claim; both are checked here the same way, before what they say is acted on:
 * - the token is size-capped by the receiver before anything is parsed;
 * - `iss` is one the receiver accepts, chosen before any key is fetched (an unknown issuer causes
 *   no network traffic);
 * - the key comes from that issuer's key set, held by core's key cache (keys/remote-jwks.ts),
 *   by kid, with an asymmetric algorithm from the allowlist; jose checks the signature and the
 *   registered claims (`aud` containing ours, `iat` at most `maxAge` old and not in the future,
 *   `exp` if present, with the clock tolerance);
 * - `jti` is required and seen once per issuer (replay), remembered as long as the token could
 *   still be accepted.
 * Receivers (backchannel-logout.ts, security-events.ts) say which `typ` they need (a required
 * one is checked here, by jose, before the jti is remembered), check the events themselves, and
 * say how a failure is answered.
 */
import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { isTokenwardError } from '../errors.js';
import { headerKey, type RemoteJwks } from '../keys/remote-jwks.js';

/** Why an event token was refused: RFC 8935 §2.4 error codes, which Back-Channel Logout folds into invalid_request. */
export type EventTokenFailure = 'invalid_request' | 'invalid_key' | 'invalid_issuer' | 'invalid_audience';

export class EventTokenError extends Error {
  constructor(
    readonly failure: EventTokenFailure,
    /** A fixed text, safe to send to the transmitter (never from the token). */
    readonly description: string,
    /** The issuer's keys could not be had: not the token's fault (answered 503, retried later). */
    readonly keysUnavailable = false,
  ) {
    super(description);
    this.name = 'EventTokenError';
  }
}

export interface EventTokenPolicy {
  /** The key set of an accepted issuer; undefined: the issuer is not one we accept. */
  keysFor(iss: string, claims: JWTPayload): RemoteJwks | undefined;
  audiences: readonly string[];
  algorithms: readonly string[];
  /** Seconds. */
  clockTolerance: number;
  /** Seconds: the oldest `iat` accepted. */
  maxAge: number;
  /** Milliseconds since the epoch. */
  clock: () => number;
  /** A `typ` header the token must have (jose compares it without case and `application/`). Default: none checked here. */
  typ?: string;
}

// Replay memory per receiver: enough for a burst of logouts, bounded whatever a transmitter sends.
const MAX_SEEN = 10_000;

export class EventTokens {
  /** `iss` NUL `jti` -> milliseconds until which the token could still be accepted. */
  private readonly seen = new LRUCache<string, number>({ max: MAX_SEEN });

  constructor(private readonly policy: EventTokenPolicy) {}

  /**
   * The verified payload and header of `token`; throws an EventTokenError. `fresh` is false when
   * this jti of this issuer was accepted before (a resent event).
   */
  async verify(token: string): Promise<{ payload: JWTPayload; typ: string | undefined; fresh: boolean }> {
    let unverified: JWTPayload;
    try {
      decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw new EventTokenError('invalid_request', 'The event token is not a signed JWT');
    }
    const { iss } = unverified;
    const keys = typeof iss === 'string' ? this.policy.keysFor(iss, unverified) : undefined;
    if (keys === undefined || typeof iss !== 'string') throw new EventTokenError('invalid_issuer', 'The event token issuer is not accepted');

    let verified: Awaited<ReturnType<typeof jwtVerify>>;
    try {
      verified = await jwtVerify(token, (header) => headerKey(keys, header.kid, header.alg), {
        issuer: iss,
        audience: [...this.policy.audiences],
        algorithms: [...this.policy.algorithms],
        clockTolerance: this.policy.clockTolerance,
        maxTokenAge: this.policy.maxAge,
        requiredClaims: ['iat', 'jti'],
        currentDate: new Date(this.policy.clock()),
        ...(this.policy.typ === undefined ? {} : { typ: this.policy.typ }),
      });
    } catch (error) {
      throw refusal(error);
    }
    const { payload, protectedHeader } = verified;
    if (typeof payload.jti !== 'string' || payload.jti === '') throw new EventTokenError('invalid_request', 'The event token has no jti');
    const fresh = this.remember(iss, payload);
    return { payload, typ: protectedHeader.typ, fresh };
  }

  private remember(iss: string, payload: JWTPayload): boolean {
    const key = `${iss}\u0000${payload.jti as string}`;
    const now = this.policy.clock();
    const until = this.seen.get(key);
    if (until !== undefined && until > now) return false;
    // Acceptable until iat + maxAge (or exp, if sooner), plus the tolerance either way.
    const lastAccepted = Math.min((payload.iat as number) + this.policy.maxAge, payload.exp ?? Number.POSITIVE_INFINITY);
    this.seen.set(key, (lastAccepted + this.policy.clockTolerance) * 1000);
    return true;
  }
}

function refusal(error: unknown): EventTokenError {
  if (error instanceof EventTokenError) return error;
  if (isTokenwardError(error)) {
    if (error.status === 503) return new EventTokenError('invalid_key', 'The issuer keys are temporarily unavailable', true);
    return new EventTokenError('invalid_key', 'No key of the issuer verifies the event token');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JOSEAlgNotAllowed) return new EventTokenError('invalid_key', 'The event token signature is not valid under the issuer keys');
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'typ') return new EventTokenError('invalid_request', 'The event token does not have the typ header its receiver requires');
  if (error instanceof errors.JWTClaimValidationFailed && error.claim === 'aud') return new EventTokenError('invalid_audience', 'The event token audience is not this receiver');
  if (error instanceof errors.JWTClaimValidationFailed || error instanceof errors.JWTExpired) return new EventTokenError('invalid_request', 'The event token is expired, too old, or lacks a required claim');
  return new EventTokenError('invalid_request', 'The event token is malformed');
}
