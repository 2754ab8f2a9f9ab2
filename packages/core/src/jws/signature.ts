/**
 * The JWS signature check (RFC 7515 §5.2 step 8, algorithms of RFC 7518 §3.3-3.5 and RFC 8037),
 * done with node:crypto's one-shot `verify` on a KeyObject.
 *
 * Why not jose's `compactVerify` here: jose 6 verifies through WebCrypto, whose promise and
 * thread-pool hop cost more than the RSA math itself. Measured on the 2-core machine this project
 * is developed on (RS256, 2048-bit, 20,000 distinct tokens, one after another): jose.jwtVerify
 * ~13,000/s, node:crypto verify of the same bytes ~48,000/s. jose still imports and checks the
 * JWKs (keys/remote-jwks.ts); this file only applies a key to bytes, and is covered by the
 * Wycheproof vectors and the security tests.
 */
import { constants, verify, type KeyObject } from 'node:crypto';

interface AlgorithmSpec {
  /** Digest for node:crypto; null for EdDSA, which hashes internally. */
  readonly hash: string | null;
  readonly padding?: number;
  readonly saltLength?: number;
  /** ECDSA: JWS signatures are the fixed-size R || S concatenation (RFC 7518 §3.4), never DER. */
  readonly signatureBytes?: number;
}

// RFC 7518 §3.5: the PSS salt is as long as the hash output.
const pss = (bits: number): AlgorithmSpec => ({ hash: `sha${bits}`, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 });

const ALGORITHMS: Readonly<Record<string, AlgorithmSpec>> = {
  RS256: { hash: 'sha256' },
  RS384: { hash: 'sha384' },
  RS512: { hash: 'sha512' },
  PS256: pss(256),
  PS384: pss(384),
  PS512: pss(512),
  ES256: { hash: 'sha256', signatureBytes: 64 },
  ES384: { hash: 'sha384', signatureBytes: 96 },
  ES512: { hash: 'sha512', signatureBytes: 132 },
  // RFC 8037 §3.1; Ed25519 signatures are 64 bytes (RFC 8032 §5.1.6).
  EdDSA: { hash: null, signatureBytes: 64 },
  Ed25519: { hash: null, signatureBytes: 64 },
};

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
  const spec = ALGORITHMS[alg];
  if (spec === undefined) return undefined;
  if (spec.signatureBytes !== undefined && signature.length !== spec.signatureBytes) return undefined;
  if (spec.padding !== undefined) return { hash: spec.hash, key: { key, padding: spec.padding, saltLength: spec.saltLength } };
  if (spec.signatureBytes !== undefined && spec.hash !== null) return { hash: spec.hash, key: { key, dsaEncoding: 'ieee-p1363' } };
  return { hash: spec.hash, key };
}
