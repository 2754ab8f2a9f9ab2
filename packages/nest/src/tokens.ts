/** Injection token of the application's Verifier (`@Inject(TOKENWARD_VERIFIER) verifier: Verifier`). */
export const TOKENWARD_VERIFIER = Symbol.for('tokenward.verifier');

/** Injection token of the level TokenwardGuard logs rejections at (TokenwardModule's `rejectionLogLevel`). */
export const TOKENWARD_REJECTION_LOG_LEVEL = Symbol.for('tokenward.rejectionLogLevel');

/** Nest's Logger levels, or false for no log. */
export type RejectionLogLevel = 'log' | 'error' | 'warn' | 'debug' | 'verbose' | 'fatal' | false;
