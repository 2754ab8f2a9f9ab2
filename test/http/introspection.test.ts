/**
 * Opaque access tokens from a real, certified provider (oidc-provider, test/support/oidc-provider.ts),
 * judged by its RFC 7662 introspection endpoint: every adapter answers the same opaque tokens
 * alike, beside the provider's JWTs, which are still verified locally; revocation at the provider,
 * DPoP-bound opaque tokens, client_secret_post and signed answers (RFC 9701) included.
 */
import { randomBytes } from 'node:crypto';
import { createVerifier, type TokenwardEvent, type VerifierOptions } from '@tokenward/core';
import { ADAPTERS, loadApp, type SuiteApp } from './app-factory';
import { bearer, get } from '../support/fetch';
import { expectedError } from '../support/challenges';
import { proof, dpopClient } from '../support/dpop';
import { rawRequest } from '../support/raw-http';
import { CLIENT_ID, dpopBoundToken, OPAQUE_RESOURCE, RESOURCE, startOidcProvider, type IssuedToken, type OidcProvider } from '../support/oidc-provider';
import { refuses } from '../support/observe';

let op: OidcProvider;
let full: IssuedToken;
let readOnly: IssuedToken;
let revoked: IssuedToken;
let jwt: IssuedToken;
let bound: Awaited<ReturnType<typeof dpopBoundToken>>;

const options = (): VerifierOptions => ({ issuer: op.issuer, audience: [OPAQUE_RESOURCE, RESOURCE], introspection: op.apiClients.basic });

beforeAll(async () => {
  op = await startOidcProvider();
  [full, readOnly, revoked, jwt, bound] = await Promise.all([
    op.clientCredentialsToken({ resource: OPAQUE_RESOURCE }),
    op.clientCredentialsToken({ resource: OPAQUE_RESOURCE, scope: 'read:messages' }),
    op.clientCredentialsToken({ resource: OPAQUE_RESOURCE }),
    op.clientCredentialsToken({ resource: RESOURCE }),
    dpopBoundToken(op, { resource: OPAQUE_RESOURCE }),
  ]);
  await op.revoke(revoked.access_token);
});
afterAll(() => op?.close());

describe('the provider issues opaque tokens for OPAQUE_RESOURCE and introspects them', () => {
  test('an opaque token is no JWT, and the introspection answer names the resource, scopes and type', async () => {
    expect(full.access_token).not.toContain('.');
    const { clientId, clientSecret } = op.apiClients.basic;
    const res = await fetch(`${op.issuer}/token/introspection`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: full.access_token }),
    });
    expect(await res.json()).toMatchObject({ active: true, aud: OPAQUE_RESOURCE, client_id: CLIENT_ID, iss: op.issuer, scope: 'read:messages write:messages admin', token_type: 'Bearer' });
  });
});

interface Case {
  name: string;
  path: string;
  token: () => string;
  status: number;
  reason?: Parameters<typeof expectedError>[0];
  scope?: string;
  body?: unknown;
}

const cases: Case[] = [
  { name: 'an opaque token reaches a route needing any valid token', path: '/me', token: () => full.access_token, status: 200, body: { scopes: ['admin', 'read:messages', 'write:messages'] } },
  { name: 'an opaque token with admin reaches /admin', path: '/admin', token: () => full.access_token, status: 200 },
  { name: 'an opaque token granted read:messages only reaches /messages', path: '/messages', token: () => readOnly.access_token, status: 200 },
  { name: 'an opaque token without admin is a 403 insufficient_scope on /admin', path: '/admin', token: () => readOnly.access_token, status: 403, reason: 'insufficient_scope', scope: 'admin' },
  { name: 'an opaque token revoked at the provider is a 401 token_inactive', path: '/me', token: () => revoked.access_token, status: 401, reason: 'token_inactive' },
  { name: 'a made-up opaque token is a 401 token_inactive', path: '/me', token: () => randomBytes(32).toString('base64url'), status: 401, reason: 'token_inactive' },
  { name: 'a DPoP-bound opaque token presented as Bearer is a 401 dpop_bound_as_bearer', path: '/me', token: () => bound.token.access_token, status: 401, reason: 'dpop_bound_as_bearer' },
  { name: 'a provider JWT beside them is verified locally and reaches /admin', path: '/admin', token: () => jwt.access_token, status: 200 },
];

const answers = new Map<string, Map<string, unknown>>();

describe.each(ADAPTERS)('the %s adapter, with introspection as the provider resource server client', (adapter) => {
  let app: SuiteApp;
  const seen = new Map<string, unknown>();

  beforeAll(async () => {
    app = await (await loadApp(adapter))(options());
    answers.set(adapter, seen);
  });
  afterAll(() => app?.close());

  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const res = await get(app.baseUrl, c.path, bearer(c.token()));
    expect(res.status).toBe(c.status);
    if (c.reason !== undefined) {
      const expected = expectedError(c.reason, { scope: c.scope });
      expect(res.body).toEqual(expected.body);
      expect(res.header('www-authenticate')).toBe(expected.wwwAuthenticate);
    } else if (c.body !== undefined) {
      expect(res.body).toMatchObject(c.body as object);
    }
    seen.set(c.name, { status: res.status, challenge: res.header('www-authenticate'), body: res.body });
  });

  test('a DPoP-bound opaque token with a fresh proof by its key is accepted, and says so', async () => {
    const path = '/binding';
    const dpop = await proof(bound.client, { method: 'GET', url: `${app.baseUrl}${path}`, accessToken: bound.token.access_token });
    const res = await rawRequest(app.baseUrl, path, [['Authorization', `DPoP ${bound.token.access_token}`], ['DPoP', dpop]]);
    expect({ status: res.status, body: JSON.parse(res.body) as unknown }).toEqual({ status: 200, body: { binding: { jkt: bound.client.jkt } } });
    const thief = await dpopClient();
    const stolen = await proof(thief, { method: 'GET', url: `${app.baseUrl}${path}`, accessToken: bound.token.access_token });
    expect((await rawRequest(app.baseUrl, path, [['Authorization', `DPoP ${bound.token.access_token}`], ['DPoP', stolen]])).status).toBe(401);
  });

  test('a provider JWT is verified by its signature: the provider is not asked', async () => {
    const before = op.introspectionRequests;
    expect((await get(app.baseUrl, '/me', bearer(jwt.access_token))).status).toBe(200);
    expect(op.introspectionRequests).toBe(before);
  });

  test('a hundred concurrent requests with one new opaque token make one introspection', async () => {
    const token = (await op.clientCredentialsToken({ resource: OPAQUE_RESOURCE })).access_token;
    const before = op.introspectionRequests;
    const statuses = await Promise.all(Array.from({ length: 100 }, async () => (await get(app.baseUrl, '/me', bearer(token))).status));
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(op.introspectionRequests - before).toBe(1);
  });
});

describe('all adapters', () => {
  test('answered every opaque token, and identically', () => {
    expect([...answers.keys()]).toEqual([...ADAPTERS]);
    const reference = answers.get('express') as Map<string, unknown>;
    for (const adapter of ADAPTERS) {
      const seen = answers.get(adapter) as Map<string, unknown>;
      expect({ adapter, answered: [...seen.keys()] }).toEqual({ adapter, answered: cases.map((c) => c.name) });
      for (const c of cases) {
        // A made-up token differs per run; its answer does not.
        expect({ adapter, case: c.name, answer: seen.get(c.name) }).toEqual({ adapter, case: c.name, answer: reference.get(c.name) });
      }
    }
  });
});

describe('the introspection options against the provider', () => {
  test('the endpoint comes from its metadata, and ready() proves the client credentials', async () => {
    const verifier = createVerifier(options());
    try {
      await verifier.ready();
      expect((await verifier.verify(full.access_token)).verifiedBy).toBe('introspection');
      const wrong = createVerifier({ ...options(), introspection: { ...op.apiClients.basic, clientSecret: 'not-the-secret' } });
      await expect(wrong.ready()).rejects.toThrow(/HTTP 401/);
      wrong.close();
    } finally {
      verifier.close();
    }
  });

  test('client_secret_post, as the provider registered that client', async () => {
    const verifier = createVerifier({ ...options(), introspection: { ...op.apiClients.post, clientAuthentication: 'client_secret_post' } });
    try {
      expect([...(await verifier.verify(full.access_token)).scopes].sort()).toEqual(['admin', 'read:messages', 'write:messages']);
    } finally {
      verifier.close();
    }
  });

  test('signed answers (RFC 9701), verified with the provider JWKS', async () => {
    const events: TokenwardEvent[] = [];
    const verifier = createVerifier({ ...options(), introspection: { ...op.apiClients.signed, signedResponse: true }, onEvent: (event) => events.push(event) });
    try {
      expect((await verifier.verify(full.access_token)).clientId).toBe(CLIENT_ID);
      await refuses(verifier.verify(revoked.access_token), 'token_inactive');
      expect(events.filter((event) => event.type === 'introspection_failed')).toEqual([]);
    } finally {
      verifier.close();
    }
  });

  test('a revocation at the provider counts at the next request without a cache, and at maxAge with one', async () => {
    const token = (await op.clientCredentialsToken({ resource: OPAQUE_RESOURCE })).access_token;
    const uncached = createVerifier({ ...options(), introspection: { ...op.apiClients.basic, cache: false } });
    const cached = createVerifier(options());
    try {
      await uncached.verify(token);
      await cached.verify(token);
      await op.revoke(token);
      await refuses(uncached.verify(token), 'token_inactive');
      await expect(cached.verify(token)).resolves.toMatchObject({ verifiedBy: 'introspection' });
    } finally {
      uncached.close();
      cached.close();
    }
  });

  test("tokens: 'all' sends the provider JWTs too, which this provider refuses to introspect: 503, never a 401", async () => {
    const verifier = createVerifier({ ...options(), introspection: { ...op.apiClients.basic, tokens: 'all' } });
    try {
      await refuses(verifier.verify(jwt.access_token), 'introspection_unavailable', 503);
      expect((await verifier.verify(full.access_token)).verifiedBy).toBe('introspection');
    } finally {
      verifier.close();
    }
  });
});
