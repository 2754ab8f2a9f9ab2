/**
 * Which JWKS members may ever verify a token (RFC 7517 §4, RFC 7518 §6). A key that fails any rule
 * is dropped from the set, with a reason the caller can report; it never reaches the crypto.
 */
import type { JWK } from 'jose';

export type JwkRejection =
  | 'not_an_object'
  | 'kty_unsupported'
  | 'private_key'
  | 'use_not_sig'
  | 'key_ops_without_verify'
  | 'kid_invalid'
  | 'alg_not_allowed'
  | 'members_invalid'
  | 'rsa_too_small'
  | 'rsa_too_large'
  | 'kid_duplicate';

/** A public verification key, reduced to the members that define it. */
export interface VettedJwk {
  readonly kid: string | undefined;
  readonly alg: string | undefined;
  readonly kty: 'RSA' | 'EC' | 'OKP';
  /** Public members only (kty, n, e / crv, x, y), ready for import. */
  readonly jwk: JWK;
  /** Canonical text of `jwk`: an unchanged key keeps its imported form across refreshes. */
  readonly fingerprint: string;
}

// RFC 7518 §6.2.2, §6.3.2, §6.4: members that only private or symmetric keys have.
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const EC_CURVES = new Set(['P-256', 'P-384', 'P-521']);
const OKP_CURVES = new Set(['Ed25519']);
const B64URL = /^[A-Za-z0-9_-]+$/;
// NIST SP 800-131A: below 2048 bits RSA is not acceptable for signatures. Above 16384 bits a
// key only serves to make each verify slow.
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 16384;
const MAX_KID_LENGTH = 256;

export function vetJwk(value: unknown, algorithms: ReadonlySet<string>): VettedJwk | JwkRejection {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not_an_object';
  const key = value as Record<string, unknown>;
  const { kty, use, key_ops: keyOps, kid, alg } = key;
  if (kty === 'oct') return 'kty_unsupported';
  if (PRIVATE_MEMBERS.some((member) => Object.hasOwn(key, member))) return 'private_key';
  if (kty !== 'RSA' && kty !== 'EC' && kty !== 'OKP') return 'kty_unsupported';
  if (use !== undefined && use !== 'sig') return 'use_not_sig';
  if (keyOps !== undefined && !(Array.isArray(keyOps) && keyOps.includes('verify'))) return 'key_ops_without_verify';
  if (kid !== undefined && (typeof kid !== 'string' || kid.length === 0 || kid.length > MAX_KID_LENGTH)) return 'kid_invalid';
  if (alg !== undefined && (typeof alg !== 'string' || !algorithms.has(alg))) return 'alg_not_allowed';

  let jwk: JWK;
  if (kty === 'RSA') {
    const { n, e } = key;
    if (!isB64url(n) || !isB64url(e)) return 'members_invalid';
    const bits = modulusBits(n);
    if (bits < MIN_RSA_BITS) return 'rsa_too_small';
    if (bits > MAX_RSA_BITS) return 'rsa_too_large';
    if (!isSaneExponent(e)) return 'members_invalid';
    jwk = { kty, n, e };
  } else if (kty === 'EC') {
    const { crv, x, y } = key;
    if (typeof crv !== 'string' || !EC_CURVES.has(crv) || !isB64url(x) || !isB64url(y)) return 'members_invalid';
    jwk = { kty, crv, x, y };
  } else {
    const { crv, x } = key;
    if (typeof crv !== 'string' || !OKP_CURVES.has(crv) || !isB64url(x)) return 'members_invalid';
    jwk = { kty, crv, x };
  }
  return {
    kid: kid as string | undefined,
    alg: alg as string | undefined,
    kty,
    jwk,
    fingerprint: JSON.stringify(jwk),
  };
}

/** RFC 7518 §3.1 / §3.3-3.5: the key type (and curve) each algorithm needs. */
export function keyFitsAlgorithm(key: VettedJwk, alg: string): boolean {
  if (key.alg !== undefined && key.alg !== alg) return false;
  switch (alg) {
    case 'RS256': case 'RS384': case 'RS512': case 'PS256': case 'PS384': case 'PS512':
      return key.kty === 'RSA';
    case 'ES256':
      return key.jwk.crv === 'P-256';
    case 'ES384':
      return key.jwk.crv === 'P-384';
    case 'ES512':
      return key.jwk.crv === 'P-521';
    case 'EdDSA': case 'Ed25519':
      return key.kty === 'OKP';
    default:
      return false;
  }
}

function isB64url(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length < 8192 && B64URL.test(value);
}

// An RSA public exponent must be odd and greater than 1 (e = 1 makes every "signature" valid);
// past 64 bits it is no key anyone generates, only a way to make verification slow.
function isSaneExponent(e: string): boolean {
  const bytes = Buffer.from(e, 'base64url');
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value >= 3n && value % 2n === 1n && value < 1n << 64n;
}

function modulusBits(n: string): number {
  const bytes = Buffer.from(n, 'base64url');
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return 0;
  return (bytes.length - i - 1) * 8 + (32 - Math.clz32(bytes[i] as number));
}
