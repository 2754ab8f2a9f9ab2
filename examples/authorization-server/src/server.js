/**
 * An example OAuth 2.0 authorization server, just complete enough to show a whole access-token /
 * refresh-token system at work against resource servers protected by tokenward. node:http only.
 *
 *   GET  /.well-known/openid-configuration     metadata (also at /.well-known/oauth-authorization-server, RFC 8414)
 *   GET  /jwks.json                            the public signing keys (RFC 7517)
 *   GET  /authorize, POST /authorize           authorization code + PKCE S256 (RFC 6749 §4.1, RFC 7636), a login form
 *   POST /token                                grants: authorization_code, password, client_credentials, refresh_token
 *   POST /revoke                               token revocation (RFC 7009), refresh and access tokens
 *   GET  /revocations?since=<cursor>           the revocation feed resource servers poll
 *   POST /logout                               with the user's access token: end its sign-in session
 *   POST /logout-everywhere                    with the user's access token: revoke all of the user's grants
 *   /admin/...                                 key rotation, emergency key removal, logout of a user or a client
 *                                              (only with the `adminToken` option, as `Authorization: Bearer <adminToken>`)
 *
 * Access tokens are RFC 9068 JWTs signed with ES256; refresh tokens are opaque and rotate on
 * every use (./refresh-tokens.js); keys rotate in three steps (./keys.js); state lives in one
 * JSON file written atomically before each answer (./store.js). Each sign-in (the login form, or
 * the password grant) is a session with its own `sid`, carried by the access tokens of its grant;
 * a logout is published on the feed and sent to the clients registered for OpenID Connect
 * Back-Channel Logout (./backchannel-logout.js).
 */
import { createServer } from 'node:http';
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { BackchannelLogout } from './backchannel-logout.js';
import { Clients, sha256, Users } from './clients.js';
import { DEFAULT_AUDIENCE, DEMO_CLIENTS, DEMO_USERS } from './defaults.js';
import { HttpError, parseParams, readForm, sendError, sendJson } from './http.js';
import { signJwt, verifyJwt } from './jwt.js';
import { ALG, KeyRing, KeyRingError } from './keys.js';
import { errorPage, loginPage } from './pages.js';
import { RefreshTokens } from './refresh-tokens.js';
import { MAX_PAGE_SIZE, RevocationLog } from './revocations.js';
import { grantScope, OFFLINE_ACCESS, userScopes } from './scope.js';
import { JsonFileStore, STATE_VERSION } from './store.js';

export const DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 0,
  // RFC 9068 tokens are bearer tokens checked without a call back here: short-lived, so that a
  // revocation the feed has not carried yet cannot matter for long.
  accessTokenTtl: 5 * 60,
  refreshTokenIdleTtl: 14 * 24 * 60 * 60,
  refreshTokenAbsoluteTtl: 30 * 24 * 60 * 60,
  // RFC 6749 §4.1.2: "a maximum authorization code lifetime of 10 minutes is RECOMMENDED"; one is plenty.
  authorizationCodeTtl: 60,
  // tokenward's default JWKS cache age: by then every resource server has seen the next key.
  keyPublishLead: 10 * 60,
  // tokenward's largest clock tolerance: how long past exp a token may still be accepted.
  keyRetireGrace: 5 * 60,
  feedPageSize: 500,
  // Milliseconds a logout receiver has to answer a logout token.
  backchannelLogoutTimeout: 5000,
});

const NO_STORE = Object.freeze({ 'cache-control': 'no-store', pragma: 'no-cache' });
const GRANT_TYPES = ['authorization_code', 'password', 'client_credentials', 'refresh_token'];
// How often (at most) expired records are swept, during a request that changes state anyway.
const PRUNE_EVERY_MS = 60_000;

/** Starts a server and waits until it listens. */
export async function startAuthorizationServer(options) {
  const server = new AuthorizationServer(options);
  await server.listen();
  return server;
}

export class AuthorizationServer {
  constructor(options) {
    if (typeof options?.dataFile !== 'string') throw new TypeError('the authorization server needs a dataFile');
    this.options = { ...DEFAULTS, ...options };
    this.clock = options.clock ?? Date.now;
    this.onEvent = options.onEvent ?? (() => undefined);
    this.audience = options.audience ?? DEFAULT_AUDIENCE;
    this.clients = new Clients(options.clients ?? DEMO_CLIENTS);
    this.users = new Users(options.users ?? DEMO_USERS);
    this.adminTokenHash = options.adminToken === undefined ? undefined : sha256(options.adminToken);

    this.store = new JsonFileStore(options.dataFile);
    const stored = this.store.load();
    this.state = stored === undefined ? newState() : fromStored(stored);
    const { accessTokenTtl } = this.options;
    this.keys = new KeyRing(this.state.keys, { clock: this.clock, publishLead: this.options.keyPublishLead, retireAfter: accessTokenTtl + this.options.keyRetireGrace });
    this.revocations = new RevocationLog(this.state, { clock: this.clock, accessTokenTtl, onPublish: options.onRevocation });
    this.refreshTokens = new RefreshTokens(this.state, {
      clock: this.clock,
      idleTtl: this.options.refreshTokenIdleTtl,
      absoluteTtl: this.options.refreshTokenAbsoluteTtl,
      revokeAccessToken: ({ jti, exp }) => this.revocations.publish({ type: 'token', jti, exp }),
    });
    this.backchannelLogout = new BackchannelLogout({
      issuer: () => this.issuer,
      seconds: () => this.seconds(),
      signingKey: () => this.keys.signingKey(),
      onEvent: (event) => this.onEvent(event),
      timeoutMs: this.options.backchannelLogoutTimeout,
    });
    this.lastPrune = Number.NEGATIVE_INFINITY;
    if (this.keys.ensureActive() || stored === undefined) this.save();

    this.http = createServer((req, res) => void this.dispatch(req, res));
    this.issuer = '';
    this.url = '';
  }

  async listen() {
    await new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port, this.options.host, () => resolve(undefined));
    });
    const { port } = /** @type {import('node:net').AddressInfo} */ (this.http.address());
    this.url = `http://${this.options.host}:${port}`;
    this.issuer = this.options.issuer ?? this.url;
  }

  async close() {
    this.http.closeAllConnections();
    await new Promise((resolve) => this.http.close(() => resolve(undefined)));
  }

  metadata() {
    const base = this.issuer.replace(/\/$/, '');
    return {
      issuer: this.issuer,
      authorization_endpoint: `${base}/authorize`,
      token_endpoint: `${base}/token`,
      jwks_uri: `${base}/jwks.json`,
      revocation_endpoint: `${base}/revoke`,
      // Not registered anywhere: where @tokenward/core's pollRevocations reads from.
      revocation_feed_endpoint: `${base}/revocations`,
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: GRANT_TYPES,
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      scopes_supported: this.clients.scopes(),
      authorization_response_iss_parameter_supported: true,
      // OpenID Connect Back-Channel Logout 1.0 §2.1: logout tokens are sent, with `sid`.
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
    };
  }

  // ---- operations, also reachable through the admin API ----

  /** Key rotation step 1: publish the next key. */
  publishNextKey() {
    return this.change(() => ({ kid: this.keys.publishNext(), keys: this.keys.describe() }));
  }

  /** Key rotation step 2: sign with the next key (after `keyPublishLead`, unless forced). */
  activateNextKey(options = {}) {
    return this.change(() => ({ kid: this.keys.activateNext(options), keys: this.keys.describe() }));
  }

  /** Key rotation step 3: remove retired keys no acceptable token can need. */
  pruneKeys() {
    return this.change(() => ({ removed: this.keys.prune(), keys: this.keys.describe() }));
  }

  /** Emergency: take a key out of the JWKS now; if it was signing, a new key signs from now on. */
  removeKey(kid) {
    return this.change(() => ({ ...this.keys.remove(kid), keys: this.keys.describe() }));
  }

  /**
   * Logout everywhere: every grant of the user is revoked, and every access token issued so far
   * (feed: a subject entry; logout receivers: a logout token with `sub` alone, §2.4: every
   * session of the user). The state changes at once; the promise resolves once every logout
   * receiver has answered or failed.
   */
  async logoutEverywhere(sub) {
    const result = this.change(() => {
      const revoked = this.revokeGrants((grant) => grant.sub === sub, 'logout');
      this.revocations.publish({ type: 'subject', sub, before: this.seconds() });
      this.onEvent({ type: 'logout_everywhere', sub, grantsRevoked: revoked });
      return { sub, grants_revoked: revoked };
    });
    return { ...result, backchannel_logout: await this.backchannelLogout.notify(this.clients.logoutReceivers(), { sub }) };
  }

  /**
   * Logout of one sign-in session: its grants are revoked and its access tokens with them (feed: a
   * session entry), and each logout receiver is sent a logout token with `sub` and `sid`. Other
   * sessions of the user go on. As logoutEverywhere, the promise waits for the receivers.
   */
  async endSession(sub, sid) {
    const result = this.change(() => {
      const revoked = this.revokeGrants((grant) => grant.sid === sid, 'logout');
      this.revocations.publish({ type: 'session', sid, before: this.seconds() });
      this.onEvent({ type: 'logout', sub, sid, grantsRevoked: revoked });
      return { sub, sid, grants_revoked: revoked };
    });
    return { ...result, backchannel_logout: await this.backchannelLogout.notify(this.clients.logoutReceivers(), { sub, sid }) };
  }

  /**
   * Revokes the refresh-token families that `match` selects and drops the unused authorization
   * codes it selects (both carry clientId, sub and sid); the caller publishes the feed entry that
   * covers their access tokens. Returns how many families were live.
   * @param {(grant: { clientId: string, sub: string, sid?: string }) => boolean} match
   * @param {string} reason
   */
  revokeGrants(match, reason) {
    const revoked = this.refreshTokens.revokeWhere(match, reason);
    for (const [key, code] of this.state.codes) if (match(code)) this.state.codes.delete(key);
    return revoked;
  }

  /**
   * Registers a client at run time (in memory: clients otherwise come from the `clients` option),
   * as an administrator does in a provider's console: e.g. an API with a `backchannelLogoutUri`.
   */
  registerClient(config) {
    this.clients.add(config);
  }

  /** Every grant of a client is revoked, and every access token issued to it so far. */
  revokeClientTokens(clientId) {
    return this.change(() => {
      const revoked = this.revokeGrants((grant) => grant.clientId === clientId, 'client_revoked');
      this.revocations.publish({ type: 'client', client_id: clientId, before: this.seconds() });
      return { client_id: clientId, grants_revoked: revoked };
    });
  }

  // ---- HTTP ----

  async dispatch(req, res) {
    let url;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendError(res, new HttpError(400, 'invalid_request', 'bad request target'));
      return;
    }
    let answer;
    try {
      answer = await this.route(req, url);
    } catch (error) {
      answer = error;
    } finally {
      // Every request that may change state is written through before it is answered.
      if (req.method !== 'GET' && req.method !== 'HEAD') answer = this.saveOrFail(answer);
    }
    if (answer instanceof HttpError) sendError(res, answer);
    else if (answer instanceof Error) {
      console.error('authorization server: unexpected error', answer);
      sendError(res, new HttpError(500, 'server_error', 'unexpected error'));
    } else if (typeof answer.html === 'string') {
      res.writeHead(answer.status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-frame-options': 'DENY', ...answer.headers });
      res.end(answer.html);
    } else if (answer.body === undefined) {
      res.writeHead(answer.status, answer.headers ?? {}).end();
    } else {
      sendJson(res, answer.status, answer.body, answer.headers);
    }
  }

  async route(req, url) {
    const path = url.pathname;
    const method = req.method ?? 'GET';
    /** @type {Record<string, Record<string, () => unknown>>} */
    const routes = {
      '/.well-known/openid-configuration': { GET: () => json(this.metadata(), { 'cache-control': 'max-age=300' }) },
      '/.well-known/oauth-authorization-server': { GET: () => json(this.metadata(), { 'cache-control': 'max-age=300' }) },
      // Short: a key removed in an emergency must not linger in intermediary caches.
      '/jwks.json': { GET: () => json(this.keys.jwks(), { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=60' }) },
      '/authorize': { GET: () => this.authorizeForm(url.searchParams), POST: async () => this.authorizeSubmit(await readForm(req)) },
      '/token': { POST: async () => this.tokenEndpoint(req) },
      '/revoke': { POST: async () => this.revocationEndpoint(req) },
      '/revocations': { GET: () => this.feed(url.searchParams) },
      '/logout': { POST: async () => json(await this.logoutSession(req), NO_STORE) },
      '/logout-everywhere': { POST: async () => json(await this.logoutEverywhere(this.bearerClaims(req).sub), NO_STORE) },
    };
    const handlers = Object.hasOwn(routes, path) ? routes[path] : this.adminRoutes(req, path);
    if (handlers === undefined) throw new HttpError(404, 'not_found', 'no such endpoint');
    const handler = handlers[method];
    if (handler === undefined) throw new HttpError(405, 'invalid_request', 'method not allowed', { allow: Object.keys(handlers).join(', ') });
    return handler();
  }

  adminRoutes(req, path) {
    if (!path.startsWith('/admin/') || this.adminTokenHash === undefined) return undefined;
    const admin = (/** @type {() => unknown} */ operation) => async () => {
      this.checkAdmin(req);
      try {
        return json(await operation(), NO_STORE);
      } catch (error) {
        if (error instanceof KeyRingError) throw new HttpError(error.status, error.code, error.message);
        throw error;
      }
    };
    if (path === '/admin/keys') return { GET: admin(() => ({ keys: this.keys.describe() })), POST: admin(() => this.publishNextKey()) };
    if (path === '/admin/keys/activate') return { POST: admin(() => this.activateNextKey()) };
    if (path === '/admin/keys/prune') return { POST: admin(() => this.pruneKeys()) };
    let segments;
    try {
      segments = path.split('/').map((segment) => decodeURIComponent(segment));
    } catch {
      return undefined;
    }
    if (segments.length === 4 && segments[2] === 'keys') return { DELETE: admin(() => this.removeKey(segments[3])) };
    if (segments.length === 5 && segments[2] === 'users' && segments[4] === 'logout') return { POST: admin(() => this.logoutEverywhere(segments[3])) };
    if (segments.length === 5 && segments[2] === 'clients' && segments[4] === 'revoke-tokens') return { POST: admin(() => this.revokeClientTokens(segments[3])) };
    return undefined;
  }

  // ---- authorization endpoint (RFC 6749 §4.1.1, RFC 7636 §4.3) ----

  authorizeForm(params) {
    const request = this.authorizationRequest(parseParams(params));
    if (request.status !== undefined) return request;
    return { status: 200, html: loginPage(params, { clientId: request.client.id, scope: request.scope ?? [] }) };
  }

  authorizeSubmit(form) {
    const request = this.authorizationRequest(form);
    if (request.status !== undefined) return request;
    const user = this.users.check(form.get('username') ?? '', form.get('password') ?? '');
    if (user === undefined) {
      return { status: 401, html: loginPage(form, { clientId: request.client.id, scope: request.scope ?? [], message: 'Invalid username or password.' }) };
    }
    let scope;
    try {
      scope = grantScope(form.get('scope'), userScopes(request.client, user));
    } catch (error) {
      return this.redirect(request.redirectUri, { error: 'invalid_scope', error_description: error.message, state: form.get('state') });
    }
    const code = randomBytes(32).toString('base64url');
    this.maintain();
    this.state.codes.set(hashHex(code), {
      clientId: request.client.id,
      sub: user.sub,
      // The sign-in is a session: the tokens of the grant carry its id, and a logout ends them.
      sid: newSessionId(),
      scope,
      redirectUri: request.redirectUri,
      challenge: request.challenge,
      expiresAt: this.clock() + this.options.authorizationCodeTtl * 1000,
      accessTokens: [],
    });
    return this.redirect(request.redirectUri, { code, state: form.get('state') });
  }

  /**
   * Checks an authorization request. Until client and redirect URI are known good, errors are
   * shown here (never redirect to an unchecked URI, RFC 6749 §4.1.2.1); after that, they are
   * sent back to the client.
   */
  authorizationRequest(params) {
    const client = this.clients.get(params.get('client_id'));
    if (client === undefined) return { status: 400, html: errorPage('Unknown client.') };
    const redirectUri = params.get('redirect_uri');
    // Exact match only (RFC 9700 §4.1.3): no prefixes, no wildcards.
    if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) return { status: 400, html: errorPage('Unregistered redirect_uri.') };
    const back = (error, description) => this.redirect(redirectUri, { error, error_description: description, state: params.get('state') });
    if (!client.grantTypes.includes('authorization_code')) return back('unauthorized_client', 'client may not use the authorization code grant');
    if (params.get('response_type') !== 'code') return back('unsupported_response_type', 'only response_type=code is supported');
    const challenge = params.get('code_challenge');
    // PKCE is required of every client, S256 only: `plain` protects nothing if the request leaks.
    if (params.get('code_challenge_method') !== 'S256' || challenge === undefined || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
      return back('invalid_request', 'PKCE required: code_challenge with code_challenge_method=S256');
    }
    let scope;
    try {
      scope = params.has('scope') ? grantScope(params.get('scope'), client.scopes) : undefined;
    } catch (error) {
      return back('invalid_scope', error.message);
    }
    return { client, redirectUri, challenge, scope };
  }

  redirect(redirectUri, params) {
    const location = new URL(redirectUri);
    for (const [name, value] of Object.entries(params)) if (value !== undefined) location.searchParams.set(name, value);
    // RFC 9207: tells the client which server answered, against mix-up attacks.
    location.searchParams.set('iss', this.issuer);
    return { status: 302, headers: { location: location.href, 'cache-control': 'no-store' } };
  }

  // ---- token endpoint (RFC 6749 §3.2) ----

  async tokenEndpoint(req) {
    const form = await readForm(req);
    const client = this.clients.authenticate(req, form);
    const grantType = form.get('grant_type');
    if (grantType === undefined) throw new HttpError(400, 'invalid_request', 'grant_type required');
    if (!GRANT_TYPES.includes(grantType)) throw new HttpError(400, 'unsupported_grant_type', `grant_type ${grantType} is not supported`);
    if (!client.grantTypes.includes(grantType)) throw new HttpError(400, 'unauthorized_client', `client may not use grant_type ${grantType}`);
    this.maintain();
    switch (grantType) {
      case 'password':
        return json(this.passwordGrant(client, form), NO_STORE);
      case 'authorization_code':
        return json(this.authorizationCodeGrant(client, form), NO_STORE);
      case 'client_credentials':
        return json(this.clientCredentialsGrant(client, form), NO_STORE);
      default:
        return json(this.refreshTokenGrant(client, form), NO_STORE);
    }
  }

  passwordGrant(client, form) {
    const user = this.users.check(required(form, 'username'), required(form, 'password'));
    if (user === undefined) throw new HttpError(400, 'invalid_grant', 'invalid username or password');
    return this.grant(client, user.sub, grantScope(form.get('scope'), userScopes(client, user)), { sid: newSessionId() });
  }

  authorizationCodeGrant(client, form) {
    const code = required(form, 'code');
    const redirectUri = required(form, 'redirect_uri');
    const verifier = required(form, 'code_verifier');
    const record = this.state.codes.get(hashHex(code));
    if (record === undefined) throw new HttpError(400, 'invalid_grant', 'authorization code unknown');
    if (record.usedAt !== undefined) {
      // RFC 6749 §4.1.2: a code used twice was intercepted; revoke what it gave.
      const family = record.familyId === undefined ? undefined : this.state.families.get(record.familyId);
      if (family !== undefined) this.refreshTokens.revoke(family, 'authorization_code_reuse');
      for (const { jti, exp } of record.accessTokens) this.revocations.publish({ type: 'token', jti, exp });
      record.accessTokens = [];
      throw new HttpError(400, 'invalid_grant', 'authorization code already used: the tokens issued with it are revoked');
    }
    if (this.clock() >= record.expiresAt) throw new HttpError(400, 'invalid_grant', 'authorization code expired');
    if (record.clientId !== client.id) throw new HttpError(400, 'invalid_grant', 'authorization code was issued to another client');
    if (record.redirectUri !== redirectUri) throw new HttpError(400, 'invalid_grant', 'redirect_uri does not match the authorization request');
    // RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) must equal the challenge.
    const computed = Buffer.from(createHash('sha256').update(verifier).digest('base64url'));
    const expected = Buffer.from(record.challenge);
    if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || computed.length !== expected.length || !timingSafeEqual(computed, expected)) {
      throw new HttpError(400, 'invalid_grant', 'code_verifier does not match the code_challenge');
    }
    record.usedAt = this.clock();
    return this.grant(client, record.sub, record.scope, { sid: record.sid, code: record });
  }

  clientCredentialsGrant(client, form) {
    // RFC 6749 §4.4: confidential clients only. No refresh token (§4.4.3): the client can always
    // ask again. `sub` is the client itself (RFC 9068 §2.2).
    if (client.secretHash === undefined) throw new HttpError(400, 'unauthorized_client', 'public clients cannot use client_credentials');
    const scope = grantScope(form.get('scope'), client.scopes.filter((s) => s !== OFFLINE_ACCESS));
    return this.tokenResponse(this.accessToken(client.id, client.id, scope), scope);
  }

  refreshTokenGrant(client, form) {
    const presented = required(form, 'refresh_token');
    let scope;
    const { family, token } = this.refreshTokens.rotate(presented, client.id, (family) => {
      // RFC 6749 §6: a narrower scope may be asked for; checked before the token is spent.
      scope = form.has('scope') ? grantScope(form.get('scope'), family.scope) : family.scope;
    });
    const access = this.accessToken(client.id, family.sub, /** @type {string[]} */ (scope), family.sid);
    this.refreshTokens.track(family, access);
    return this.tokenResponse(access, /** @type {string[]} */ (scope), token);
  }

  /**
   * Issues the tokens of a new grant of a user's sign-in session `sid`: a refresh token only when
   * offline_access was granted. `code`: the authorization code it was made from.
   */
  grant(client, sub, scope, { sid, code }) {
    const refresh =
      scope.includes(OFFLINE_ACCESS) && client.grantTypes.includes('refresh_token') ? this.refreshTokens.start({ clientId: client.id, sub, sid, scope }) : undefined;
    const access = this.accessToken(client.id, sub, scope, sid);
    if (refresh !== undefined) this.refreshTokens.track(refresh.family, access);
    if (code !== undefined) Object.assign(code, { familyId: refresh?.family.id, accessTokens: [{ jti: access.jti, exp: access.exp }] });
    return this.tokenResponse(access, scope, refresh?.token);
  }

  /** An RFC 9068 access token; with `sid` when it is of a user's sign-in session. */
  accessToken(clientId, sub, scope, sid) {
    const iat = this.seconds();
    const exp = iat + this.options.accessTokenTtl;
    const jti = randomUUID();
    const { kid, privateKey } = this.keys.signingKey();
    const claims = { iss: this.issuer, sub, aud: this.audience, client_id: clientId, scope: scope.join(' '), ...(sid === undefined ? {} : { sid }), jti, iat, exp };
    return { token: signJwt({ alg: ALG, typ: 'at+jwt', kid }, claims, privateKey), jti, exp };
  }

  tokenResponse(access, scope, refreshToken) {
    const body = { access_token: access.token, token_type: 'Bearer', expires_in: this.options.accessTokenTtl, scope: scope.join(' ') };
    return refreshToken === undefined ? body : { ...body, refresh_token: refreshToken };
  }

  // ---- revocation (RFC 7009) ----

  async revocationEndpoint(req) {
    const form = await readForm(req);
    const client = this.clients.authenticate(req, form);
    const token = required(form, 'token');
    this.maintain();
    // The hint only orders the lookups (§2.1); an unknown hint is ignored.
    const lookups = form.get('token_type_hint') === 'access_token' ? [this.revokeAccessToken, this.revokeRefreshToken] : [this.revokeRefreshToken, this.revokeAccessToken];
    for (const lookup of lookups) {
      const owner = lookup.call(this, token, client.id);
      if (owner === undefined) continue;
      if (owner !== client.id) throw new HttpError(400, 'unauthorized_client', 'the token was not issued to this client');
      break;
    }
    // §2.2: 200 also for a token that is invalid, expired or already revoked; nothing to tell.
    return { status: 200, headers: NO_STORE };
  }

  /** Returns the token's client, and revokes it if that is `clientId`; undefined if not a refresh token of ours. */
  revokeRefreshToken(token, clientId) {
    const family = this.refreshTokens.familyOf(token);
    if (family === undefined) return undefined;
    // §2.1: revoking a refresh token also invalidates the access tokens of the same grant.
    if (family.clientId === clientId) this.refreshTokens.revoke(family, 'revoked_by_client');
    return family.clientId;
  }

  revokeAccessToken(token, clientId) {
    const claims = this.ownAccessToken(token);
    if (claims === undefined) return undefined;
    if (claims.client_id === clientId) this.revocations.publish({ type: 'token', jti: claims.jti, exp: claims.exp });
    return claims.client_id;
  }

  /** The claims of an unexpired access token this server issued, or undefined. */
  ownAccessToken(token) {
    const verified = verifyJwt(token, (kid) => this.keys.publicJwk(kid));
    if (verified === undefined) return undefined;
    const { header, payload } = verified;
    const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : '';
    if (typ !== 'at+jwt' && typ !== 'application/at+jwt') return undefined;
    if (payload.iss !== this.issuer || typeof payload.jti !== 'string' || typeof payload.exp !== 'number' || payload.exp <= this.seconds()) return undefined;
    return payload;
  }

  /** The claims of the request's bearer access token of a user (for the logouts). */
  bearerClaims(req) {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(req.headers.authorization ?? '');
    const claims = match === null ? undefined : this.ownAccessToken(/** @type {string} */ (match[1]));
    if (claims === undefined || typeof claims.sub !== 'string' || this.revocations.isRevoked(claims)) {
      const error = match === null ? '' : ', error="invalid_token"';
      throw new HttpError(401, 'invalid_token', 'a valid access token of the user is required', { 'www-authenticate': `Bearer realm="oauth"${error}` });
    }
    return claims;
  }

  /** POST /logout: ends the sign-in session of the request's access token. */
  async logoutSession(req) {
    const claims = this.bearerClaims(req);
    // A client_credentials token has no session; nor has a token issued before sessions were.
    if (typeof claims.sid !== 'string') throw new HttpError(400, 'invalid_request', 'the access token belongs to no sign-in session');
    return this.endSession(claims.sub, claims.sid);
  }

  // ---- revocation feed ----

  feed(params) {
    const since = params.get('since') ?? '0';
    if (!/^\d{1,15}$/.test(since)) throw new HttpError(400, 'invalid_request', 'since must be a cursor from this feed');
    const limitParam = params.get('limit');
    const limit = limitParam === null ? this.options.feedPageSize : Number(limitParam);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) throw new HttpError(400, 'invalid_request', `limit must be 1 to ${MAX_PAGE_SIZE}`);
    return json(this.revocations.page(Number(since), limit), { 'cache-control': 'no-store' });
  }

  // ---- state ----

  checkAdmin(req) {
    const match = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (match === null || this.adminTokenHash === undefined || !timingSafeEqual(sha256(/** @type {string} */ (match[1])), this.adminTokenHash)) {
      throw new HttpError(401, 'invalid_token', 'admin token required', { 'www-authenticate': 'Bearer realm="admin"' });
    }
  }

  /** Runs a state change and writes it through (for calls made in-process, not over HTTP). */
  change(operation) {
    this.maintain();
    try {
      return operation();
    } finally {
      this.save();
    }
  }

  /** Sweeps expired records now and then. */
  maintain() {
    const now = this.clock();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    this.refreshTokens.prune();
    for (const [key, code] of this.state.codes) if (now >= code.expiresAt) this.state.codes.delete(key);
    this.revocations.prune();
    const removed = this.keys.prune();
    if (removed.length > 0) this.onEvent({ type: 'keys_removed', kids: removed });
  }

  save() {
    this.store.save(toStored(this.state));
  }

  saveOrFail(answer) {
    try {
      this.save();
      return answer;
    } catch (error) {
      console.error('authorization server: could not save its state', error);
      return new HttpError(500, 'server_error', 'could not save state');
    }
  }

  seconds() {
    return Math.floor(this.clock() / 1000);
  }
}

function json(body, headers = {}) {
  return { status: 200, body, headers };
}

function required(form, name) {
  const value = form.get(name);
  if (value === undefined) throw new HttpError(400, 'invalid_request', `${name} required`);
  return value;
}

function newSessionId() {
  return randomBytes(16).toString('base64url');
}

function hashHex(token) {
  return sha256(token).toString('hex');
}

function newState() {
  return {
    version: STATE_VERSION,
    // Names this history of the revocation feed; a new data file is a new history.
    feed: randomBytes(8).toString('hex'),
    seq: 0,
    keys: [],
    families: new Map(),
    refreshTokens: new Map(),
    codes: new Map(),
    revocations: [],
  };
}

function fromStored(stored) {
  return {
    ...stored,
    families: new Map(Object.entries(stored.families)),
    refreshTokens: new Map(Object.entries(stored.refreshTokens)),
    codes: new Map(Object.entries(stored.codes)),
  };
}

function toStored(state) {
  return {
    ...state,
    families: Object.fromEntries(state.families),
    refreshTokens: Object.fromEntries(state.refreshTokens),
    codes: Object.fromEntries(state.codes),
  };
}
