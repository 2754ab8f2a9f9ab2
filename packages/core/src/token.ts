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

/**
 * The AccessToken of verified claims, made by `producer` (a verifier); `header` undefined for an
 * introspected token.
 */
export function accessToken(producer: object, token: string, header: ProtectedHeader | undefined, claims: JwtClaims, scopes: Set<string>): AccessToken {
  return new VerifiedToken(producer, token, header, claims, scopes);
}

/** Whether `token` was made by `producer`: an object that merely looks like one (another library's `req.auth`, a copy) was not. */
export function producedBy(token: unknown, producer: object): token is AccessToken {
  return VerifiedToken.producedBy(token, producer);
}

// A class with a private field rather than a WeakSet of the tokens made: the brand costs nothing
// per token, where adding each distinct token to a WeakSet cost about 1 µs and kept the young
// generation busy with ephemerons (docs/performance.md). A spread copy has no private field.
class VerifiedToken implements AccessToken {
  readonly #producer: object;
  readonly token: string;
  readonly verifiedBy: 'signature' | 'introspection';
  readonly header: ProtectedHeader | undefined;
  readonly claims: JwtClaims;
  readonly subject: string | undefined;
  readonly issuer: string;
  readonly clientId: string | undefined;
  readonly scopes: ReadonlySet<string>;
  readonly expiresAt: number;
  readonly binding: Binding | undefined;

  constructor(producer: object, token: string, header: ProtectedHeader | undefined, claims: JwtClaims, scopes: Set<string>) {
    this.#producer = producer;
    this.token = token;
    this.verifiedBy = header === undefined ? 'introspection' : 'signature';
    this.header = header === undefined ? undefined : Object.freeze(header);
    this.claims = Object.freeze(claims);
    this.subject = claims.sub;
    this.issuer = claims.iss as string;
    this.clientId = clientIdOf(claims);
    this.scopes = frozenSet(scopes);
    this.expiresAt = claims.exp;
    this.binding = bindingOf(claims);
    Object.freeze(this);
  }

  static producedBy(token: unknown, producer: object): boolean {
    return typeof token === 'object' && token !== null && #producer in token && token.#producer === producer;
  }
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
