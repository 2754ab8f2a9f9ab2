/**
 * @tokenward/core: framework-free verification of OAuth 2.0 JWT access tokens for resource
 * servers. Every public export is listed here.
 */
export { createVerifier } from './verify.js';
export type { Verifier } from './verify.js';
export type { DpopOptions, VerifierOptions } from './options.js';
export { DEFAULT_ALGORITHMS } from './jwa.js';
export { admit, authorizeToken, routePolicy } from './route.js';
export type { AuthenticateOptions, Clock, DpopMode, RouteCondition, RoutePolicy, RouteRequirement } from './route.js';
export type { StepUpRequirement } from './step-up.js';
export type { ProtectedResourceMetadata, ProtectedResourceOptions } from './protected-resource.js';
export type { AccessToken } from './token.js';
export type { Binding } from './binding.js';
export { MAX_CLOCK_TOLERANCE } from './claims.js';
export type { JwtClaims } from './claims.js';
export type { ProtectedHeader } from './jws/compact.js';
export type { SignatureWork } from './signature-work.js';
export { authorizationValues } from './extract.js';
export { nodeRequest } from './request.js';
export type { BearerRequest, TokenRequest } from './request.js';
export { MemoryReplayStore } from './dpop/replay.js';
export type { DpopReplayStore, MemoryReplayStoreOptions } from './dpop/replay.js';
export type { DpopNonceOptions } from './dpop/nonce.js';
export type { MtlsOptions } from './mtls.js';
export { checkScopes, DEFAULT_SCOPE_CLAIMS } from './scopes.js';
export type { ScopeRequirement } from './scopes.js';
export { RevocationList } from './revocation.js';
export type { Instant, RevocationListOptions, ScopeOfRevocation } from './revocation.js';
export { pollRevocations, REVOCATION_FEED_DEFAULTS } from './revocation-feed.js';
export { applyRevocationEntry } from './revocation-entry.js';
export type { RevocationEntryOutcome } from './revocation-entry.js';
export type { RevocationFeed, RevocationFeedEvent, RevocationFeedFailure, RevocationFeedOptions } from './revocation-feed.js';
export { isTokenwardError, reasons, TokenwardError, TokenwardSetupError } from './errors.js';
export type { Challenges, ErrorCode, Reason, RejectionDetail, Scheme, TokenwardErrorOptions } from './errors.js';
export { backchannelLogout, BACKCHANNEL_LOGOUT_EVENT } from './signals/backchannel-logout.js';
export type { BackchannelLogoutOptions } from './signals/backchannel-logout.js';
export { readBody } from './signals/receiver.js';
export { securityEvents, SECURITY_EVENT_TYPES } from './signals/security-events.js';
export type { SecurityEventReceiver, SecurityEventsOptions, SubjectFormat } from './signals/security-events.js';
export { pollSecurityEvents, SECURITY_EVENT_POLL_DEFAULTS } from './signals/poll-delivery.js';
export type { SecurityEventPoller, SecurityEventPollEvent, SecurityEventPollFailure, SecurityEventPollOptions } from './signals/poll-delivery.js';
export type { EventReceiver, ReceiverRequest, ReceiverResponse } from './signals/receiver.js';
export type { EventTokenFailure } from './signals/event-token.js';
export type { SecurityEventIgnored, SignalEvent } from './signals/signal-events.js';
export { JWKS_DEFAULTS } from './keys/remote-jwks.js';
export type { JwksOptions, UnknownKidInCooldown } from './keys/remote-jwks.js';
export type { EventListener, JwkRejection, KeySourceFailure, TokenwardEvent } from './events.js';
export type { FetchFailure, FetchLike } from './fetch-json.js';
