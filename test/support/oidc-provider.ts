/**
 * A real, certified OpenID provider for interop tests: oidc-provider (panva) on 127.0.0.1, in this
 * process, over plain http (tokenward allows http for loopback only). One confidential client gets
 * JWT access tokens with the client_credentials grant, for the resource it names (RFC 8707), as
 * Bearer tokens or, with a DPoP proof at the token endpoint, DPoP-bound (RFC 9449).
 *
 * Tokens for OPAQUE_RESOURCE are opaque (the provider's own format); resource servers ask about
 * them at its RFC 7662 introspection endpoint, as one of the API_CLIENTS (client_secret_basic,
 * client_secret_post, and one whose answers are signed JWTs, RFC 9701); `revoke()` revokes a token
 * at its RFC 7009 revocation endpoint.
 *
 * With `backchannelLogout`, a second client logs users in (authorization code, through the
 * provider's development interactions, driven headless: `userToken()`) and registers a
 * back-channel logout URI (OpenID Connect Back-Channel Logout 1.0); `logout()` ends the user's
 * session at the provider, which POSTs a logout token to that URI before it answers.
 *
 * Configuration is the least this needs; what is left out on purpose: cookies.keys (test
 * cookies need no signature), an adapter (the in-memory default fits one short-lived process).
 */
import { generateKeyPair, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { JWK } from 'jose';
import type { Configuration } from 'oidc-provider';
import { dpopClient, proof, type DpopClient } from './dpop';

/** The API tokens are asked for; its tokens are signed RS256 (the provider's default alg). */
export const RESOURCE = 'https://api.example.com';
/** Another API the provider knows; its tokens are signed ES256, with the provider's other key. */
export const OTHER_RESOURCE = 'https://other.example.com';
export const CLIENT_ID = 'tokenward-interop';
/** An API whose tokens are opaque: only introspection tells what they are. */
export const OPAQUE_RESOURCE = 'https://opaque.example.com';
/** The resource servers' clients at the introspection endpoint; the secrets are the provider's (`apiClients`). */
export const API_CLIENTS = { basic: 'tokenward-api', post: 'tokenward-api-post', signed: 'tokenward-api-signed' } as const;
/** Every scope both APIs define, and what the client asks for by default. */
export const SCOPES = 'read:messages write:messages admin';
/** The client end-users log in to (backchannelLogout only): its id is the logout tokens' `aud`. */
export const WEB_CLIENT_ID = 'tokenward-web';
const WEB_REDIRECT_URI = 'http://127.0.0.1/callback';
// The logout URI registered for the web client. Its port is not known when the provider is made
// (each test's API listens on a port of its own), so the provider's outgoing requests to this
// origin go to the API set with `logoutTarget`: still a real POST over loopback to that API.
const LOGOUT_ORIGIN = 'http://127.0.0.1:9';
export const BACKCHANNEL_LOGOUT_PATH = '/backchannel-logout';

export interface TokenRequest {
  /** Space-delimited; default SCOPES. */
  scope?: string;
  /** The `resource` parameter (RFC 8707); default RESOURCE. */
  resource?: string;
  /** With a client, the request carries its DPoP proof and the token is bound to its key. */
  dpop?: DpopClient;
}

/** The token endpoint's answer (RFC 6749 §5.1). */
export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  scope?: string;
}

/** The answer, and the DPoP nonce the provider asked for (RFC 9449 §8) if it did. */
export interface IssuedToken extends TokenResponse {
  dpopNonce?: string;
}

export interface OidcProvider {
  /** `http://127.0.0.1:PORT`, the `iss` of its tokens and the `issuer` of its metadata. */
  issuer: string;
  tokenEndpoint: string;
  /** A client_credentials token; rejects with the provider's error when it refuses. */
  clientCredentialsToken(request?: TokenRequest): Promise<IssuedToken>;
  /** backchannelLogout: a user's login, headless; the JWT access token for RESOURCE carries the session's `sid`. */
  userToken(accountId: string): Promise<UserSession>;
  /** backchannelLogout: where the provider's logout POSTs go (`http://127.0.0.1:PORT` of the API under test). */
  logoutTarget(baseUrl: string): void;
  /**
   * A rotation of the RS256 key as oidc-provider does it: a new key first in its jwks, so that it
   * signs with it and publishes it from the same moment; the old keys stay published. The provider
   * is made again with that jwks, ahead (key generation takes a while), and `rotate()` puts it
   * behind the same listening server at once (same issuer, client and secret; its in-memory
   * state, grants and nonces, starts over).
   */
  prepareRotation(): Promise<{ kid: string; rotate(): void }>;
  /** Requests to its jwks_uri so far. */
  readonly jwksRequests: number;
  /** Requests to its introspection endpoint so far. */
  readonly introspectionRequests: number;
  /** The introspection credentials of each of API_CLIENTS. */
  apiClients: Record<keyof typeof API_CLIENTS, { clientId: string; clientSecret: string }>;
  /** RFC 7009: revokes an access token at the provider (as the client it was issued to). */
  revoke(token: string): Promise<void>;
  close(): Promise<void>;
}

export interface UserSession {
  accessToken: string;
  /** Ends this session at the provider ("sign me out" on its end-session page); resolves once its logout POST was answered. */
  logout(): Promise<{ delivered: boolean; error?: unknown }>;
}

export interface ProviderOptions {
  /** Add the web client with a back-channel logout URI (sid in its tokens). */
  backchannelLogout?: boolean;
}

/**
 * What oidc-provider prints (console.warn/info) that says nothing about this setup; each is kept
 * out of the test output, anything else it prints still shows.
 */
const KNOWN_NOTICES = [
  // lib/index.js, at import, on Node.js below 22: oidc-provider 9.0.0 dropped Node.js 20 (its
  // CHANGELOG), tokenward supports 20.19 and later, and the suite runs on whichever Node runs jest.
  'oidc-provider WARNING: Unsupported runtime.',
  // At construction: the in-memory adapter loses everything on restart, which is what a test wants.
  'oidc-provider WARNING: a quick start development-only in-memory adapter is used',
  // With backchannelLogout: the development interactions are how a test logs a user in, headless.
  'oidc-provider WARNING: a quick start development-only feature devInteractions is enabled',
  // At the first outgoing request (a logout POST): under jest's module sandbox it cannot build the
  // undici Agent of its SSRF guard; the guard is off here anyway (see `fetch` below).
  'oidc-provider WARNING: failed to setup SSRF protection for fetch',
];

async function withoutKnownNotices<T>(step: () => Promise<T>): Promise<T> {
  const { warn, info } = console;
  const printed: Array<{ print: (...args: unknown[]) => void; args: unknown[] }> = [];
  console.warn = (...args: unknown[]) => printed.push({ print: warn, args });
  console.info = (...args: unknown[]) => printed.push({ print: info, args });
  try {
    return await step();
  } finally {
    console.warn = warn;
    console.info = info;
    for (const { print, args } of printed) {
      if (!KNOWN_NOTICES.some((notice) => String(args[0]).startsWith(notice))) print.apply(console, args);
    }
  }
}

const generate = promisify(generateKeyPair);

/** The provider's signing keys (private JWKs): it publishes their public halves at jwks_uri. */
async function signingKeys(): Promise<JWK[]> {
  return [await rsaKey(), (await generate('ec', { namedCurve: 'P-256' })).privateKey.export({ format: 'jwk' })];
}

async function rsaKey(): Promise<JWK> {
  return (await generate('rsa', { modulusLength: 2048 })).privateKey.export({ format: 'jwk' });
}

export async function startOidcProvider(options: ProviderOptions = {}): Promise<OidcProvider> {
  // Evaluated here, not at the top of the file: its import-time notice is caught like the others.
  const { Provider, errors } = await withoutKnownNotices(() => import('oidc-provider'));
  let keys = await signingKeys();
  let jwksRequests = 0;
  let introspectionRequests = 0;
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const close = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
  // The issuer names the port, so the provider is made once the server listens.
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Unreserved characters only: client_secret_basic form-encodes id and secret before base64
  // (RFC 6749 §2.3.1), which leaves these unchanged.
  const clientSecret = randomBytes(32).toString('base64url');

  const configuration = (jwks: JWK[]): Configuration => ({
    jwks: { keys: jwks },
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: clientSecret,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        // A client_credentials-only client uses no authorization endpoint (the provider's FAQ).
        response_types: [],
        redirect_uris: [],
        // No `scope` here: in v9 a client's scope metadata may name only the provider's own
        // `scopes` (openid, offline_access); an API's scopes are granted by getResourceServerInfo.
      },
      // Resource servers: no grant of their own, they only ask about tokens.
      ...Object.entries(API_CLIENTS).map(([kind, clientId]) => ({
        client_id: clientId,
        client_secret: clientSecret,
        token_endpoint_auth_method: kind === 'post' ? ('client_secret_post' as const) : ('client_secret_basic' as const),
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        ...(kind === 'signed' ? { introspection_signed_response_alg: 'RS256' as const } : {}),
      })),
      ...(options.backchannelLogout === true
        ? [
            {
              client_id: WEB_CLIENT_ID,
              client_secret: clientSecret,
              redirect_uris: [WEB_REDIRECT_URI],
              backchannel_logout_uri: `${LOGOUT_ORIGIN}${BACKCHANNEL_LOGOUT_PATH}`,
              // Puts the session's sid in the logout token (and in the access tokens, below).
              backchannel_logout_session_required: true,
            },
          ]
        : []),
    ],
    // Any login is an account of that id (the development interactions ask for a name only).
    findAccount: async (_ctx, accountId) => ({ accountId, claims: async () => ({ sub: accountId }) }),
    pkce: { required: () => false },
    // oidc-provider 9 puts no sid in JWT access tokens; providers that support logout of access
    // tokens by session do (the resource server's only way to tell sessions apart).
    extraTokenClaims: async (_ctx, token) => ('sid' in token && typeof token.sid === 'string' ? { sid: token.sid } : undefined),
    // Its outgoing requests refuse loopback addresses (an SSRF guard) by default: the logout POST
    // goes to the API under test on 127.0.0.1, through the global fetch.
    fetch: (url, init) => {
      const target = new URL(url);
      const rewritten = target.origin === LOGOUT_ORIGIN && logoutBase !== undefined ? `${logoutBase}${target.pathname}` : url;
      const { dispatcher: _dispatcher, ...rest } = init as RequestInit & { dispatcher?: unknown };
      return fetch(rewritten, rest);
    },
    // Each set because the default functions print a notice; access tokens under tokenward's maxTokenLifetime.
    ttl: { ClientCredentials: 300, AccessToken: 300, IdToken: 300, Interaction: 600, Session: 3600, Grant: 3600 },
    features: {
      devInteractions: { enabled: options.backchannelLogout === true },
      backchannelLogout: { enabled: options.backchannelLogout === true },
      // The end-session page is its form (with the xsrf token) and a button; the defaults print a notice.
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = `<!DOCTYPE html><html><body>${form}<button form="op.logoutForm" name="logout" value="yes">Sign out</button></body></html>`;
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = '<!DOCTYPE html><html><body>Signed out</body></html>';
        },
      },
      clientCredentials: { enabled: true },
      // RFC 7662 for authenticated clients only; the default policy prints a notice.
      introspection: { enabled: true, allowedPolicy: async (_ctx, client) => client.clientAuthMethod !== 'none' },
      jwtIntrospection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Without a resource the token would be opaque; these two APIs get JWTs with `aud` = the
        // resource. Scopes a resource does not define are dropped from its tokens.
        // The authorization-code client asks for RESOURCE at the authorization and token endpoints.
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource) => {
          if (resource === RESOURCE) return { scope: SCOPES, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
          if (resource === OTHER_RESOURCE) return { scope: SCOPES, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
          if (resource === OPAQUE_RESOURCE) return { scope: SCOPES, accessTokenFormat: 'opaque' };
          throw new errors.InvalidTarget();
        },
      },
      dPoP: {
        enabled: true,
        // Nonces are on, and required, so that the client's use_dpop_nonce retry runs every time
        // rather than never (RFC 9449 §8): without a nonceSecret the provider never asks for one.
        nonceSecret: randomBytes(32),
        requireNonce: () => true,
      },
    },
  });
  let tokenEndpoint: string;
  let logoutBase: string | undefined;
  // The last logout POST's outcome, as the provider reports it.
  let logoutOutcome: { delivered: boolean; error?: unknown } | undefined;
  // A 500 from the provider carries no detail; its server_error event does, for the rejection.
  let serverError: unknown;
  const provide = async (jwks: JWK[]) => {
    const provider = await withoutKnownNotices(async () => new Provider(issuer, configuration(jwks)));
    provider.on('server_error', (_ctx, error) => {
      serverError = error;
    });
    provider.on('backchannel.success', () => {
      logoutOutcome = { delivered: true };
    });
    provider.on('backchannel.error', (_ctx, error) => {
      logoutOutcome = { delivered: false, error };
    });
    return provider.callback();
  };
  let handler: Awaited<ReturnType<typeof provide>>;
  try {
    handler = await provide(keys);
    server.on('request', (req, res) => {
      if (req.url === '/jwks') jwksRequests++;
      if (req.url === '/token/introspection') introspectionRequests++;
      void handler(req, res);
    });
    // Where a client finds the token endpoint: the provider's metadata.
    const metadata = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
    tokenEndpoint = metadata.token_endpoint;
  } catch (error) {
    await close();
    throw error;
  }
  const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${clientSecret}`).toString('base64')}`;

  async function requestToken(request: TokenRequest, nonce?: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' };
    // The proof for the token endpoint: htu is its URL, and no ath (no access token goes with it).
    if (request.dpop) headers.dpop = await proof(request.dpop, { method: 'POST', url: tokenEndpoint, nonce });
    const body = new URLSearchParams({ grant_type: 'client_credentials', scope: request.scope ?? SCOPES, resource: request.resource ?? RESOURCE });
    return fetch(tokenEndpoint, { method: 'POST', headers, body });
  }

  return {
    issuer,
    tokenEndpoint,
    async clientCredentialsToken(request = {}) {
      serverError = undefined;
      let res = await requestToken(request);
      let body = (await res.json()) as TokenResponse & { error?: string; error_description?: string };
      // 400 use_dpop_nonce with a DPoP-Nonce header: the proof is made again with that nonce, once.
      let dpopNonce: string | undefined;
      const asked = res.headers.get('dpop-nonce');
      if (res.status === 400 && body.error === 'use_dpop_nonce' && asked !== null) {
        dpopNonce = asked;
        res = await requestToken(request, dpopNonce);
        body = (await res.json()) as typeof body;
      }
      if (!res.ok) throw new Error(`token endpoint answered ${res.status} ${body.error}: ${body.error_description}`, { cause: serverError });
      return dpopNonce === undefined ? body : { ...body, dpopNonce };
    },
    logoutTarget(baseUrl) {
      logoutBase = baseUrl;
    },
    async userToken(accountId) {
      if (options.backchannelLogout !== true) throw new Error('startOidcProvider({ backchannelLogout: true }) has the web client');
      const browser = cookieJar(issuer);
      // The authorization request, the login and consent prompts of the development interactions, the code.
      const authorize = `/auth?${new URLSearchParams({ client_id: WEB_CLIENT_ID, response_type: 'code', scope: `openid ${SCOPES}`, redirect_uri: WEB_REDIRECT_URI, resource: RESOURCE })}`;
      let location = (await browser.go(authorize)).headers.get('location') as string;
      location = (await browser.go((await browser.submit(location, { prompt: 'login', login: accountId })).headers.get('location') as string)).headers.get('location') as string;
      location = (await browser.go((await browser.submit(location, { prompt: 'consent' })).headers.get('location') as string)).headers.get('location') as string;
      const code = new URL(location).searchParams.get('code');
      if (code === null) throw new Error(`no code from the provider: ${location}`);
      const res = await fetch(tokenEndpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${WEB_CLIENT_ID}:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: WEB_REDIRECT_URI, resource: RESOURCE }),
      });
      const body = (await res.json()) as TokenResponse & { error?: string };
      if (!res.ok) throw new Error(`token endpoint answered ${res.status} ${body.error}`, { cause: serverError });
      return {
        accessToken: body.access_token,
        async logout() {
          logoutOutcome = undefined;
          // The end-session page's form, then "yes, sign me out": the provider POSTs the logout token before it redirects.
          const page = await (await browser.go('/session/end')).text();
          const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1];
          if (xsrf === undefined) throw new Error('no xsrf on the end-session page');
          await withoutKnownNotices(() => browser.submit('/session/end/confirm', { xsrf, logout: 'yes' }));
          return logoutOutcome ?? { delivered: false, error: new Error('the provider sent no logout token') };
        },
      };
    },
    async prepareRotation() {
      const kid = `rotated-${randomBytes(6).toString('hex')}`;
      const next = [{ ...(await rsaKey()), kid }, ...keys];
      const nextHandler = await provide(next);
      return {
        kid,
        rotate() {
          keys = next;
          handler = nextHandler;
        },
      };
    },
    get jwksRequests() {
      return jwksRequests;
    },
    get introspectionRequests() {
      return introspectionRequests;
    },
    apiClients: Object.fromEntries(Object.entries(API_CLIENTS).map(([kind, clientId]) => [kind, { clientId, clientSecret }])) as OidcProvider['apiClients'],
    async revoke(token) {
      const res = await fetch(`${issuer}/token/revocation`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      });
      if (!res.ok) throw new Error(`revocation endpoint answered ${res.status}`);
    },
    close,
  };
}

/**
 * A DPoP-bound token from `provider` (token_type DPoP, `cnf.jkt` the client's thumbprint) and the
 * client holding its key, to send it to an API with a fresh proof (`proof(client, { method, url,
 * accessToken })`).
 */
export async function dpopBoundToken(provider: OidcProvider, request: Omit<TokenRequest, 'dpop'> = {}): Promise<{ client: DpopClient; token: IssuedToken }> {
  const client = await dpopClient();
  return { client, token: await provider.clientCredentialsToken({ ...request, dpop: client }) };
}

/** A browser's cookies for one origin, enough for the provider's interaction and session cookies. */
function cookieJar(origin: string) {
  const cookies = new Map<string, string>();
  async function go(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (cookies.size > 0) headers.set('cookie', [...cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const res = await fetch(new URL(path, origin), { ...init, headers, redirect: 'manual' });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const at = pair.indexOf('=');
      const name = pair.slice(0, at);
      const value = pair.slice(at + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) cookies.delete(name);
      else cookies.set(name, value);
    }
    return res;
  }
  const submit = (path: string, fields: Record<string, string>) => go(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  return { go, submit };
}
