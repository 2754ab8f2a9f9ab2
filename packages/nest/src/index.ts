/** @tokenward/nest: every public export. */
export { TokenwardModule } from './tokenward.module.js';
export type { TokenwardModuleAsyncOptions, TokenwardModuleOptions } from './tokenward.module.js';
export { TokenwardGuard } from './tokenward.guard.js';
export { TokenwardReceiverModule } from './receiver.module.js';
export type { TokenwardReceiverOptions } from './receiver.module.js';
export { AnyScope, Auth, Dpop, OptionalAuth, Public, Scopes, StepUp, ANY_SCOPE_KEY, DPOP_KEY, OPTIONAL_KEY, PUBLIC_KEY, SCOPES_KEY, STEP_UP_KEY } from './decorators.js';
export { TOKENWARD_REJECTION_LOG_LEVEL, TOKENWARD_VERIFIER } from './tokens.js';
export type { RejectionLogLevel } from './tokens.js';
export { backchannelLogout, createVerifier, isTokenwardError, RevocationList, TokenwardError } from '@tokenward/core';
export type { AccessToken, BackchannelLogoutOptions, EventReceiver, SignalEvent, TokenwardEvent, Verifier, VerifierOptions } from '@tokenward/core';
