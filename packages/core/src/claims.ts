/**
 * RFC 7519 §4.1 registered claims, checked after the signature: exp required and numeric, nbf and
 * iat honoured with the clock tolerance, lifetime capped, iss exact, aud containing ours.
 * Claims are only read, never merged into other objects (no prototype pollution).
 */
import { TokenwardError } from './errors.js';

/** Seconds of clock skew a verifier may allow at most: more would stretch every token's life. */
export const MAX_CLOCK_TOLERANCE = 300;
/** Seconds: the longest token lifetime accepted unless configured (and a revocation list's default). */
export const DEFAULT_MAX_TOKEN_LIFETIME = 24 * 60 * 60;

export interface ClaimsPolicy {
  issuers: ReadonlySet<string>;
  audiences: ReadonlySet<string>;
  /** Seconds. */
  clockTolerance: number;
  /** Seconds: the longest exp - iat (and exp - now) we accept. */
  maxTokenLifetime: number;
}

export interface JwtClaims {
  readonly iss?: string;
  readonly sub?: string;
  readonly aud?: string | readonly string[];
  readonly exp: number;
  readonly nbf?: number;
  readonly iat?: number;
  readonly jti?: string;
  readonly client_id?: string;
  readonly scope?: string;
  readonly [claim: string]: unknown;
}

const STRING_CLAIMS = ['iss', 'sub', 'jti', 'client_id', 'azp'] as const;

export function checkClaims(claims: Record<string, unknown>, policy: ClaimsPolicy, now: number): JwtClaims {
  const { exp, nbf, iat } = claims;
  if (exp === undefined) throw new TokenwardError('exp_missing');
  if (!isNumericDate(exp) || (nbf !== undefined && !isNumericDate(nbf)) || (iat !== undefined && !isNumericDate(iat))) {
    throw new TokenwardError('claim_invalid');
  }
  for (const name of STRING_CLAIMS) {
    if (claims[name] !== undefined && typeof claims[name] !== 'string') throw new TokenwardError('claim_invalid');
  }
  const tolerance = policy.clockTolerance;
  if (exp <= now - tolerance) throw new TokenwardError('token_expired');
  if (nbf !== undefined && nbf > now + tolerance) throw new TokenwardError('token_not_yet_valid');
  if (iat !== undefined && iat > now + tolerance) throw new TokenwardError('iat_in_future');
  // Short-lived means short-lived: a token minted for a year is refused even if signed.
  if ((iat !== undefined && exp - iat > policy.maxTokenLifetime) || exp - now > policy.maxTokenLifetime + tolerance) {
    throw new TokenwardError('lifetime_exceeded');
  }
  if (typeof claims.iss !== 'string' || !policy.issuers.has(claims.iss)) throw new TokenwardError('issuer_mismatch');
  if (!hasAudience(claims.aud, policy.audiences)) throw new TokenwardError('audience_mismatch');
  return claims as JwtClaims;
}

/** The OAuth client the token was issued to: RFC 9068 §2.2 `client_id`, else OIDC's `azp`. */
export function clientIdOf(claims: JwtClaims): string | undefined {
  return claims.client_id ?? (typeof claims.azp === 'string' ? claims.azp : undefined);
}

// RFC 7519 §2 NumericDate: a JSON number of seconds (fractions allowed), not a string.
function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

// RFC 7519 §4.1.3: aud is a string or an array of strings; one must be ours.
function hasAudience(aud: unknown, audiences: ReadonlySet<string>): boolean {
  if (typeof aud === 'string') return audiences.has(aud);
  return Array.isArray(aud) && aud.some((value) => typeof value === 'string' && audiences.has(value));
}
