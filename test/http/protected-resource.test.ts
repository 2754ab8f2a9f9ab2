/**
 * RFC 9728 over HTTP on every adapter: with the verifier's `protectedResource` option, the
 * metadata document is served at /.well-known/oauth-protected-resource (path-suffixed for a
 * resource with a path, §3.1), public and cacheable, and every challenge names it
 * (`resource_metadata`, §5.1); without the option, nothing of it appears. The answers are the
 * same on every adapter.
 */
import type { VerifierOptions } from '@tokenward/core';
import { DPOP_ALGS } from '../support/challenges';
import { bearer } from '../support/fetch';
import { serveOneKey } from '../support/jwks-server';
import { mint } from '../support/tokens';
import { ADAPTERS, loadApp, type SuiteApp } from './app-factory';

const audience = 'https://api.example.com';
const jwks = serveOneKey('ES256', 'k1');
const METADATA = 'https://api.example.com/.well-known/oauth-protected-resource';
const token = (claims: Record<string, unknown> = {}) => mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims });

const seen = new Map<string, unknown[]>();

/** The answer's status, headers (lower-case names) and body text. */
async function rawRequest(base: string, path: string, headers: Record<string, string> | [], method = 'GET') {
  const response = await fetch(`${base}${path}`, { method, headers: Array.isArray(headers) ? {} : headers });
  return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
}

describe.each(ADAPTERS)('the %s adapter', (adapter) => {
  const apps: SuiteApp[] = [];
  const start = async (options: Partial<VerifierOptions>) => {
    const app = await (await loadApp(adapter))({ issuer: jwks.server.issuer, audience, ...options });
    apps.push(app);
    return app;
  };
  const answers: unknown[] = [];
  const notServed = adapter.startsWith('nest') ? 404 : 401;
  beforeAll(() => seen.set(adapter, answers));
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  test('serves the document, public and cacheable, for GET and HEAD', async () => {
    const app = await start({ protectedResource: { resource: audience, scopesSupported: ['read:messages', 'admin'], documentation: 'https://docs.example.com/api', name: 'Example API' } });
    const res = await rawRequest(app.baseUrl, '/.well-known/oauth-protected-resource', []);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('public, max-age=3600');
    const document = JSON.parse(res.body);
    expect(document).toEqual({
      resource: audience,
      authorization_servers: [jwks.server.issuer],
      bearer_methods_supported: ['header'],
      scopes_supported: ['read:messages', 'admin'],
      resource_documentation: 'https://docs.example.com/api',
      resource_name: 'Example API',
      dpop_signing_alg_values_supported: DPOP_ALGS.split(' '),
    });
    const head = await rawRequest(app.baseUrl, '/.well-known/oauth-protected-resource', [], 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    answers.push(res.status, document, res.headers['cache-control'], head.status);
  });

  test('every challenge names the document: a 401 without a token, a 401 for a bad one, a 403', async () => {
    const app = await start({ protectedResource: { resource: audience } });
    const anonymous = await rawRequest(app.baseUrl, '/me', []);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe(`Bearer realm="api", resource_metadata="${METADATA}", DPoP realm="api", algs="${DPOP_ALGS}", resource_metadata="${METADATA}"`);
    const expired = await rawRequest(app.baseUrl, '/me', bearer(token({ exp: 1000, iat: 900 })));
    expect(expired.headers['www-authenticate']).toMatch(new RegExp(`^Bearer realm="api", error="invalid_token", error_description="Token expired", resource_metadata="${METADATA}", DPoP `));
    const weak = await rawRequest(app.baseUrl, '/admin', bearer(token()));
    expect(weak.status).toBe(403);
    expect(weak.headers['www-authenticate']).toContain(`scope="admin", resource_metadata="${METADATA}"`);
    answers.push(anonymous.headers['www-authenticate'], expired.headers['www-authenticate'], weak.headers['www-authenticate']);
  });

  test('a resource with a path: the document is at the path-suffixed well-known URL (§3.1)', async () => {
    const app = await start({ protectedResource: { resource: 'https://api.example.com/v1', authorizationServers: ['https://auth.example.com'] } });
    const res = await rawRequest(app.baseUrl, '/.well-known/oauth-protected-resource/v1', []);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ resource: 'https://api.example.com/v1', authorization_servers: ['https://auth.example.com'] });
    const anonymous = await rawRequest(app.baseUrl, '/me', []);
    expect(anonymous.headers['www-authenticate']).toContain('resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/v1"');
    const unsuffixed = await rawRequest(app.baseUrl, '/.well-known/oauth-protected-resource', []);
    // Not served: on Express and Fastify the path is guarded like any other (401); Nest's guard only runs for its routes (404).
    expect(unsuffixed.status).toBe(notServed);
    answers.push(res.body);
  });

  test('without the option there is no document and no resource_metadata', async () => {
    const app = await start({});
    const res = await rawRequest(app.baseUrl, '/.well-known/oauth-protected-resource', []);
    expect(res.status).toBe(notServed);
    const anonymous = await rawRequest(app.baseUrl, '/me', []);
    expect(anonymous.headers['www-authenticate']).not.toContain('resource_metadata');
  });
});

test('every adapter answered alike', () => {
  const [first, ...others] = ADAPTERS.map((adapter) => seen.get(adapter));
  expect(first?.length).toBe(8);
  for (const other of others) expect(other).toEqual(first);
});

describe('options', () => {
  test('a resource that is not an https URL without query or fragment is a TypeError at construction', async () => {
    const createApp = await loadApp('express');
    for (const resource of ['api.example.com', 'http://api.example.com', 'https://api.example.com/?x=1', 'https://api.example.com/#top', 'https://user:pw@api.example.com']) {
      await expect(createApp({ issuer: jwks.server.issuer, audience, protectedResource: { resource } })).rejects.toThrow(TypeError);
    }
  });
});
