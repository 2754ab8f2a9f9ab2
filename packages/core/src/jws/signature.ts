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
  const spec = ALGORITHMS[alg];
  if (spec === undefined) return false;
  if (spec.signatureBytes !== undefined && signature.length !== spec.signatureBytes) return false;
  try {
    if (spec.padding !== undefined) {
      return verify(spec.hash, signingInput, { key, padding: spec.padding, saltLength: spec.saltLength }, signature);
    }
    if (spec.signatureBytes !== undefined && spec.hash !== null) {
      return verify(spec.hash, signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature);
    }
    return verify(spec.hash, signingInput, key, signature);
  } catch {
    // A key that does not fit the algorithm (keyFitsAlgorithm should have stopped it already).
    return false;
  }
}
