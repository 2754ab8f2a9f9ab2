/** OpenID Connect Back-Channel Logout tokens (§2.4), as a provider signs them, for the receiver's tests. */
import { BACKCHANNEL_LOGOUT_EVENT } from '@tokenward/core';
import type { TestKey } from './keys';
import { mint, now } from './tokens';

export interface LogoutTokenOptions {
  key: TestKey;
  issuer: string;
  /** The `aud`: the client id the provider knows the application by. */
  clientId: string;
  /** Replace or, with undefined, remove the default claims (sub user-42, sid session-1, a fresh jti, exp 2 minutes on). */
  claims?: Record<string, unknown>;
  /** The protected header beside alg and kid; default typ logout+jwt (typ undefined: none). */
  header?: Record<string, unknown>;
}

export function logoutToken({ key, issuer, clientId, claims = {}, header = { typ: 'logout+jwt' } }: LogoutTokenOptions): string {
  const iat = now();
  const payload: Record<string, unknown> = { iss: issuer, aud: clientId, iat, exp: iat + 120, jti: `lt-${Math.random().toString(36).slice(2)}`, sub: 'user-42', sid: 'session-1', events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, ...claims };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  return mint(key, { issuer, audience: clientId }, { header, claims: payload, replaceClaims: true });
}

/** The form body a provider POSTs (§2.5). */
export const logoutForm = (token: string): string => `logout_token=${encodeURIComponent(token)}`;
