/**
 * A real, certified OpenID provider for interop tests: oidc-provider (panva) on 127.0.0.1, in this
 * process, over plain http (tokenward allows http for loopback only). One confidential client gets
 * JWT access tokens with the client_credentials grant, for the resource it names (RFC 8707), as
 * Bearer tokens or, with a DPoP proof at the token endpoint, DPoP-bound (RFC 9449).
 *
 * Configuration is the least this needs; what is left out on purpose: findAccount (no end-user
 * is involved in client_credentials), cookies.keys and interactions (no browser flows), an
 * adapter (the in-memory default fits one short-lived process).
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
/** Every scope both APIs define, and what the client asks for by default. */
export const SCOPES = 'read:messages write:messages admin';

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
  close(): Promise<void>;
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

export async function startOidcProvider(): Promise<OidcProvider> {
  // Evaluated here, not at the top of the file: its import-time notice is caught like the others.
  const { Provider, errors } = await withoutKnownNotices(() => import('oidc-provider'));
  let keys = await signingKeys();
  let jwksRequests = 0;
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
    ],
    // 5 min, under tokenward's maxTokenLifetime; set because the default function prints a notice.
    ttl: { ClientCredentials: 300 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Without a resource the token would be opaque; these two APIs get JWTs with `aud` = the
        // resource. Scopes a resource does not define are dropped from its tokens.
        getResourceServerInfo: async (_ctx, resource) => {
          if (resource === RESOURCE) return { scope: SCOPES, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
          if (resource === OTHER_RESOURCE) return { scope: SCOPES, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } };
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
  // A 500 from the provider carries no detail; its server_error event does, for the rejection.
  let serverError: unknown;
  const provide = async (jwks: JWK[]) => {
    const provider = await withoutKnownNotices(async () => new Provider(issuer, configuration(jwks)));
    provider.on('server_error', (_ctx, error) => {
      serverError = error;
    });
    return provider.callback();
  };
  let handler: Awaited<ReturnType<typeof provide>>;
  try {
    handler = await provide(keys);
    server.on('request', (req, res) => {
      if (req.url === '/jwks') jwksRequests++;
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
