/**
 * What an active RFC 7662 answer must say before its members are taken as the token's claims,
 * which then go through the very rules a JWT's do (claims.ts, scopes.ts, binding.ts, revocation):
 * - `iss`, when present, is the issuer whose server we asked (one server cannot vouch for another
 *   issuer's tokens); when absent, it is that issuer;
 * - the token is an access token: `token_type` Bearer or DPoP (required unless
 *   `requireTokenType: false`), and no member that marks another kind (ORY Hydra's `token_use`,
 *   Keycloak's `typ`): a refresh token sent as an access token must not pass;
 * - a DPoP token (`token_type: DPoP`) names its key (`cnf.jkt`), or it would pass as bearer.
 */
import { TokenwardError } from '../errors.js';
import type { IntrospectionAnswer } from './endpoint.js';

// RFC 7662 §2.2 token_type values (RFC 6749 §7.1) of access tokens we accept; case-insensitive.
const ACCESS_TOKEN_TYPE = /^(bearer|dpop)$/i;
// Keycloak's typ of the tokens that are not access tokens.
const OTHER_TYP = /^(refresh|offline|id|logout)$/i;

export function introspectedClaims(answer: IntrospectionAnswer, issuer: string, requireTokenType: boolean): Record<string, unknown> {
  if (answer.iss !== undefined && answer.iss !== issuer) {
    throw new TokenwardError('issuer_mismatch', { detail: { claim: 'iss', actual: answer.iss, expected: [issuer], hint: 'the introspection answer names an issuer other than the one whose server introspected it' } });
  }
  const type = answer.token_type;
  if (type === undefined ? requireTokenType : typeof type !== 'string' || !ACCESS_TOKEN_TYPE.test(type)) {
    const hint = type === undefined ? 'the introspection answer has no token_type (a refresh token often has none); set introspection.requireTokenType: false if your server omits it for access tokens' : undefined;
    throw new TokenwardError('typ_invalid', { detail: { claim: 'token_type', actual: type, expected: ['Bearer', 'DPoP'], ...(hint === undefined ? {} : { hint }) } });
  }
  if (answer.token_use !== undefined && answer.token_use !== 'access_token') throw new TokenwardError('typ_invalid', { detail: { claim: 'token_use', actual: answer.token_use, expected: ['access_token'] } });
  if (typeof answer.typ === 'string' && OTHER_TYP.test(answer.typ)) throw new TokenwardError('typ_invalid', { detail: { claim: 'typ', actual: answer.typ } });
  if (typeof type === 'string' && /^dpop$/i.test(type)) {
    const cnf = answer.cnf as { jkt?: unknown } | undefined;
    if (typeof cnf !== 'object' || cnf === null || cnf.jkt === undefined) throw new TokenwardError('cnf_unsupported', { detail: { claim: 'cnf', hint: 'token_type DPoP without cnf.jkt' } });
  }
  // A copy, never a merge into another object: JSON's own `__proto__` stays a plain member.
  return answer.iss === undefined ? { ...answer, iss: issuer } : { ...answer };
}
