/**
 * DPoP proofs for tests (RFC 9449 §4), minted with jose as a real client would: a key pair per
 * client, its public JWK in the proof header, `htm`, `htu`, `iat`, `jti`, and `ath` when an
 * access token goes with the proof. `proofWith` lets a test break exactly one thing.
 */
import { createHash, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface DpopClient {
  alg: string;
  privateKey: CryptoKey;
  /** The public JWK, as it goes in a proof header. */
  jwk: JWK;
  /** RFC 7638 thumbprint of `jwk`: the `cnf.jkt` of tokens bound to this client. */
  jkt: string;
}

export async function dpopClient(alg = 'ES256'): Promise<DpopClient> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const jwk = await exportJWK(publicKey);
  return { alg, privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') };
}

/** base64url(SHA-256(token)): the proof's `ath` for `token`. */
export function ath(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export interface ProofOptions {
  method: string;
  /** The request URL; query and fragment are left in (the verifier must ignore them). */
  url: string;
  /** The access token sent with the proof (its hash becomes `ath`). */
  accessToken?: string;
  nonce?: string;
  /** Seconds since the epoch; default now. */
  iat?: number;
  jti?: string;
  /** Claims replacing or removing (undefined) the ones above. */
  claims?: Record<string, unknown>;
  /** Header parameters replacing or removing (undefined) the defaults (typ, alg, jwk). */
  header?: Record<string, unknown>;
}

/** A DPoP proof signed by `client`. */
export async function proof(client: DpopClient, options: ProofOptions): Promise<string> {
  const claims: Record<string, unknown> = {
    jti: options.jti ?? randomUUID(),
    htm: options.method,
    htu: options.url,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
    ...(options.accessToken === undefined ? {} : { ath: ath(options.accessToken) }),
    ...(options.nonce === undefined ? {} : { nonce: options.nonce }),
    ...options.claims,
  };
  const header: Record<string, unknown> = { typ: 'dpop+jwt', alg: client.alg, jwk: client.jwk, ...options.header };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  for (const [name, value] of Object.entries(header)) if (value === undefined) delete header[name];
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(client.privateKey);
}
