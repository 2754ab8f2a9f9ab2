/**
 * OpenID Connect Back-Channel Logout 1.0, the provider's side: when a user's session ends here,
 * each client registered with a `backchannel_logout_uri` is sent a logout token, so that it ends
 * what it holds of that session at once (tokenward's `backchannelLogout()` revokes the session's
 * access tokens) rather than at their `exp`.
 * - §2.4: the logout token is a JWT signed like our other tokens, `typ: logout+jwt`, with `iss`,
 *   `aud` (the client), `iat`, `exp`, `jti`, the back-channel logout event, and `sub` and/or
 *   `sid`: with `sid`, one session ended; with `sub` alone, every session of the user. No `nonce`.
 * - §2.5: POSTed as `application/x-www-form-urlencoded` with one `logout_token` parameter.
 * - §2.8: the client answers 200 (or 204); anything else, a redirect included (not followed), a
 *   timeout or a network error is a failed delivery. A failed delivery does not undo the logout;
 *   it is reported (event and answer), and not retried by this example.
 */
import { randomUUID } from 'node:crypto';
import { signJwt } from './jwt.js';
import { ALG } from './keys.js';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
// §4: "a short lifetime ... two minutes"; the receiving side refuses older ones anyway.
const LOGOUT_TOKEN_TTL = 120;

/**
 * @typedef {{ client_id: string, status: number } | { client_id: string, error: 'timeout' | 'network' }} Delivery
 */

export class BackchannelLogout {
  /**
   * @param {{ issuer: () => string, seconds: () => number,
   *   signingKey: () => { kid: string, privateKey: import('node:crypto').KeyObject },
   *   onEvent: (event: { type: string, [key: string]: unknown }) => void, timeoutMs: number }} options
   */
  constructor(options) {
    this.issuer = options.issuer;
    this.seconds = options.seconds;
    this.signingKey = options.signingKey;
    this.onEvent = options.onEvent;
    this.timeoutMs = options.timeoutMs;
  }

  /**
   * A logout token for one client.
   * @param {string} clientId
   * @param {{ sub: string, sid?: string }} logout
   */
  logoutToken(clientId, { sub, sid }) {
    const iat = this.seconds();
    const { kid, privateKey } = this.signingKey();
    const claims = { iss: this.issuer(), aud: clientId, iat, exp: iat + LOGOUT_TOKEN_TTL, jti: randomUUID(), sub, ...(sid === undefined ? {} : { sid }), events: { [BACKCHANNEL_LOGOUT_EVENT]: {} } };
    return signJwt({ alg: ALG, typ: 'logout+jwt', kid }, claims, privateKey);
  }

  /**
   * Sends the logout to every receiver, all at once; resolves when each has answered or failed.
   * @param {Array<{ id: string, backchannelLogoutUri: string }>} receivers
   * @param {{ sub: string, sid?: string }} logout
   * @returns {Promise<Delivery[]>}
   */
  async notify(receivers, logout) {
    return Promise.all(receivers.map((client) => this.deliver(client, this.logoutToken(client.id, logout), logout)));
  }

  /**
   * @param {{ id: string, backchannelLogoutUri: string }} client
   * @param {string} logoutToken
   * @param {{ sub: string, sid?: string }} logout
   * @returns {Promise<Delivery>}
   */
  async deliver(client, logoutToken, logout) {
    /** @type {Delivery} */
    let delivery;
    try {
      const response = await fetch(client.backchannelLogoutUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: logoutToken }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // The answer's body says nothing we act on; not reading it frees the connection.
      await response.body?.cancel();
      delivery = { client_id: client.id, status: response.status };
    } catch (error) {
      const name = /** @type {{ name?: string }} */ (error)?.name;
      delivery = { client_id: client.id, error: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network' };
    }
    const delivered = 'status' in delivery && (delivery.status === 200 || delivery.status === 204);
    this.onEvent({ type: delivered ? 'backchannel_logout_delivered' : 'backchannel_logout_failed', ...delivery, sub: logout.sub, ...(logout.sid === undefined ? {} : { sid: logout.sid }) });
    return delivery;
  }
}
