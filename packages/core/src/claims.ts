/**
 * RFC 7519 §4.1 registered claims, checked after the signature: exp required and numeric, nbf and
 * iat honoured with the clock tolerance, lifetime capped, iss exact (issuers.ts), aud containing
 * ours, or, for providers whose access tokens carry none (Amazon Cognito), `client_id` when the
 * verifier says so. Claims are only read, never merged into other objects (no prototype
 * pollution). A mismatch tells the developer what was expected and found, through the
 * `token_rejected` event, never the client.
 */
import { TokenwardError } from './errors.js';

/** Seconds of clock skew a verifier may allow at most: more would stretch every token's life. */
export const MAX_CLOCK_TOLERANCE = 300;
/** Seconds: the longest token lifetime accepted unless configured (and a revocation list's default). */
export const DEFAULT_MAX_TOKEN_LIFETIME = 24 * 60 * 60;

export interface ClaimsPolicy {
  /** Whether `iss` is one we accept for a token with these claims (issuers.ts). */
  acceptsIssuer(iss: string, claims: Readonly<Record<string, unknown>>): boolean;
  /** The configured issuers, for the report of a mismatch. */
  issuers: readonly string[];
  audiences: ReadonlySet<string>;
  /** A token without `aud` is matched by its `client_id` (Cognito access tokens). */
  clientIdAsAudience: boolean;
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
  if (typeof claims.iss !== 'string' || !policy.acceptsIssuer(claims.iss, claims)) throw issuerMismatch(claims.iss, policy.issuers);
  const audience = claims.aud === undefined && policy.clientIdAsAudience ? claims.client_id : claims.aud;
  if (!hasAudience(audience, policy.audiences)) {
    throw new TokenwardError('audience_mismatch', { detail: { claim: claims.aud === undefined && policy.clientIdAsAudience ? 'client_id' : 'aud', actual: audience, expected: [...policy.audiences] } });
  }
  return claims as JwtClaims;
}

/** `issuer_mismatch`, with what was found and expected, and a hint for the common slips. */
export function issuerMismatch(iss: unknown, issuers: readonly string[]): TokenwardError {
  const near = typeof iss === 'string' ? issuers.find((issuer) => issuer.replace(/\/$/, '') === iss.replace(/\/$/, '')) : undefined;
  const hint = near === undefined ? undefined : `the token's iss and the configured issuer "${near}" differ only in a trailing slash; configure the issuer exactly as the provider writes it`;
  return new TokenwardError('issuer_mismatch', { detail: { claim: 'iss', actual: iss, expected: issuers, ...(hint === undefined ? {} : { hint }) } });
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
