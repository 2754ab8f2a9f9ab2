/**
 * Interop with a real, certified OpenID provider (oidc-provider): its OpenID Connect Back-Channel
 * Logout reaches the API. A user logs in at the provider (authorization code, headless), the API
 * accepts the access token (a JWT carrying the session's sid); the user logs out at the provider,
 * which POSTs its logout token to the API's receiver before it answers; the API then refuses the
 * token. Every adapter, each with the receiver mounted in its own idiom.
 */
import { backchannelLogout, type SignalEvent } from '@tokenward/core';
import { decodeJwt } from 'jose';
import { ADAPTERS, loadApp, type SuiteApp } from './app-factory';
import { BACKCHANNEL_LOGOUT_PATH, RESOURCE, startOidcProvider, WEB_CLIENT_ID, type OidcProvider } from '../support/oidc-provider';

let op: OidcProvider;
beforeAll(async () => {
  op = await startOidcProvider({ backchannelLogout: true });
});
afterAll(() => op?.close());

const me = (app: SuiteApp, token: string) => fetch(`${app.baseUrl}/me`, { headers: { authorization: `Bearer ${token}` } });

describe.each(ADAPTERS)('the %s adapter', (adapter) => {
  let app: SuiteApp;
  const events: SignalEvent[] = [];
  beforeAll(async () => {
    app = await (await loadApp(adapter))(
      { issuer: op.issuer, audience: RESOURCE, requireTyp: true },
      { receivers: { [BACKCHANNEL_LOGOUT_PATH]: (verifier) => backchannelLogout({ verifier, clientId: WEB_CLIENT_ID, requireTyp: true, onEvent: (event) => events.push(event) }) } },
    );
    op.logoutTarget(app.baseUrl);
  });
  afterAll(() => app.close());

  test('a logout at the provider makes the API refuse the session token before the provider has answered the user', async () => {
    const session = await op.userToken(`user-${adapter}`);
    const { sid, sub } = decodeJwt(session.accessToken);
    expect(sid).toEqual(expect.any(String));
    expect((await me(app, session.accessToken)).status).toBe(200);

    const started = performance.now();
    const outcome = await session.logout();
    expect(outcome).toEqual({ delivered: true });
    const refused = await me(app, session.accessToken);
    const delay = performance.now() - started;
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toContain('error_description="Token revoked"');
    expect(events).toContainEqual({ type: 'logout_received', issuer: op.issuer, subject: sub, session: sid, repeated: false });
    // The logout POST is made before the provider's answer to the user: well under a second.
    expect(delay).toBeLessThan(5_000);
  });

  test('a user who logs in again after the logout is accepted', async () => {
    // iat is in whole seconds: a token of the logout's own second counts as issued before it.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const later = await op.userToken(`user-${adapter}`);
    expect((await me(app, later.accessToken)).status).toBe(200);
  });
});
