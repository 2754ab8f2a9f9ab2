/**
 * @tokenward/core: framework-free verification of OAuth 2.0 JWT access tokens for resource
 * servers. Every public export is listed here.
 */
export { createVerifier, DEFAULT_ALGORITHMS } from './verify.js';
export type { AuthenticateOptions, Verifier, VerifierOptions } from './verify.js';
export type { AccessToken } from './token.js';
export type { JwtClaims } from './claims.js';
export type { ProtectedHeader } from './jws/compact.js';
export type { SignatureWork } from './jws/verify.js';
export { authorizationValues, extractBearer } from './extract.js';
export type { BearerRequest, ExtractOptions } from './extract.js';
export { authorizeToken, checkScopes, DEFAULT_SCOPE_CLAIMS } from './scopes.js';
export type { ScopeRequirement } from './scopes.js';
export { RevocationList, MAX_CLOCK_TOLERANCE } from './revocation.js';
export type { Instant, RevocationListOptions, ScopeOfRevocation } from './revocation.js';
export { pollRevocations, REVOCATION_FEED_DEFAULTS } from './revocation-feed.js';
export type { RevocationFeed, RevocationFeedEvent, RevocationFeedFailure, RevocationFeedOptions } from './revocation-feed.js';
export { isTokenwardError, reasons, TokenwardError } from './errors.js';
export type { ErrorCode, Reason, TokenwardErrorOptions } from './errors.js';
export { JWKS_DEFAULTS } from './keys/remote-jwks.js';
export type { JwksOptions } from './keys/remote-jwks.js';
export type { JwkRejection } from './keys/jwk.js';
export type { FetchFailure, FetchLike } from './fetch-json.js';
export type { EventListener, KeySourceFailure, TokenwardEvent } from './events.js';
