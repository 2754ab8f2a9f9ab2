/**
 * Shared Signals push (RFC 8935) over HTTP on every adapter: a transmitter's CAEP session-revoked
 * SET POSTed as application/secevent+jwt to the receiver mounted in each framework's idiom
 * (a media type no framework parses by default), revoking the user's token; refusals alike.
 */
import { securityEvents } from '@tokenward/core';
import { ADAPTERS, loadApp, type SuiteApp } from './app-factory';
import { serveOneKey } from '../support/jwks-server';
import { signSecurityEvent } from '../support/security-events';
import { mint, now } from '../support/tokens';

const audience = 'https://api.example.com';
const receiverAudience = 'https://api.example.com/ssf';
const api = serveOneKey('RS256', 'k1');
const transmitter = serveOneKey('RS256', 't1');
const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';

function set(sub: string, claims: Record<string, unknown> = {}): Promise<string> {
  return signSecurityEvent(transmitter.key, {
    iss: transmitter.server.issuer,
    aud: receiverAudience,
    iat: now(),
    jti: `set-${Math.random().toString(36).slice(2)}`,
    sub_id: { format: 'iss_sub', iss: api.server.issuer, sub },
    events: { [SESSION_REVOKED]: { event_timestamp: now() } },
    ...claims,
  });
}

async function push(app: SuiteApp, body: string, contentType = 'application/secevent+jwt') {
  const response = await fetch(`${app.baseUrl}/ssf/events`, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/json' }, body });
  return { status: response.status, body: await response.text(), language: response.headers.get('content-language') };
}

const answers = new Map<string, unknown[]>();

describe.each(ADAPTERS)('the %s adapter', (adapter) => {
  let app: SuiteApp;
  beforeAll(async () => {
    app = await (await loadApp(adapter))(
      { issuer: api.server.issuer, audience, jwksUri: api.server.jwksUri },
      { receivers: { '/ssf/events': (verifier) => securityEvents({ verifier, transmitter: { issuer: transmitter.server.issuer, jwksUri: transmitter.server.jwksUri }, audience: receiverAudience }) } },
    );
  });
  afterAll(() => app.close());

  test('a session-revoked SET is a 202 with no body, and the user token is refused afterwards', async () => {
    const token = mint(api.key, { issuer: api.server.issuer, audience }, { claims: { sub: `user-${adapter}`, iat: now() - 5 } });
    const me = () => fetch(`${app.baseUrl}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect((await me()).status).toBe(200);
    expect(await push(app, await set(`user-${adapter}`))).toMatchObject({ status: 202, body: '' });
    expect((await me()).status).toBe(401);
  });

  test('refusals are 400 { err, description } with Content-Language, alike on every adapter', async () => {
    const results = [
      await push(app, await set('u', { aud: 'https://elsewhere.example' })),
      await push(app, 'not-a-jwt'),
      await push(app, 'a'.repeat(80 * 1024)),
    ];
    for (const result of results) {
      expect(result.status).toBe(400);
      expect(result.language).toEqual(expect.any(String));
      expect(JSON.parse(result.body)).toEqual({ err: expect.any(String), description: expect.any(String) });
    }
    answers.set(adapter, results);
  });

  test('a SET sent as JSON is a 400 (on Nest, from the platform\'s JSON parser, before the receiver)', async () => {
    expect((await push(app, await set('u'), 'application/json')).status).toBe(400);
  });
});

describe('all adapters', () => {
  test('answer the refusals alike', () => {
    const [first, ...rest] = ADAPTERS.map((adapter) => answers.get(adapter));
    expect(first).toHaveLength(3);
    for (const other of rest) expect(other).toEqual(first);
  });
});
