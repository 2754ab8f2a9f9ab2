/**
 * RFC 9470 (OAuth 2.0 Step Up Authentication Challenge): a route may ask how the user
 * authenticated, not only what the token may do. A valid token that is too weak is a 401
 * `insufficient_user_authentication`, whose challenge tells the client what to ask the
 * authorization server for (§3): `acr_values` and/or `max_age`.
 * - `acrValues`: the token's `acr` (OpenID Connect Core §2, the authentication context class)
 *   must be one of them; a token without `acr` does not meet it.
 * - `maxAge`: the token's `auth_time` (when the user last authenticated actively) must be at most
 *   this many seconds ago, clock tolerance allowed; a token without `auth_time` does not meet it.
 * Values are compared exactly, as strings; no ordering of acr values is assumed (§4: their
 * meaning is the deployment's).
 */
import { TokenwardError } from './errors.js';

export interface StepUpRequirement {
  /** The token's `acr` must be one of these, in the order of preference sent to the client. */
  acrValues?: readonly string[];
  /** Seconds: the token's `auth_time` must be at most this old. */
  maxAge?: number;
}

// The challenge's quoted-string parameters: no quotes, backslashes, spaces (a separator) or controls.
const ACR_VALUE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Checks a declared requirement when a route is declared; returns it frozen, or undefined when it asks nothing. */
export function stepUpOf(requirement: StepUpRequirement): StepUpRequirement | undefined {
  const { acrValues, maxAge } = requirement;
  if (acrValues !== undefined && (!Array.isArray(acrValues) || acrValues.length === 0 || !acrValues.every((value) => typeof value === 'string' && ACR_VALUE.test(value)))) {
    throw new TypeError(`tokenward: acrValues must be a non-empty list of acr values (printable, no spaces or quotes); got ${JSON.stringify(acrValues)}`);
  }
  if (maxAge !== undefined && !(Number.isInteger(maxAge) && maxAge >= 0)) throw new TypeError(`tokenward: maxAge must be a whole number of seconds; got ${String(maxAge)}`);
  if (acrValues === undefined && maxAge === undefined) return undefined;
  return Object.freeze({ acrValues: acrValues === undefined ? undefined : Object.freeze([...acrValues]), maxAge });
}

/** Whether the token's claims meet `required` at `now` (seconds); throws the RFC 9470 401 when not. */
export function checkStepUp(claims: Readonly<Record<string, unknown>>, required: StepUpRequirement, now: number, clockTolerance: number): void {
  const challenge = { acrValues: required.acrValues?.join(' '), maxAge: required.maxAge };
  if (required.acrValues !== undefined) {
    const acr = claims.acr;
    if (typeof acr !== 'string' || !required.acrValues.includes(acr)) {
      throw new TokenwardError('acr_insufficient', { ...challenge, detail: { claim: 'acr', actual: acr, expected: required.acrValues } });
    }
  }
  if (required.maxAge !== undefined) {
    const authTime = claims.auth_time;
    if (typeof authTime !== 'number' || !Number.isFinite(authTime) || now - authTime > required.maxAge + clockTolerance) {
      throw new TokenwardError('auth_time_too_old', { ...challenge, detail: { claim: 'auth_time', actual: authTime, expected: [`at most ${required.maxAge} s ago`] } });
    }
  }
}
