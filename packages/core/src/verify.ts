/**
 * createVerifier: the one place where a request's access token is judged. The order of work is
 * the contract's, cheapest and most hostile first: the credentials (scheme, shape and size, no
 * parsing), the token (the header's policy, the issuer among ours before any network, the key by
 * kid from that issuer's JWKS, the signature, the claims; or, for a token that is not a compact
 * JWS, the issuer's RFC 7662 answer, introspection/, and the same claims), its binding to the sender (binding.ts:
 * DPoP proof, client certificate), revocation, then the route's conditions (route.ts).
 * Options are resolved in options.ts; this file only wires the parts together and runs them.
 */
import { SenderConstraints } from './binding.js';
import { checkClaims, issuerMismatch, type ClaimsPolicy, type JwtClaims } from './claims.js';
import { discoverJwksUri } from './discovery.js';
import { ProofVerifier } from './dpop/proof.js';
import { isTokenwardError, TokenwardError, type Challenges, type Scheme } from './errors.js';
import { assertB64token, credentialsOf, isB64token, type Credentials } from './extract.js';
import { IntrospectionEndpoint } from './introspection/endpoint.js';
import { Introspector } from './introspection/introspector.js';
import { decodeJsonObject, splitCompact, type CompactParts, type ProtectedHeader } from './jws/compact.js';
import { HeaderCache } from './jws/header-cache.js';
import { verifyJws } from './jws/verify.js';
import type { KeyEntry } from './keys/key-entry.js';
import { Issuers } from './issuers.js';
import { RemoteJwks } from './keys/remote-jwks.js';
import { resolveOptions, type Settings, type VerifierOptions } from './options.js';
import type { TokenRequest } from './request.js';
import type { RevocationList } from './revocation.js';
import type { ProtectedResourceMetadata } from './protected-resource.js';
import { admit, asPolicy, AUTHENTICATED, authorizeToken, type AuthenticateOptions, type Clock, type DpopMode, type RoutePolicy, type RouteRequirement } from './route.js';
import { checkScopes, collectScopes, type ScopeRequirement } from './scopes.js';
import { accessToken, producedBy, type AccessToken } from './token.js';
import { TokenCache } from './token-cache.js';

export interface Verifier {
  /** Verifies a compact JWT (or, with `introspection`, an opaque token) and checks the scopes; throws TokenwardError. */
  verify(token: string, required?: ScopeRequirement): Promise<AccessToken>;
  /** Extracts the bearer token of a request (RFC 6750 §2) and verifies it under the route's policy. */
  authenticate(request: TokenRequest, policy?: RoutePolicy | AuthenticateOptions): Promise<AccessToken | undefined>;
  /**
   * The same decision as `authenticate`, returned without a promise when it needs no I/O (a
   * cached token, missing or malformed credentials, a token that is not a compact JWS, a public
   * route): the token, undefined, a synchronous throw of TokenwardError, or else a promise. For
   * adapters, whose hot path it is; they pass a policy made once per route with `routePolicy`.
   *
   * `admitted` is for a later stage of the same request (a scope guard after the authentication
   * middleware, a second middleware or guard): the token the earlier stage admitted is checked
   * against `policy` without being verified again (a DPoP proof is accepted once, so it must not
   * be checked twice). It counts only if this verifier produced it. Without one, the request is
   * authenticated under `policy`, so a guard never lets an anonymous request through.
   */
  check(request: TokenRequest, policy?: RoutePolicy | AuthenticateOptions, admitted?: AccessToken | null): AccessToken | undefined | Promise<AccessToken | undefined>;
  /** Checks scopes of an already verified token; undefined (no credentials) is a 401. */
  authorize(token: AccessToken | undefined, required: RouteRequirement): AccessToken;
  /**
   * Resolves once every issuer's metadata and keys are loaded; rejects with a TokenwardSetupError
   * that says what is wrong (an unreachable issuer, a metadata document naming another issuer, a
   * key set with no usable key). Await it at startup to fail fast; the adapters can do it for you.
   */
  ready(): Promise<void>;
  /** The list this verifier consults, if any. */
  readonly revocation: RevocationList | undefined;
  readonly realm: string;
  /** RFC 9728: the resource's metadata, when the `protectedResource` option is set; the adapters serve it. */
  readonly resourceMetadata: ProtectedResourceMetadata | undefined;
  /** Forgets cached tokens and vetted headers, and cancels the key fetches scheduled for an unknown kid. Keys stay. */
  close(): void;
}

interface CachedToken {
  readonly token: AccessToken;
  /** The key set and key it was verified with: a hit counts only while that key is still published. */
  readonly keys: RemoteJwks;
  readonly key: KeyEntry;
}

export function createVerifier(options: VerifierOptions): Verifier {
  return new JwtVerifier(resolveOptions(options));
}

/**
 * What a receiver of the issuer's signed events (signals/) shares with the verifier: its issuers
 * and their key sets (one cache, one fetch), its algorithms, clock and listener. Kept off the
 * public Verifier interface.
 */
export interface VerifierInternals {
  readonly issuers: Issuers;
  readonly settings: Settings;
}
const internals = new WeakMap<Verifier, VerifierInternals>();

/** The internals of a verifier made by createVerifier; undefined for anything else. */
export function internalsOf(verifier: Verifier): VerifierInternals | undefined {
  return internals.get(verifier);
}

class JwtVerifier implements Verifier {
  readonly revocation: RevocationList | undefined;
  readonly realm: string;
  readonly resourceMetadata: ProtectedResourceMetadata | undefined;
  private readonly headers: HeaderCache;
  private readonly cache: TokenCache<CachedToken> | undefined;
  private readonly issuers: Issuers;
  private readonly claims: ClaimsPolicy;
  private readonly proofs: ProofVerifier | undefined;
  private readonly senders: SenderConstraints;
  /** RFC 7662, when configured: the source of the tokens that are not verified here. */
  private readonly introspector: Introspector | undefined;
  /** The time route conditions are judged at (step-up's max age). */
  private readonly clock = (): Clock => ({ now: this.settings.clock() / 1000, tolerance: this.settings.claims.clockTolerance });

  constructor(private readonly settings: Settings) {
    this.revocation = settings.revocation;
    this.realm = settings.realm;
    this.resourceMetadata = settings.protectedResource;
    this.headers = new HeaderCache(settings.header);
    this.cache = settings.tokenCacheMax === undefined ? undefined : new TokenCache(settings.tokenCacheMax);
    this.issuers = issuersOf(settings, (kids) => this.forgetTokensOf(kids));
    this.claims = { ...settings.claims, acceptsIssuer: (iss, claims) => this.issuers.accepts(iss, claims) };
    this.proofs = settings.dpop.proofs === undefined ? undefined : new ProofVerifier(settings.dpop.proofs);
    this.senders = new SenderConstraints(this.proofs, settings.mtls, settings.publicOrigin);
    this.introspector = introspectorOf(settings, this.issuers, (token, claims) => this.issue(token, undefined, checkClaims(claims, this.claims, this.settings.clock() / 1000)));
    internals.set(this, { issuers: this.issuers, settings });
  }

  verify(token: string, required: ScopeRequirement = {}): Promise<AccessToken> {
    const started = this.settings.instruments.start();
    try {
      // A cached token is answered with a settled promise: no async frames on the way.
      const found = this.lookup(token, false);
      if (found instanceof Promise) return this.verifyLater(found, required, started);
      return Promise.resolve(this.counted(this.verified(found, required), started));
    } catch (error) {
      return Promise.reject(this.rejected(error, this.settings.dpop.mode, undefined, started));
    }
  }

  async authenticate(request: TokenRequest, policy?: RoutePolicy | AuthenticateOptions): Promise<AccessToken | undefined> {
    return this.check(request, policy);
  }

  check(request: TokenRequest, policy: RoutePolicy | AuthenticateOptions = AUTHENTICATED, admitted?: AccessToken | null): AccessToken | undefined | Promise<AccessToken | undefined> {
    const route = asPolicy(policy);
    const mode = route.dpop ?? this.settings.dpop.mode;
    const started = this.settings.instruments.start();
    let credentials: Credentials | undefined;
    let pending: Promise<AccessToken>;
    try {
      // Only a token this verifier issued counts as admitted: `req.auth` may be another library's.
      if (admitted !== undefined && admitted !== null && producedBy(admitted, this)) return admit(admitted, route, this.clock);
      if (!route.authenticate) return undefined;
      credentials = credentialsOf(request, this.settings, mode !== 'disabled' && this.proofs !== undefined);
      if (credentials === undefined) return admit<AccessToken>(undefined, route);
      if (credentials.scheme === 'Bearer' && mode !== 'disabled') {
        if (mode === 'required') throw new TokenwardError('dpop_required');
        // A proof with the Bearer scheme is a client mistake, not something to ignore.
        if (request.dpop !== undefined) throw new TokenwardError('dpop_proof_with_bearer');
      }
      // A token verified (or introspected) before needs no I/O: answered without a promise when its binding needs none.
      const found = this.lookup(credentials.token, true);
      if (found instanceof Promise) {
        pending = this.acceptLater(found, credentials.scheme, request, route);
      } else {
        const accepted = this.accept(found, credentials.scheme, request, route);
        if (!(accepted instanceof Promise)) return this.counted(accepted, started);
        pending = accepted;
      }
    } catch (error) {
      throw this.rejected(error, mode, credentials?.scheme ?? schemeOf(admitted), started);
    }
    return this.settle(pending, mode, credentials.scheme, started);
  }

  authorize(token: AccessToken | undefined, required: RouteRequirement): AccessToken {
    try {
      return authorizeToken(token, required, this.clock);
    } catch (error) {
      throw this.rejected(error, this.settings.dpop.mode, undefined);
    }
  }

  async ready(): Promise<void> {
    await Promise.all([...this.issuers.knownKeySets.map(({ issuer, keys }) => keys.ready(issuer)), this.introspector?.ready()]);
  }

  close(): void {
    for (const keys of this.issuers.keySets) keys.close();
    this.cache?.clear();
    this.headers.clear();
    this.proofs?.clear();
    this.introspector?.clear();
  }

  /** Full verification of a token that is not in the cache: header, key, signature, claims. */
  private async verifyAfresh(token: string, parts: CompactParts): Promise<AccessToken> {
    const header = this.headers.parse(parts.header);
    const payload = decodeJsonObject(parts.payload);
    if (payload === undefined) throw new TokenwardError('payload_invalid');
    // RFC 8417 §4.3, Back-Channel Logout §4.1: a logout token or security event from our issuer,
    // whose aud may well be ours (a client id as audience), is never an access token.
    if (Object.hasOwn(payload, 'events')) throw new TokenwardError('typ_invalid', { detail: { claim: 'events', hint: 'a logout token or security event token, not an access token' } });
    // The key set is chosen by the (not yet verified) iss, and only among the configured
    // issuers: an unknown issuer never causes a fetch.
    const keys = this.issuers.keysFor(payload.iss, payload);
    if (keys === undefined) throw issuerMismatch(payload.iss, this.issuers.configured);
    // No await where nothing is pending: each one is a trip through the microtask queue. The iat
    // (unverified) tells whether an unknown kid may be a key published since the last fetch.
    const found = keys.key(header.kid, header.alg, payload.iat);
    const key = found instanceof Promise ? await found : found;
    const keyObject = key.imported(header.alg) ?? (await key.import(header.alg));
    const signed = verifyJws(token, parts, header.alg, keyObject, this.settings.signatureWork);
    if (signed !== undefined) await signed;

    const verified = this.issue(token, header, checkClaims(payload, this.claims, this.settings.clock() / 1000));
    this.cache?.admit(token, { token: verified, keys, key });
    return verified;
  }

  /**
   * The token judged up to its claims, for verify() and check() alike: from the cache, from
   * introspection, or verified afresh. Split here, not in verifyAfresh: a token that is not a
   * compact JWS, like malformed credentials, is a synchronous throw (or, with introspection
   * configured, goes to the issuer's server).
   */
  private lookup(token: string, fromRequest: boolean): AccessToken | Promise<AccessToken> {
    const known = typeof token === 'string' && this.verifiedHere(token) ? this.known(token) : undefined;
    if (known !== undefined) return known;
    const parts = this.split(token, fromRequest);
    return parts === undefined ? (this.introspector as Introspector).token(token) : this.verifyAfresh(token, parts);
  }

  /** The AccessToken of verified claims (the header of a JWS; none for an introspected token). */
  private issue(token: string, header: ProtectedHeader | undefined, claims: JwtClaims): AccessToken {
    return accessToken(this, token, header, claims, collectScopes(claims, this.settings.scopeClaims));
  }

  /** The rest of the order for a verified token: its binding proven, not revoked, the route's conditions met. */
  private accept(token: AccessToken, scheme: Scheme, request: TokenRequest, route: RoutePolicy): AccessToken | Promise<AccessToken> {
    const proven = this.senders.prove(token, scheme, request);
    if (proven === undefined) return this.admitted(token, route);
    return proven.then(() => this.admitted(token, route));
  }

  private admitted(token: AccessToken, route: RoutePolicy): AccessToken {
    if (this.revocation?.isRevoked(token.claims) === true) throw new TokenwardError('token_revoked');
    return admit(token, route, this.clock) as AccessToken;
  }

  private async acceptLater(found: Promise<AccessToken>, scheme: Scheme, request: TokenRequest, route: RoutePolicy): Promise<AccessToken> {
    const accepted = this.accept(await found, scheme, request, route);
    return accepted instanceof Promise ? await accepted : accepted;
  }

  /** A decision under way; every failure leaves through `rejected`. */
  private async settle(pending: Promise<AccessToken>, mode: DpopMode, scheme: Scheme, started: number): Promise<AccessToken> {
    try {
      return this.counted(await pending, started);
    } catch (error) {
      throw this.rejected(error, mode, scheme, started);
    }
  }

  /** An acceptance, counted (metrics.ts); a token admitted before is not counted again. */
  private counted(token: AccessToken, started: number): AccessToken {
    this.settings.instruments.accepted(started);
    return token;
  }

  /** verify() on a token alone: a bound token cannot be accepted without the request that proves it. */
  private verified(token: AccessToken, required: ScopeRequirement): AccessToken {
    if (token.binding !== undefined) throw new TokenwardError('binding_unproven');
    if (this.revocation?.isRevoked(token.claims) === true) throw new TokenwardError('token_revoked');
    checkScopes(token.scopes, required);
    return token;
  }

  private async verifyLater(found: Promise<AccessToken>, required: ScopeRequirement, started: number): Promise<AccessToken> {
    try {
      return this.counted(this.verified(await found, required), started);
    } catch (error) {
      throw this.rejected(error, this.settings.dpop.mode, undefined, started);
    }
  }

  /**
   * The cached verdict on `token`, re-checked for what may have changed since it was cached: its
   * key still published, not expired. Undefined: not cached, or verify it afresh.
   */
  private known(token: string): AccessToken | undefined {
    if (this.cache === undefined) return undefined;
    const cached = this.cache.get(token);
    this.settings.instruments.cacheLookup(cached !== undefined);
    if (cached === undefined) return undefined;
    const verified = cached.token;
    if (cached.keys.current(verified.header?.kid) !== cached.key) {
      this.cache?.delete(token);
      return undefined;
    }
    if (verified.expiresAt <= this.settings.clock() / 1000 - this.settings.claims.clockTolerance) {
      this.cache?.delete(token);
      throw new TokenwardError('token_expired');
    }
    return verified;
  }

  /**
   * The compact parts of a token verified here; undefined for one that goes to introspection (not
   * a compact JWS, or every token with `tokens: 'all'`). For a request's credentials, the RFC 6750
   * §2.1 judgement: credentials that are not even a b64token make the request malformed (400)
   * rather than the token invalid (401). The strict compact form is a subset of b64token, so only
   * credentials that splitCompact refuses need that scan, and a good token is read once.
   */
  private split(token: string, fromRequest: boolean): CompactParts | undefined {
    if (this.verifiedHere(token)) {
      try {
        return splitCompact(token, this.settings.maxTokenBytes);
      } catch (error) {
        if (fromRequest) assertB64token(token);
        // Shaped as a JWS but not one strictly (a stray bit, an empty segment): refused here, never
        // sent, or an altered JWT would skip the header rules and reach the server.
        throw error;
      }
    }
    // Only a b64token within the size cap is ever sent to the issuer's server.
    if (typeof token !== 'string') throw new TokenwardError('token_malformed');
    if (token.length > this.settings.maxTokenBytes) throw new TokenwardError('token_too_large');
    if (!isB64token(token)) throw new TokenwardError(fromRequest ? 'authorization_malformed' : 'token_malformed');
    return undefined;
  }

  /**
   * Whether `token` is verified here rather than introspected: always without introspection;
   * with it, a token shaped as a compact JWS (two dots, strictly checked by the split), unless
   * every token is introspected. Told
   * apart by its dots first, so that an opaque token costs no thrown error on its way (a throw is
   * much of what an introspection cache hit would cost).
   */
  private verifiedHere(token: string): boolean {
    const introspector = this.introspector;
    if (introspector === undefined) return true;
    if (introspector.everyToken || typeof token !== 'string') return false;
    const first = token.indexOf('.');
    const second = first === -1 ? -1 : token.indexOf('.', first + 1);
    return second !== -1 && token.indexOf('.', second + 1) === -1;
  }

  private forgetTokensOf(kids: readonly string[]): void {
    if (this.cache === undefined) return;
    const removed = new Set(kids);
    this.cache.deleteWhere((cached) => cached.token.header?.kid !== undefined && removed.has(cached.token.header.kid));
  }

  /**
   * Every failure leaves as a TokenwardError with our realm and the challenges of the route's
   * schemes (the error's own on the scheme the credentials came with), and is reported once.
   */
  private rejected(error: unknown, mode: DpopMode, scheme: Scheme | undefined, started?: number): TokenwardError {
    let rejection = isTokenwardError(error) ? error : new TokenwardError('verification_failed', { cause: error });
    // One error can reach several requests (a key import that failed is remembered): each gets its own copy.
    if (answered.has(rejection)) {
      const { reason, scope, acrValues, maxAge, dpopNonce, retryAfter, detail, cause } = rejection;
      rejection = new TokenwardError(reason, { scope, acrValues, maxAge, dpopNonce, retryAfter, detail, cause });
    }
    answered.add(rejection);
    rejection.realm = this.realm;
    rejection.challenges = this.settings.dpop.challenges[mode] as Challenges;
    rejection.scheme = scheme;
    rejection.generic = this.settings.genericDescriptions;
    rejection.resourceMetadata = this.settings.protectedResource?.url;
    const { reason, status, detail, cause } = rejection;
    this.settings.instruments.rejected(reason, started);
    this.settings.emit({ type: 'token_rejected', reason, status, ...(detail === undefined ? {} : { detail }), cause });
    return rejection;
  }
}

// Errors already given to a request (see rejected).
const answered = new WeakSet<TokenwardError>();

/** The scheme an admitted token came with: only a DPoP-bound token comes with DPoP. */
function schemeOf(token: AccessToken | null | undefined): Scheme | undefined {
  if (token === undefined || token === null) return undefined;
  return token.binding?.jkt === undefined ? 'Bearer' : 'DPoP';
}

/** The issuers and their key sets (one for all when a single jwksUri is configured), each fetched on first use. */
function issuersOf(settings: Settings, onRemoved: (kids: readonly string[]) => void): Issuers {
  const make = (resolveUri: () => Promise<string>) =>
    new RemoteJwks(resolveUri, settings.header.algorithms, settings.refresh, settings.jwksFetch, { emit: settings.emit, clock: settings.clock, onRemoved });
  const shared = settings.sharedJwks ? make(async () => settings.jwksUri(settings.issuers[0] as string) as string) : undefined;
  return new Issuers(settings.issuers, settings.jwksUri, settings.tenants, (issuer, uri) => {
    if (shared !== undefined) return shared;
    return make(uri !== undefined ? async () => uri : () => discoverJwksUri(issuer, settings.metadataFetch));
  });
}

/** The introspection source of a verifier configured with `introspection`; its signed answers are checked with the issuer's keys. */
function introspectorOf(settings: Settings, issuers: Issuers, accept: (token: string, claims: Record<string, unknown>) => AccessToken): Introspector | undefined {
  const introspection = settings.introspection;
  if (introspection === undefined) return undefined;
  const endpoint = new IntrospectionEndpoint(introspection, settings.metadataFetch, {
    keys: () => issuers.keysFor(introspection.issuer, {}) as RemoteJwks,
    audiences: [introspection.clientId, ...settings.claims.audiences],
    algorithms: [...settings.header.algorithms],
    clockTolerance: settings.claims.clockTolerance,
    clock: settings.clock,
  });
  return new Introspector(introspection, { endpoint, accept, emit: settings.emit, instruments: settings.instruments, clock: settings.clock });
}
