/**
 * RFC 7518 §3.1, §3.3-3.5 and RFC 8037 §3.1: the asymmetric JWS algorithms tokenward verifies,
 * with the key each one needs and how node:crypto checks it. The one table every rule about an
 * `alg` reads: the allowlist, the key/algorithm fit, the signature check.
 */
import { constants } from 'node:crypto';

export interface Algorithm {
  /** The JWK key type the algorithm needs. */
  readonly kty: 'RSA' | 'EC' | 'OKP';
  /** The curve, for EC and OKP keys. */
  readonly crv?: string;
  /** Digest for node:crypto; null for EdDSA, which hashes internally. */
  readonly hash: string | null;
  /** RSASSA-PSS: padding and salt length (RFC 7518 §3.5: the salt is as long as the hash). */
  readonly padding?: number;
  readonly saltLength?: number;
  /** ECDSA and EdDSA: the signature's fixed size in bytes (ECDSA: R || S, RFC 7518 §3.4, never DER). */
  readonly signatureBytes?: number;
}

const rsa = (bits: number): Algorithm => ({ kty: 'RSA', hash: `sha${bits}` });
const pss = (bits: number): Algorithm => ({ kty: 'RSA', hash: `sha${bits}`, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bits / 8 });
const ecdsa = (bits: number, crv: string, signatureBytes: number): Algorithm => ({ kty: 'EC', crv, hash: `sha${bits}`, signatureBytes });
// Ed25519 signatures are 64 bytes (RFC 8032 §5.1.6).
const ed25519: Algorithm = { kty: 'OKP', crv: 'Ed25519', hash: null, signatureBytes: 64 };

const ALGORITHMS: Readonly<Record<string, Algorithm>> = {
  RS256: rsa(256),
  RS384: rsa(384),
  RS512: rsa(512),
  PS256: pss(256),
  PS384: pss(384),
  PS512: pss(512),
  ES256: ecdsa(256, 'P-256', 64),
  ES384: ecdsa(384, 'P-384', 96),
  ES512: ecdsa(512, 'P-521', 132),
  EdDSA: ed25519,
  // RFC 9864's fully specified name for EdDSA with Ed25519.
  Ed25519: ed25519,
};

/** Accepted by default: every algorithm above but the alias `Ed25519`, which must be asked for. */
export const DEFAULT_ALGORITHMS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** The algorithm named `alg`, or undefined when it is not one we verify (none, HS*, unknown). */
export function algorithm(alg: string): Algorithm | undefined {
  return Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg] : undefined;
}

/** The curves of `kty` keys that some algorithm above verifies with. */
export function curvesOf(kty: 'EC' | 'OKP'): ReadonlySet<string> {
  return new Set(Object.values(ALGORITHMS).flatMap((spec) => (spec.kty === kty && spec.crv !== undefined ? [spec.crv] : [])));
}
