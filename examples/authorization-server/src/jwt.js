/**
 * Compact JWS (RFC 7515) with ES256, for the access tokens this server issues and, when a client
 * hands one back (RFC 7009 revocation, logout), for checking that it is really ours. node:crypto
 * does the signing; the format is three base64url segments, nothing more.
 */
import { createPublicKey, sign, verify } from 'node:crypto';

const ALG = 'ES256';
// ES256 signatures are r || s (RFC 7518 §3.4), not DER.
const DSA_ENCODING = 'ieee-p1363';

/**
 * @param {Record<string, unknown>} header
 * @param {Record<string, unknown>} payload
 * @param {import('node:crypto').KeyObject} privateKey
 */
export function signJwt(header, payload, privateKey) {
  const input = `${encode(header)}.${encode(payload)}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: DSA_ENCODING });
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * The header and payload of a token signed by one of our keys, or undefined. Claims are not
 * checked here; callers decide which ones matter to them.
 * @param {string} token
 * @param {(kid: string) => import('node:crypto').JsonWebKey | undefined} publicJwk
 * @returns {{ header: Record<string, unknown>, payload: Record<string, any> } | undefined}
 */
export function verifyJwt(token, publicJwk) {
  if (typeof token !== 'string' || token.length > 8192) return undefined;
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]+$/.test(part))) return undefined;
  const [headerPart, payloadPart, signaturePart] = /** @type {[string, string, string]} */ (parts);
  const header = decode(headerPart);
  const payload = decode(payloadPart);
  if (header === undefined || payload === undefined || header.alg !== ALG || typeof header.kid !== 'string') return undefined;
  const jwk = publicJwk(header.kid);
  if (jwk === undefined) return undefined;
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const ok = verify('sha256', Buffer.from(`${headerPart}.${payloadPart}`), { key, dsaEncoding: DSA_ENCODING }, Buffer.from(signaturePart, 'base64url'));
  return ok ? { header, payload } : undefined;
}

/** @param {unknown} value */
function encode(value) {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** @param {string} part */
function decode(part) {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
