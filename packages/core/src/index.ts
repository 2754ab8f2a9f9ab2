/**
 * @tokenward/core: framework-free verification of OAuth 2.0 JWT access tokens for resource
 * servers. Every public export is listed here.
 */
export { createVerifier } from './verify.js';
export type { Verifier } from './verify.js';
export type { VerifierOptions } from './options.js';
export { DEFAULT_ALGORITHMS } from './jwa.js';
export { admit, authorizeToken, routePolicy } from './route.js';
export type { AuthenticateOptions, RoutePolicy, RouteRequirement } from './route.js';
export type { AccessToken } from './token.js';
export { MAX_CLOCK_TOLERANCE } from './claims.js';
export type { JwtClaims } from './claims.js';
export type { ProtectedHeader } from './jws/compact.js';
export type { SignatureWork } from './signature-work.js';
export { authorizationValues } from './extract.js';
export type { BearerRequest } from './extract.js';
export { checkScopes, DEFAULT_SCOPE_CLAIMS } from './scopes.js';
export type { ScopeRequirement } from './scopes.js';
export { RevocationList } from './revocation.js';
export type { Instant, RevocationListOptions, ScopeOfRevocation } from './revocation.js';
export { pollRevocations, REVOCATION_FEED_DEFAULTS } from './revocation-feed.js';
export type { RevocationFeed, RevocationFeedEvent, RevocationFeedFailure, RevocationFeedOptions } from './revocation-feed.js';
export { isTokenwardError, reasons, TokenwardError } from './errors.js';
export type { ErrorCode, Reason, TokenwardErrorOptions } from './errors.js';
export { JWKS_DEFAULTS } from './keys/remote-jwks.js';
export type { JwksOptions } from './keys/remote-jwks.js';
export type { EventListener, JwkRejection, KeySourceFailure, TokenwardEvent } from './events.js';
export type { FetchFailure, FetchLike } from './fetch-json.js';
