/** Which scopes a request gets (RFC 6749 §3.3). */
import { HttpError } from './http.js';

/** Refresh tokens are issued only for grants that ask for this scope (OpenID Connect Core §11). */
export const OFFLINE_ACCESS = 'offline_access';

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * The scopes granted for `requested` among `allowed`. Nothing requested: everything allowed but
 * offline_access, which a client must ask for. Something not allowed: invalid_scope, rather than
 * a silently narrower grant the client would only discover at the API.
 * @param {string | undefined} requested space-delimited
 * @param {readonly string[]} allowed
 * @returns {string[]}
 */
export function grantScope(requested, allowed) {
  if (requested === undefined) return allowed.filter((scope) => scope !== OFFLINE_ACCESS);
  const scopes = [...new Set(requested.split(' ').filter((scope) => scope !== ''))];
  for (const scope of scopes) {
    if (!SCOPE_TOKEN.test(scope)) throw new HttpError(400, 'invalid_scope', 'malformed scope');
    if (!allowed.includes(scope)) throw new HttpError(400, 'invalid_scope', `scope ${scope} is not available to this client or user`);
  }
  if (scopes.length === 0) throw new HttpError(400, 'invalid_scope', 'empty scope');
  return scopes;
}

/**
 * What a user may grant a client: the client's scopes the user holds, and offline_access.
 * @param {{ scopes: string[] }} client
 * @param {{ scopes: string[] }} user
 */
export function userScopes(client, user) {
  return client.scopes.filter((scope) => scope === OFFLINE_ACCESS || user.scopes.includes(scope));
}
