/**
 * Token minting for tests, done by hand with node:crypto so that tests can also build tokens no
 * honest library would: odd headers, wrong algorithms, broken encodings.
 */
import { createHmac, sign as cryptoSign, constants, type KeyObject } from 'node:crypto';
import type { TestKey } from './keys';

export const b64url = (value: string | Buffer): string => Buffer.from(value).toString('base64url');
export const json = (value: unknown): string => b64url(JSON.stringify(value));

export function now(): number {
  return Math.floor(Date.now() / 1000);
}

/** Signs `header.payload` as `alg` with `key` (a KeyObject, or HMAC secret bytes for HS*). */
export function signInput(alg: string, key: KeyObject | Buffer, input: string): string {
  const data = Buffer.from(input);
  const hash = `sha${alg.slice(2)}`;
  if (alg.startsWith('HS')) return b64url(createHmac(hash, key as Buffer).update(data).digest());
  if (alg.startsWith('RS')) return b64url(cryptoSign(hash, data, key as KeyObject));
  if (alg.startsWith('PS')) {
    return b64url(cryptoSign(hash, data, { key: key as KeyObject, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 }));
  }
  if (alg.startsWith('ES')) return b64url(cryptoSign(hash, data, { key: key as KeyObject, dsaEncoding: 'ieee-p1363' }));
  if (alg === 'EdDSA') return b64url(cryptoSign(null, data, key as KeyObject));
  throw new Error(`cannot sign ${alg}`);
}

export interface MintOptions {
  header?: Record<string, unknown>;
  /** Replaces the default claims entirely when `replaceClaims` is set. */
  claims?: Record<string, unknown>;
  replaceClaims?: boolean;
}

export interface Issuance {
  issuer: string;
  audience: string;
}

/** Default claims: valid for 5 minutes, for `audience`, from `issuer`. */
export function defaultClaims(issuance: Issuance): Record<string, unknown> {
  const iat = now();
  return { iss: issuance.issuer, aud: issuance.audience, sub: 'user-42', iat, exp: iat + 300, jti: `jti-${Math.random().toString(36).slice(2)}`, scope: 'read:messages' };
}

export function mint(key: TestKey, issuance: Issuance, options: MintOptions = {}): string {
  const header = { alg: key.alg, typ: 'at+jwt', kid: key.kid, ...options.header };
  const claims = options.replaceClaims ? options.claims ?? {} : { ...defaultClaims(issuance), ...options.claims };
  const input = `${json(header)}.${json(claims)}`;
  return `${input}.${signInput(header.alg as string, key.privateKey, input)}`;
}
