/**
 * The JWS signature check (RFC 7515 §5.2 step 8; algorithms of RFC 7518 §3.3-3.5 and RFC 8037),
 * done with node:crypto's one-shot `verify` on a KeyObject. Not jose's `compactVerify`: jose 6
 * verifies through WebCrypto, whose promise and thread hop cost more than the RSA math itself
 * (docs/performance.md). jose still imports and checks the JWKs (keys/key-entry.ts); this file
 * only applies a key to bytes, and is covered by the Wycheproof vectors and the security tests.
 */
import { verify, type KeyObject } from 'node:crypto';
import { algorithm } from '../jwa.js';

/** True when `signature` is a valid `alg` signature of `signingInput` under `key`. Never throws. */
export function verifySignature(alg: string, key: KeyObject, signingInput: Buffer, signature: Buffer): boolean {
  const call = prepare(alg, key, signature);
  if (call === undefined) return false;
  try {
    return verify(call.hash, signingInput, call.key, signature);
  } catch {
    // A key that does not fit the algorithm (keyFitsAlgorithm should have stopped it already).
    return false;
  }
}

/**
 * The same check on libuv's thread pool (node:crypto's `verify` with a callback), leaving the
 * event loop free meanwhile; see jws/verify.ts for when that pays. Never rejects.
 */
export function verifySignatureInPool(alg: string, key: KeyObject, signingInput: Buffer, signature: Buffer): Promise<boolean> {
  const call = prepare(alg, key, signature);
  if (call === undefined) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      verify(call.hash, signingInput, call.key, signature, (error, valid) => resolve(error === null && valid));
    } catch {
      resolve(false);
    }
  });
}

type VerifyKey = KeyObject | { key: KeyObject; padding: number; saltLength?: number } | { key: KeyObject; dsaEncoding: 'ieee-p1363' };

/** node:crypto's digest and key argument for `alg`, or undefined when the signature cannot be one. */
function prepare(alg: string, key: KeyObject, signature: Buffer): { hash: string | null; key: VerifyKey } | undefined {
  const spec = algorithm(alg);
  if (spec === undefined) return undefined;
  if (spec.signatureBytes !== undefined && signature.length !== spec.signatureBytes) return undefined;
  if (spec.padding !== undefined) return { hash: spec.hash, key: { key, padding: spec.padding, saltLength: spec.saltLength } };
  if (spec.signatureBytes !== undefined && spec.hash !== null) return { hash: spec.hash, key: { key, dsaEncoding: 'ieee-p1363' } };
  return { hash: spec.hash, key };
}
