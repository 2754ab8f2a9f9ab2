/** What a successful verification yields. Frozen: a cached token is shared by many requests. */
import { bindingOf, type Binding } from './binding.js';
import { clientIdOf, type JwtClaims } from './claims.js';
import type { ProtectedHeader } from './jws/compact.js';

export interface AccessToken {
  /** The token as received: a compact JWT, or an opaque string. */
  readonly token: string;
  /** How it was verified: its signature, here, or by the issuer's server (RFC 7662 introspection). */
  readonly verifiedBy: 'signature' | 'introspection';
  /** The JWS header; undefined for an introspected token (none was read). */
  readonly header: ProtectedHeader | undefined;
  readonly claims: JwtClaims;
  /** `sub`, when the token has one (client-credentials tokens may not). */
  readonly subject: string | undefined;
  readonly issuer: string;
  /** RFC 9068 `client_id` (or `azp`). */
  readonly clientId: string | undefined;
  readonly scopes: ReadonlySet<string>;
  /** `exp`, seconds since the epoch. */
  readonly expiresAt: number;
  /**
   * How the token is bound to its sender (`cnf`): `jkt` for DPoP, `x5tS256` for mutual TLS, each
   * proven for the request that carried it; undefined for a bearer token.
   */
  readonly binding: Binding | undefined;
}

/** The AccessToken of verified claims; `header` undefined for an introspected token. */
export function accessToken(token: string, header: ProtectedHeader | undefined, claims: JwtClaims, scopes: Set<string>): AccessToken {
  return Object.freeze({
    token,
    verifiedBy: header === undefined ? 'introspection' : 'signature',
    header: header === undefined ? undefined : Object.freeze(header),
    claims: Object.freeze(claims),
    subject: claims.sub,
    issuer: claims.iss as string,
    clientId: clientIdOf(claims),
    scopes: frozenSet(scopes),
    expiresAt: claims.exp,
    binding: bindingOf(claims),
  });
}

// A Set whose mutators throw once built, so one request cannot change what the next one sees.
// A subclass rather than patched methods: it keeps the Set's fast shape.
class ReadonlyScopes extends Set<string> {
  #sealed = false;
  constructor(scopes: Iterable<string>) {
    // Set's constructor would call the overridden add before #sealed exists: fill it afterwards.
    super();
    for (const scope of scopes) super.add(scope);
    this.#sealed = true;
  }
  override add(scope: string): this {
    if (this.#sealed) throw new TypeError('token scopes are read-only');
    return super.add(scope);
  }
  override delete(): boolean {
    throw new TypeError('token scopes are read-only');
  }
  override clear(): void {
    throw new TypeError('token scopes are read-only');
  }
}

function frozenSet(scopes: Set<string>): ReadonlySet<string> {
  return Object.freeze(new ReadonlyScopes(scopes));
}
