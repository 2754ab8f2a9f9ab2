/**
 * RFC 9449 §4.3: the checks on the DPoP proof that comes with a DPoP-bound access token, in the
 * RFC's terms:
 *  1. exactly one `DPoP` header, 2. a compact JWS under a size cap, 4. `typ` dpop+jwt,
 *  5. an asymmetric `alg` from the allowlist, 6-7. a public `jwk` in the header that fits the alg
 *  and verifies the signature, 8. `htm` is the request method, 9. `htu` the request URI (htu.ts),
 *  10. the server's nonce when nonces are on (nonce.ts), 11. `iat` within the window,
 *  12. `ath` the hash of the access token, and the key's RFC 7638 thumbprint the token's
 *  `cnf.jkt`; then §11.1, the `jti` not seen before (replay.ts).
 * The cheap comparisons come before the signature, the replay record last, so that a proof
 * refused for any reason uses up nothing. No part of a proof is ever put in a response.
 */
import { createHash, KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, importJWK, type CryptoKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { isTokenwardError, TokenwardError } from '../errors.js';
import { decodeJsonObject, splitCompact, type CompactParts } from '../jws/compact.js';
import { verifyJws } from '../jws/verify.js';
import { keyFitsAlgorithm, vetJwk, type VettedJwk } from '../keys/jwk.js';
import type { SignatureWork } from '../signature-work.js';
import { normalizeHtu } from './htu.js';
import type { DpopNonces } from './nonce.js';
import type { DpopReplayStore } from './replay.js';

/** How the verifier checks proofs, resolved from the `dpop` option (options.ts). */
export interface ProofPolicy {
  readonly algorithms: ReadonlySet<string>;
  /** Seconds a proof's `iat` may lie in the past. */
  readonly maxAge: number;
  /** Seconds a proof's `iat` may lie in the future (clock skew). */
  readonly leeway: number;
  readonly maxProofBytes: number;
  readonly nonces: DpopNonces | undefined;
  readonly replay: DpopReplayStore;
  /** Milliseconds an asynchronous replay store has to answer. */
  readonly replayTimeout: number;
  readonly signatureWork: SignatureWork;
  readonly clock: () => number;
}

/** What a proof must match: this request and this token. */
export interface ProofExpectation {
  readonly method: string | undefined;
  /** The request's htu in normal form (htu.ts); undefined when it could not be told. */
  readonly htu: string | undefined;
  readonly accessToken: string;
  /** The token's `cnf.jkt`. */
  readonly jkt: string;
}

/** A proof header's key, imported, with its thumbprint. */
interface ProofKey {
  readonly alg: string;
  readonly key: KeyObject;
  readonly jkt: string;
}

// RFC 7515 §4.1.9, matched case-insensitively like at+jwt.
const DPOP_JWT = /^(application\/)?dpop\+jwt$/i;
const MAX_JTI_LENGTH = 256;
// A client keeps one key for many proofs, so its header segment repeats: remember a few hundred.
const MAX_KEYS = 256;
const MAX_HEADER_SEGMENT = 2048;

export class ProofVerifier {
  private readonly keys = new LRUCache<string, ProofKey | Promise<ProofKey>>({ max: MAX_KEYS });

  constructor(private readonly policy: ProofPolicy) {}

  /** Checks the request's proof (every value of its `DPoP` header); throws or rejects with a TokenwardError. */
  verify(proofs: string | readonly string[] | undefined, expected: ProofExpectation): void | Promise<void> {
    const proof = single(proofs);
    let parts: CompactParts;
    try {
      // The size cap comes first, before any parsing.
      parts = splitCompact(proof, this.policy.maxProofBytes);
    } catch {
      throw new TokenwardError('dpop_proof_malformed');
    }
    const key = this.keyOf(parts.header);
    if (!(key instanceof Promise)) return this.check(proof, parts, key, expected);
    return key.then((imported) => this.check(proof, parts, imported, expected));
  }

  /** Forgets the remembered proof keys. */
  clear(): void {
    this.keys.clear();
  }

  private check(proof: string, parts: CompactParts, key: ProofKey, expected: ProofExpectation): void | Promise<void> {
    const claims = decodeJsonObject(parts.payload);
    if (claims === undefined) throw new TokenwardError('dpop_proof_malformed');
    const { jti, htm, htu, iat, ath } = claims;
    if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH || typeof htm !== 'string' || typeof htu !== 'string') {
      throw new TokenwardError('dpop_proof_malformed');
    }
    if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new TokenwardError('dpop_iat_invalid');
    if (htm !== expected.method) throw new TokenwardError('dpop_htm_mismatch');
    if (expected.htu === undefined || normalizeHtu(htu) !== expected.htu) throw new TokenwardError('dpop_htu_mismatch');
    const now = this.policy.clock() / 1000;
    if (iat < now - this.policy.maxAge || iat > now + this.policy.leeway) throw new TokenwardError('dpop_iat_invalid');
    if (ath !== accessTokenHash(expected.accessToken)) throw new TokenwardError('dpop_ath_mismatch');
    // RFC 9449 §7.1 figure 16: a proof by another key than the token's is the token's fault.
    if (key.jkt !== expected.jkt) throw new TokenwardError('dpop_key_mismatch');

    const signed = verifyJws(proof, parts, key.alg, key.key, this.policy.signatureWork, 'dpop_signature_invalid');
    if (signed === undefined) return this.fresh(claims, key.jkt, jti, iat);
    return signed.then(() => this.fresh(claims, key.jkt, jti, iat));
  }

  /** §9 nonce and §11.1 replay, for a proof that passed everything else. */
  private fresh(claims: Record<string, unknown>, jkt: string, jti: string, iat: number): void | Promise<void> {
    const { nonces, replay, maxAge } = this.policy;
    if (nonces !== undefined && !nonces.accepts(claims.nonce)) throw new TokenwardError('dpop_nonce_required', { dpopNonce: nonces.current() });
    // Remembered until no verifier accepts the proof any more (its iat is then too old).
    const expiresAt = (iat + maxAge) * 1000 + 1000;
    let first: boolean | PromiseLike<boolean>;
    try {
      first = replay.use(replayId(jkt, jti), expiresAt);
    } catch (cause) {
      throw new TokenwardError('dpop_replay_unavailable', { cause });
    }
    if (first === true) return undefined;
    if (first === false) throw new TokenwardError('dpop_replayed');
    // Anything else is the store's answer to come (any thenable), awaited with a deadline: a store
    // that does not answer must not hold requests open, nor let a proof through.
    return withDeadline(Promise.resolve(first), this.policy.replayTimeout).then(
      (recorded) => {
        if (recorded !== true) throw new TokenwardError('dpop_replayed');
      },
      (cause: unknown) => {
        throw new TokenwardError('dpop_replay_unavailable', { cause });
      },
    );
  }

  /** The key of a proof header, vetted and imported once per distinct header (a client's proofs share one). */
  private keyOf(segment: string): ProofKey | Promise<ProofKey> {
    const known = this.keys.get(segment);
    if (known !== undefined) return known;
    const { alg, jwk } = parseProofHeader(segment, this.policy.algorithms);
    const pending = importProofKey(alg, jwk).then(
      (key) => {
        if (this.keys.get(segment) === pending) this.keys.set(segment, key);
        return key;
      },
      (error: unknown) => {
        if (this.keys.get(segment) === pending) this.keys.delete(segment);
        throw error;
      },
    );
    if (segment.length <= MAX_HEADER_SEGMENT) this.keys.set(segment, pending);
    return pending;
  }
}

/** The one proof of the request: RFC 9449 §4.3 check 1 (Node joins repeated headers with ", "). */
function single(proofs: string | readonly string[] | undefined): string {
  const values = typeof proofs === 'string' ? [proofs] : (proofs ?? []);
  if (values.length === 0 || values[0] === '') throw new TokenwardError('dpop_proof_missing');
  if (values.length > 1 || (values[0] as string).includes(',')) throw new TokenwardError('dpop_proof_multiple');
  return (values[0] as string).trim();
}

function parseProofHeader(segment: string, algorithms: ReadonlySet<string>): { alg: string; jwk: VettedJwk } {
  const header = decodeJsonObject(segment);
  if (header === undefined) throw new TokenwardError('dpop_proof_malformed');
  const { typ, alg, jwk } = header;
  if (typeof typ !== 'string' || !DPOP_JWT.test(typ)) throw new TokenwardError('dpop_typ_invalid');
  if (typeof alg !== 'string' || !algorithms.has(alg)) throw new TokenwardError('dpop_alg_not_allowed');
  // RFC 7515 §4.1.11: we understand no extension.
  if (Object.hasOwn(header, 'crit')) throw new TokenwardError('dpop_proof_malformed');
  // vetJwk refuses private members, symmetric keys, weak RSA and unknown curves.
  const vetted = vetJwk(jwk, algorithms);
  if (typeof vetted === 'string' || !keyFitsAlgorithm(vetted, alg)) throw new TokenwardError('dpop_jwk_invalid');
  return { alg, jwk: vetted };
}

/** jose imports and checks the key (an EC point on its curve, say) and computes its RFC 7638 thumbprint. */
async function importProofKey(alg: string, vetted: VettedJwk): Promise<ProofKey> {
  try {
    const [cryptoKey, jkt] = await Promise.all([importJWK(vetted.jwk, alg) as Promise<CryptoKey>, calculateJwkThumbprint(vetted.jwk, 'sha256')]);
    return Object.freeze({ alg, key: KeyObject.from(cryptoKey), jkt });
  } catch (cause) {
    if (isTokenwardError(cause)) throw cause;
    throw new TokenwardError('dpop_jwk_invalid', { cause });
  }
}

function withDeadline<T>(pending: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the DPoP replay store did not answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([pending, deadline]).finally(() => clearTimeout(timer));
}

/** RFC 9449 §4.2 `ath`: base64url of the SHA-256 of the access token's ASCII. */
export function accessTokenHash(token: string): string {
  return createHash('sha256').update(token, 'latin1').digest('base64url');
}

// One fixed-size key per proof, whatever the length of its jti.
function replayId(jkt: string, jti: string): string {
  return createHash('sha256').update(jkt).update('\u0000').update(jti).digest('base64url');
}
