/**
 * RFC 7515 §7.1 compact serialization, checked strictly before anything is parsed: three
 * non-empty segments of the base64url alphabet (RFC 4648 §5) without padding or whitespace, each
 * canonically encoded, and the whole under a size cap. Then the protected header is decoded and
 * its parameters vetted.
 */
import { TokenwardError } from '../errors.js';
import { isKid } from '../kid.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const SEGMENT = /^[A-Za-z0-9_-]+$/;

export interface CompactParts {
  header: string;
  payload: string;
  signature: string;
}

export function splitCompact(token: unknown, maxTokenBytes: number): CompactParts {
  if (typeof token !== 'string') throw new TokenwardError('token_malformed');
  if (token.length > maxTokenBytes) throw new TokenwardError('token_too_large');
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  const third = second === -1 ? -1 : token.indexOf('.', second + 1);
  if (first === -1 || second === -1) throw new TokenwardError('token_malformed');
  if (third !== -1) {
    // Five segments is JWE (RFC 7516 §7.1); we accept signed tokens only.
    const dots = token.split('.').length - 1;
    throw new TokenwardError(dots === 4 ? 'token_encrypted' : 'token_malformed');
  }
  const parts = {
    header: token.slice(0, first),
    payload: token.slice(first + 1, second),
    signature: token.slice(second + 1),
  };
  if (!isCanonicalBase64url(parts.header) || !isCanonicalBase64url(parts.payload) || !isCanonicalBase64url(parts.signature)) {
    throw new TokenwardError('token_malformed');
  }
  return parts;
}

/**
 * Non-empty, strict alphabet, no padding, and no stray bits in the last character: a segment
 * has exactly one accepted spelling, so a token cannot be altered without changing its bytes.
 */
function isCanonicalBase64url(segment: string): boolean {
  const rest = segment.length % 4;
  if (segment.length === 0 || rest === 1 || !SEGMENT.test(segment)) return false;
  if (rest === 0) return true;
  const last = ALPHABET.indexOf(segment[segment.length - 1] as string);
  // 2 leftover chars carry 1 byte (4 spare bits), 3 carry 2 bytes (2 spare bits).
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

/** Decodes a base64url segment into a JSON object; arrays, primitives and bad JSON are refused. */
export function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export interface ProtectedHeader {
  readonly alg: string;
  readonly kid?: string;
  readonly typ?: string;
  readonly [parameter: string]: unknown;
}

export interface HeaderPolicy {
  algorithms: ReadonlySet<string>;
  requireTyp: boolean;
}

// RFC 7515 §4.1.2-4.1.6: parameters that point at a key. Keys come only from the configured JWKS.
const KEY_REFERENCES = ['jku', 'jwk', 'x5u', 'x5c'] as const;
// RFC 9068 §2.1; matched case-insensitively (RFC 7515 §4.1.9).
const AT_JWT = /^(application\/)?at\+jwt$/i;
// Types of the issuer's other JWTs, never access tokens whatever requireTyp says: Back-Channel
// Logout tokens (§2.4), security event tokens (RFC 8417 §2.3), DPoP proofs (RFC 9449 §4.2).
const OTHER_JWT = /^(application\/)?(logout|secevent|dpop)\+jwt$/i;

export function parseHeader(segment: string, policy: HeaderPolicy): ProtectedHeader {
  const header = decodeJsonObject(segment);
  if (header === undefined) throw new TokenwardError('header_invalid');
  if (Object.hasOwn(header, 'enc')) throw new TokenwardError('token_encrypted');
  const { alg, kid, typ } = header;
  if (typeof alg !== 'string' || !policy.algorithms.has(alg)) throw new TokenwardError('alg_not_allowed');
  for (const name of KEY_REFERENCES) {
    if (Object.hasOwn(header, name)) throw new TokenwardError('key_reference_header');
  }
  // RFC 7515 §4.1.11: we understand no extension, so any `crit` makes the token unusable.
  if (Object.hasOwn(header, 'crit')) throw new TokenwardError('crit_unsupported');
  if (kid !== undefined && !isKid(kid)) throw new TokenwardError('kid_invalid');
  if (typ !== undefined && typeof typ !== 'string') throw new TokenwardError('header_invalid');
  if (policy.requireTyp && (typ === undefined || !AT_JWT.test(typ))) throw new TokenwardError('typ_invalid');
  if (typ !== undefined && OTHER_JWT.test(typ)) throw new TokenwardError('typ_invalid');
  return header as ProtectedHeader;
}
