/** Signing keys for tests, generated once per process with node:crypto. */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The public JWK as a JWKS would publish it. */
  jwk: JWK;
}

export function makeKey(alg: string, kid: string, options: { modulusLength?: number } = {}): TestKey {
  let pair: { privateKey: KeyObject; publicKey: KeyObject };
  if (alg.startsWith('RS') || alg.startsWith('PS')) {
    pair = generateKeyPairSync('rsa', { modulusLength: options.modulusLength ?? 2048 });
  } else if (alg === 'ES256' || alg === 'ES384' || alg === 'ES512') {
    pair = generateKeyPairSync('ec', { namedCurve: { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' }[alg] as string });
  } else if (alg === 'EdDSA') {
    pair = generateKeyPairSync('ed25519');
  } else {
    throw new Error(`no test key for ${alg}`);
  }
  const jwk = { ...(pair.publicKey.export({ format: 'jwk' }) as JWK), kid, alg, use: 'sig' };
  return { kid, alg, ...pair, jwk };
}
