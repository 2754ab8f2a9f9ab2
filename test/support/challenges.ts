/**
 * The challenges a verifier with default options answers with: it accepts Bearer and DPoP
 * (RFC 9449 §7.2), so every WWW-Authenticate carries both, the error on the challenge of the
 * scheme it concerns.
 */
import { DEFAULT_ALGORITHMS, TokenwardError, type Challenges, type Reason, type Scheme } from '@tokenward/core';

export const DPOP_ALGS = DEFAULT_ALGORITHMS.join(' ');
export const BOTH: Challenges = Object.freeze({ bearer: true, dpopAlgs: DPOP_ALGS });
/** A route that requires DPoP. */
export const DPOP_ONLY: Challenges = Object.freeze({ bearer: false, dpopAlgs: DPOP_ALGS });

/** `bearer` (a Bearer challenge as a string) followed by the bare DPoP challenge of a default verifier. */
export function withDpop(bearer: string, realm = 'api'): string {
  return `${bearer}, DPoP realm="${realm.replace(/[\\"]/g, '\\$&')}", algs="${DPOP_ALGS}"`;
}

/** The rejection a default verifier makes for `reason`, with credentials of `scheme` (default: Bearer, for errors that have a code). */
export function expectedError(
  reason: Reason,
  options: { scope?: string; acrValues?: string; maxAge?: number; realm?: string; scheme?: Scheme; challenges?: Challenges } = {},
): TokenwardError {
  const { scope, acrValues, maxAge, scheme } = options;
  return new TokenwardError(reason, { realm: options.realm ?? 'api', scope, acrValues, maxAge, challenges: options.challenges ?? BOTH, scheme });
}
