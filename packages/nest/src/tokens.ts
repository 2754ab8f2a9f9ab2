/** Injection token of the application's Verifier (`@Inject(TOKENWARD_VERIFIER) verifier: Verifier`). */
export const TOKENWARD_VERIFIER = Symbol.for('tokenward.verifier');
