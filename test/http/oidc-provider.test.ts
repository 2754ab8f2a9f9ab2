/**
 * Interop with a real, certified OpenID provider (oidc-provider, test/support/oidc-provider.ts):
 * tokenward reads the provider's discovery document and JWKS itself, and every adapter answers
 * the provider's client_credentials tokens alike, DPoP-bound tokens obtained with real proofs
 * included (RFC 9449).
 */
import { createVerifier, type TokenwardEvent } from '@tokenward/core';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { ADAPTERS, loadApp, type SuiteApp } from './app-factory';
import { bearer, get } from '../support/fetch';
import { CLIENT_ID, dpopBoundToken, OTHER_RESOURCE, RESOURCE, startOidcProvider, type IssuedToken, type OidcProvider } from '../support/oidc-provider';
import { expectedError } from '../support/challenges';
import { dpopClient, proof, type DpopClient } from '../support/dpop';
import { rawRequest } from '../support/raw-http';

let op: OidcProvider;
// One token of each kind for the whole file, so every adapter answers the very same tokens.
let full: IssuedToken;
let readOnly: IssuedToken;
let otherAudience: IssuedToken;

beforeAll(async () => {
  op = await startOidcProvider();
  [full, readOnly, otherAudience] = await Promise.all([
    op.clientCredentialsToken(),
    op.clientCredentialsToken({ scope: 'read:messages' }),
    op.clientCredentialsToken({ resource: OTHER_RESOURCE }),
  ]);
});
afterAll(() => op?.close());

describe('the provider issues RFC 9068 JWT access tokens', () => {
  test('typed at+jwt, signed under a key of its jwks_uri, for the requested resource only', async () => {
    const metadata = (await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    const { keys } = (await (await fetch(metadata.jwks_uri)).json()) as { keys: Array<{ kid: string }> };
    expect(metadata.issuer).toBe(op.issuer);
    expect(full.token_type).toBe('Bearer');
    const header = decodeProtectedHeader(full.access_token);
    expect(header).toEqual({ alg: 'RS256', typ: 'at+jwt', kid: expect.any(String) });
    expect(keys.map((key) => key.kid)).toContain(header.kid);
    expect(decodeJwt(full.access_token)).toEqual({
      iss: op.issuer,
      aud: RESOURCE,
      sub: CLIENT_ID,
      client_id: CLIENT_ID,
      scope: 'read:messages write:messages admin',
      iat: expect.any(Number),
      exp: expect.any(Number),
      jti: expect.any(String),
    });
    expect(decodeProtectedHeader(otherAudience.access_token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(decodeJwt(otherAudience.access_token).aud).toBe(OTHER_RESOURCE);
  });
});

describe('tokenward finds the provider keys by discovery', () => {
  test('with only issuer and audience, it reads jwks_uri from the metadata and verifies the provider token', async () => {
    const events: TokenwardEvent[] = [];
    const verifier = createVerifier({ issuer: op.issuer, audience: RESOURCE, requireTyp: true, onEvent: (event) => events.push(event) });
    try {
      const token = await verifier.verify(full.access_token, { scopes: ['read:messages', 'admin'] });
      expect(token.issuer).toBe(op.issuer);
      expect(token.subject).toBe(CLIENT_ID);
      expect(token.clientId).toBe(CLIENT_ID);
      expect([...token.scopes].sort()).toEqual(['admin', 'read:messages', 'write:messages']);
      expect(events).toContainEqual(expect.objectContaining({ type: 'keys_refreshed', jwksUri: `${op.issuer}/jwks` }));
      expect(events.filter((event) => event.type !== 'keys_refreshed')).toEqual([]);
    } finally {
      verifier.close();
    }
  });
});

interface Case {
  name: string;
  path: string;
  token: () => IssuedToken;
  status: number;
  body: unknown;
  /** The challenge of a rejection, as TokenwardError writes it. */
  challenge?: string;
}

const rejected = (reason: 'insufficient_scope' | 'audience_mismatch', scope?: string) => expectedError(reason, { scope });

const cases: Case[] = [
  { name: 'a provider token reaches a route needing any valid token', path: '/me', token: () => full, status: 200, body: { user: CLIENT_ID, scopes: ['admin', 'read:messages', 'write:messages'] } },
  { name: 'a provider token with read:messages reaches /messages', path: '/messages', token: () => full, status: 200, body: { user: CLIENT_ID } },
  { name: 'a provider token with admin reaches /admin', path: '/admin', token: () => full, status: 200, body: { user: CLIENT_ID } },
  { name: 'a provider token granted read:messages only reaches /messages', path: '/messages', token: () => readOnly, status: 200, body: { user: CLIENT_ID } },
  {
    name: 'a provider token without admin is a 403 insufficient_scope on /admin',
    path: '/admin',
    token: () => readOnly,
    status: 403,
    body: rejected('insufficient_scope', 'admin').body,
    challenge: rejected('insufficient_scope', 'admin').wwwAuthenticate,
  },
  {
    name: 'a provider token for another resource is a 401 audience_mismatch',
    path: '/me',
    token: () => otherAudience,
    status: 401,
    body: rejected('audience_mismatch').body,
    challenge: rejected('audience_mismatch').wwwAuthenticate,
  },
];

// Every adapter's answers, kept to compare across adapters at the end.
const answers = new Map<string, Map<string, unknown>>();

describe.each(ADAPTERS)('the %s adapter, configured with the provider issuer only', (adapter) => {
  let app: SuiteApp;
  const seen = new Map<string, unknown>();

  beforeAll(async () => {
    app = await (await loadApp(adapter))({ issuer: op.issuer, audience: RESOURCE });
    answers.set(adapter, seen);
  });
  afterAll(() => app?.close());

  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const res = await get(app.baseUrl, c.path, bearer(c.token().access_token));
    expect(res.status).toBe(c.status);
    expect(res.body).toEqual(c.body);
    expect(res.header('www-authenticate') ?? undefined).toBe(c.challenge);
    seen.set(c.name, { status: res.status, challenge: res.header('www-authenticate'), body: res.body });
  });
});

describe('all adapters', () => {
  test('answered every provider token, and identically', () => {
    expect([...answers.keys()]).toEqual([...ADAPTERS]);
    const reference = answers.get('express') as Map<string, unknown>;
    for (const adapter of ADAPTERS) {
      const seen = answers.get(adapter) as Map<string, unknown>;
      expect({ adapter, answered: [...seen.keys()] }).toEqual({ adapter, answered: cases.map((c) => c.name) });
      for (const c of cases) expect({ adapter, case: c.name, answer: seen.get(c.name) }).toEqual({ adapter, case: c.name, answer: reference.get(c.name) });
    }
  });
});

describe('a DPoP-bound token from the provider (RFC 9449)', () => {
  let client: DpopClient;
  let token: IssuedToken;

  beforeAll(async () => {
    ({ client, token } = await dpopBoundToken(op));
  });

  test('is issued as token_type DPoP, after the provider asked for a nonce', () => {
    expect(token.token_type).toBe('DPoP');
    expect(token.dpopNonce).toEqual(expect.any(String));
  });

  test('is bound to the client key: cnf.jkt is its RFC 7638 thumbprint', () => {
    expect(decodeJwt(token.access_token).cnf).toEqual({ jkt: client.jkt });
  });

  describe.each(ADAPTERS)('through the %s adapter', (adapter) => {
    let app: SuiteApp;
    beforeAll(async () => {
      app = await (await loadApp(adapter))({ issuer: op.issuer, audience: RESOURCE });
    });
    afterAll(() => app?.close());

    const withProof = async (path: string, by: DpopClient = client) => {
      const jwt = token.access_token;
      const dpop = await proof(by, { method: 'GET', url: `${app.baseUrl}${path}`, accessToken: jwt });
      const res = await rawRequest(app.baseUrl, path, [['Authorization', `DPoP ${jwt}`], ['DPoP', dpop]]);
      return { status: res.status, challenge: res.headers['www-authenticate'], body: JSON.parse(res.body) as unknown };
    };

    test('is accepted with a fresh proof, and says it is bound to the client key', async () => {
      expect(await withProof('/binding')).toEqual({ status: 200, challenge: undefined, body: { binding: { jkt: client.jkt } } });
      expect(await withProof('/admin')).toEqual({ status: 200, challenge: undefined, body: { user: CLIENT_ID } });
    });

    test('is refused as a Bearer token, and with a proof by another key', async () => {
      const asBearer = await rawRequest(app.baseUrl, '/me', [['Authorization', `Bearer ${token.access_token}`]]);
      expect(asBearer.status).toBe(401);
      expect(asBearer.headers['www-authenticate']).toBe(expectedError('dpop_bound_as_bearer').wwwAuthenticate);
      const thief = await dpopClient();
      expect(await withProof('/me', thief)).toEqual({ status: 401, challenge: expectedError('dpop_key_mismatch', { scheme: 'DPoP' }).wwwAuthenticate, body: expectedError('dpop_key_mismatch').body });
    });
  });
});

describe('a signing key rotated at the provider, which signs with a new key as soon as it publishes it', () => {
  // Short, so that the test waits for one window; the default is 30 s.
  const COOLDOWN = 1_000;

  test('a token under the new kid inside the cooldown is never a 401: 503 key_pending, then 200 once the key set is fetched at the window end, with no request asking', async () => {
    const app = await (await loadApp('express'))({ issuer: op.issuer, audience: RESOURCE, jwks: { cooldown: COOLDOWN } });
    // Made ahead, so that what follows the fetch fits well inside the window.
    const rotation = await op.prepareRotation();
    try {
      // The keys are fetched for a token under the old key.
      expect((await get(app.baseUrl, '/me', bearer(full.access_token))).status).toBe(200);
      const fetched = op.jwksRequests;
      rotation.rotate();
      const rotated = await op.clientCredentialsToken();
      expect(decodeProtectedHeader(rotated.access_token).kid).toBe(rotation.kid);

      for (let i = 0; i < 3; i++) {
        const res = await get(app.baseUrl, '/me', bearer(rotated.access_token));
        expect({ status: res.status, body: res.body }).toEqual({ status: 503, body: { error: 'temporarily_unavailable', error_description: 'Signing key not yet known; retry shortly' } });
        expect(Number(res.header('retry-after'))).toBe(Math.ceil(COOLDOWN / 1000));
      }
      expect(op.jwksRequests).toBe(fetched);

      // No request now: the fetch scheduled for the window end comes by itself.
      const deadline = Date.now() + 3 * COOLDOWN;
      while (op.jwksRequests === fetched && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(op.jwksRequests).toBe(fetched + 1);

      expect(await get(app.baseUrl, '/me', bearer(rotated.access_token))).toMatchObject({ status: 200, body: { user: CLIENT_ID } });
      expect((await get(app.baseUrl, '/me', bearer(full.access_token))).status).toBe(200);
      expect(op.jwksRequests).toBe(fetched + 1);
    } finally {
      await app.close();
    }
  });
});
