/**
 * Back-Channel Logout over HTTP on every adapter: the receiver mounted in each framework's idiom
 * (AppSettings.receivers), a provider's POST revoking the session, and the same answers everywhere
 * for the same requests, whatever body parsers the platform has.
 */
import { backchannelLogout } from '@tokenward/core';
import { ADAPTERS, loadApp, type SuiteApp } from './app-factory';
import { serveOneKey } from '../support/jwks-server';
import { logoutForm, logoutToken as mintLogoutToken } from '../support/logout';
import { mint, now } from '../support/tokens';

const audience = 'https://api.example.com';
const clientId = 'suite-client';
const jwks = serveOneKey('RS256', 'k1');

const logoutToken = (claims: Record<string, unknown> = {}) => mintLogoutToken({ key: jwks.key, issuer: jwks.server.issuer, clientId, claims });

interface Answer {
  status: number;
  body: string;
  cacheControl: string | null;
  contentType: string | null;
}

async function post(app: SuiteApp, body: string, contentType = 'application/x-www-form-urlencoded'): Promise<Answer> {
  const response = await fetch(`${app.baseUrl}/backchannel-logout`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, body: await response.text(), cacheControl: response.headers.get('cache-control'), contentType: response.headers.get('content-type')?.split(';')[0] ?? null };
}

const form = logoutForm;
const answers = new Map<string, Answer[]>();

describe.each(ADAPTERS)('the %s adapter', (adapter) => {
  let app: SuiteApp;
  beforeAll(async () => {
    const createApp = await loadApp(adapter);
    app = await createApp(
      { issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri },
      { receivers: { '/backchannel-logout': (verifier) => backchannelLogout({ verifier, clientId }) } },
    );
  });
  afterAll(() => app.close());

  test('a logout POSTed by the provider revokes the session: the next request with its access token is a 401', async () => {
    const token = mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims: { sid: 'session-1', iat: now() - 5 } });
    const me = () => fetch(`${app.baseUrl}/me`, { headers: { authorization: `Bearer ${token}` } });
    expect((await me()).status).toBe(200);

    const logout = await post(app, form(logoutToken()));
    expect(logout).toEqual({ status: 200, body: '', cacheControl: 'no-store', contentType: null });

    const refused = await me();
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('error_description="Token revoked"');
  });

  test('bad requests are 400 invalid_request with the same bodies on every adapter, never a 500', async () => {
    const results = [
      await post(app, form(logoutToken({ aud: 'another-client' }))),
      await post(app, form(logoutToken({ nonce: 'n' }))),
      await post(app, 'logout_token=not-a-jwt'),
      await post(app, 'other=1'),
      await post(app, JSON.stringify({ logout_token: logoutToken() }), 'application/json'),
      await post(app, form(logoutToken()), 'text/plain'),
      await post(app, `logout_token=${'a'.repeat(80 * 1024)}`),
    ];
    for (const result of results) {
      expect(result.status).toBe(400);
      expect(result.cacheControl).toBe('no-store');
      expect(JSON.parse(result.body)).toMatchObject({ error: 'invalid_request', error_description: expect.any(String) });
    }
    answers.set(adapter, results);
  });
});

describe('all adapters', () => {
  test('answer the bad requests alike', () => {
    const [first, ...rest] = ADAPTERS.map((adapter) => answers.get(adapter));
    expect(first).toHaveLength(7);
    for (const other of rest) expect(other).toEqual(first);
  });
});
