/**
 * RFC 7800 §3.1 `cnf`: how a token is bound to its sender, and the rule that a binding is never
 * ignored. Two confirmation members are verified: `jkt`, the RFC 7638 thumbprint of a DPoP key
 * (RFC 9449 §6.1), and `x5t#S256`, the thumbprint of a client certificate (RFC 8705 §3.1).
 * - a token with either is accepted only with its proof: a DPoP proof by that key, a TLS client
 *   certificate with that thumbprint; a DPoP-bound token presented as Bearer is refused (RFC 9449
 *   §7.2), as is an unbound token presented with the DPoP scheme;
 * - a `cnf` with neither is refused, whatever else it holds (fail closed on what we do not
 *   understand); members beside one we verify are allowed, since some servers add them.
 */
import { TokenwardError, type Scheme } from './errors.js';
import { requestHtu } from './dpop/htu.js';
import type { ProofVerifier } from './dpop/proof.js';
import { checkCertificate, type MtlsOptions } from './mtls.js';
import type { TokenRequest } from './request.js';

/** The sender constraints of a token, each proven for the request that carried it. */
export interface Binding {
  /** RFC 9449: the thumbprint of the DPoP key the token is bound to. */
  readonly jkt?: string;
  /** RFC 8705: the SHA-256 thumbprint of the client certificate the token is bound to. */
  readonly x5tS256?: string;
}

// base64url of a SHA-256 digest: 43 characters.
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

/** The binding a token's claims declare; undefined for a bearer token. Throws for a `cnf` we cannot honour. */
export function bindingOf(claims: Readonly<Record<string, unknown>>): Binding | undefined {
  const { cnf } = claims;
  if (cnf === undefined) return undefined;
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) throw new TokenwardError('cnf_unsupported');
  const { jkt, 'x5t#S256': x5tS256 } = cnf as Record<string, unknown>;
  if ((jkt !== undefined && !isThumbprint(jkt)) || (x5tS256 !== undefined && !isThumbprint(x5tS256))) throw new TokenwardError('claim_invalid');
  if (jkt === undefined && x5tS256 === undefined) throw new TokenwardError('cnf_unsupported');
  return Object.freeze({ ...(jkt === undefined ? {} : { jkt }), ...(x5tS256 === undefined ? {} : { x5tS256 }) });
}

/** Proves a token's binding for one request. */
export class SenderConstraints {
  constructor(
    private readonly proofs: ProofVerifier | undefined,
    private readonly mtls: MtlsOptions,
    /** The verifier's `publicOrigin`, which wins over the request's own. */
    private readonly publicOrigin: string | undefined,
  ) {}

  /** Throws, or returns a promise that rejects, unless `token` arrived as its binding demands. */
  prove(token: { readonly token: string; readonly binding: Binding | undefined }, scheme: Scheme, request: TokenRequest): void | Promise<void> {
    const { binding } = token;
    if (scheme === 'Bearer') {
      if (binding?.jkt !== undefined) throw new TokenwardError('dpop_bound_as_bearer');
    } else if (binding?.jkt === undefined) {
      throw new TokenwardError('token_not_dpop_bound');
    }
    if (binding?.x5tS256 !== undefined) checkCertificate(binding.x5tS256, request, this.mtls);
    if (scheme === 'Bearer') return undefined;
    // The verifier accepts the DPoP scheme only when it has a proof verifier; fail closed regardless.
    if (this.proofs === undefined) throw new TokenwardError('dpop_proof_missing');
    const origin = this.publicOrigin ?? request.origin;
    const htu = origin === undefined || request.url === undefined ? undefined : requestHtu(origin, request.url);
    return this.proofs.verify(request.dpop, { method: request.method, htu, accessToken: token.token, jkt: binding?.jkt as string });
  }
}

function isThumbprint(value: unknown): value is string {
  return typeof value === 'string' && THUMBPRINT.test(value);
}
