import { createVerifier, pollRevocations, RevocationList, type RevocationFeed } from '@tokenward/core';
import { admin, CLI, decodeJwt, get, JOB, login, post, refresh, revoke, startServer, token, WEB } from './support';

let pollers: RevocationFeed[] = [];
afterEach(() => {
  for (const poller of pollers) poller.stop();
  pollers = [];
});

describe('RFC 7009 token revocation', () => {
  test('a revoked refresh token cannot be used, nor can the other tokens of its grant', async () => {
    const { server } = await startServer();
    const first = await login(server);
    const second = await refresh(server, CLI, first.refresh_token);
    const answer = await revoke(server, CLI, { token: second.body.refresh_token, token_type_hint: 'refresh_token' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(await refresh(server, CLI, second.body.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // §2.1: the access tokens of the grant are invalidated too, through the feed.
    const feed = await get(`${server.url}/revocations`);
    expect(feed.body.revocations).toContainEqual({ type: 'token', jti: decodeJwt(second.body.access_token).payload.jti, exp: expect.any(Number) });
  });

  test('a revoked access token is published on the feed until it expires; the hint is only a hint', async () => {
    const { server } = await startServer();
    const tokens = await login(server, WEB);
    const { jti, exp } = decodeJwt(tokens.access_token).payload;
    expect((await revoke(server, WEB, { token: tokens.access_token, token_type_hint: 'refresh_token' })).status).toBe(200);
    const feed = await get(`${server.url}/revocations`);
    expect(feed.body.revocations).toEqual([{ type: 'token', jti, exp }]);
    // Revoking an access token leaves the grant alone.
    expect((await refresh(server, WEB, tokens.refresh_token)).status).toBe(200);
  });

  test('answers 200 for unknown, malformed and already revoked tokens (§2.2)', async () => {
    const { server } = await startServer();
    const tokens = await login(server);
    expect((await revoke(server, CLI, { token: 'garbage' })).status).toBe(200);
    expect((await revoke(server, CLI, { token: 'a.b.c', token_type_hint: 'access_token' })).status).toBe(200);
    expect((await revoke(server, CLI, { token: tokens.refresh_token, token_type_hint: 'unknown_hint' })).status).toBe(200);
    expect((await revoke(server, CLI, { token: tokens.refresh_token })).status).toBe(200);
  });

  test('a confidential client must authenticate; a client cannot revoke another client’s tokens', async () => {
    const { server } = await startServer();
    const tokens = await login(server, WEB);
    expect(await revoke(server, { id: WEB.id }, { token: tokens.refresh_token })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await revoke(server, CLI, { token: tokens.refresh_token })).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    expect(await revoke(server, CLI, { token: tokens.access_token })).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    expect((await refresh(server, WEB, tokens.refresh_token)).status).toBe(200);
  });

  test('a request without a token is invalid_request', async () => {
    const { server } = await startServer();
    expect(await revoke(server, CLI, {})).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });
});

describe('logout everywhere', () => {
  test('with the user’s access token: every grant of the user ends and a subject entry is published', async () => {
    const { server } = await startServer();
    const laptop = await login(server, CLI);
    const browser = await login(server, WEB);
    const bob = await token(server, CLI, { grant_type: 'password', username: 'bob', password: 'bob-password', scope: 'read:messages offline_access' });
    const answer = await post(`${server.url}/logout-everywhere`, {}, { authorization: `Bearer ${laptop.access_token}` });
    expect(answer).toMatchObject({ status: 200, body: { sub: 'user-alice', grants_revoked: 2 } });
    expect((await refresh(server, CLI, laptop.refresh_token)).status).toBe(400);
    expect((await refresh(server, WEB, browser.refresh_token)).status).toBe(400);
    expect((await refresh(server, CLI, bob.body.refresh_token)).status).toBe(200);
    const feed = await get(`${server.url}/revocations`);
    expect(feed.body.revocations).toContainEqual({ type: 'subject', sub: 'user-alice', before: expect.any(Number) });
  });

  test('needs a valid access token of this server, not yet revoked', async () => {
    const { server } = await startServer();
    const none = await post(`${server.url}/logout-everywhere`, {});
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="oauth"');
    const forged = await post(`${server.url}/logout-everywhere`, {}, { authorization: 'Bearer a.b.c' });
    expect(forged.status).toBe(401);
    const tokens = await login(server);
    expect((await post(`${server.url}/logout-everywhere`, {}, { authorization: `Bearer ${tokens.access_token}` })).status).toBe(200);
    expect((await post(`${server.url}/logout-everywhere`, {}, { authorization: `Bearer ${tokens.access_token}` })).status).toBe(401);
  });

  test('an administrator can log a user out, or revoke everything of a client', async () => {
    const { server } = await startServer();
    const tokens = await login(server, CLI);
    expect(await admin(server, 'POST', '/admin/users/user-alice/logout')).toMatchObject({ status: 200, body: { grants_revoked: 1 } });
    expect((await refresh(server, CLI, tokens.refresh_token)).status).toBe(400);
    expect(await admin(server, 'POST', '/admin/clients/reporting-job/revoke-tokens')).toMatchObject({ status: 200, body: { client_id: 'reporting-job' } });
    const feed = await get(`${server.url}/revocations`);
    expect(feed.body.revocations.map((r: { type: string }) => r.type)).toEqual(['subject', 'client']);
  });
});

describe('the revocation feed', () => {
  test('pages with since and limit; the cursor of the last page is the newest entry', async () => {
    const { server } = await startServer();
    for (const user of ['a', 'b', 'c', 'd', 'e']) await server.logoutEverywhere(`user-${user}`);
    const first = await get(`${server.url}/revocations?limit=2`);
    expect(first.body).toMatchObject({ cursor: '2', has_more: true, feed: expect.any(String) });
    expect(first.body.revocations.map((r: { sub: string }) => r.sub)).toEqual(['user-a', 'user-b']);
    const rest = await get(`${server.url}/revocations?since=2&limit=10`);
    expect(rest.body).toMatchObject({ cursor: '5', has_more: false });
    expect(rest.body.revocations.map((r: { sub: string }) => r.sub)).toEqual(['user-c', 'user-d', 'user-e']);
    const nothingNew = await get(`${server.url}/revocations?since=5`);
    expect(nothingNew.body).toMatchObject({ cursor: '5', has_more: false, revocations: [] });
  });

  test('entries leave the feed once no token they match can still be accepted', async () => {
    const harness = await startServer({ accessTokenTtl: 60 });
    await harness.server.logoutEverywhere('user-alice');
    harness.advance(60 + 300 + 1); // access-token lifetime + the largest clock tolerance
    const feed = await get(`${harness.server.url}/revocations`);
    expect(feed.body).toMatchObject({ cursor: '1', revocations: [] });
  });

  test('a malformed since or limit is refused', async () => {
    const { server } = await startServer();
    expect((await get(`${server.url}/revocations?since=-1`)).status).toBe(400);
    expect((await get(`${server.url}/revocations?since=abc`)).status).toBe(400);
    expect((await get(`${server.url}/revocations?limit=100000`)).status).toBe(400);
  });

  test('resource servers polling it refuse revoked tokens: one by jti, a user’s, a client’s', async () => {
    const { server } = await startServer();
    const list = new RevocationList();
    const verifier = createVerifier({ issuer: server.issuer, audience: server.audience, revocation: list });
    const poller = pollRevocations({ url: server.metadata().revocation_feed_endpoint, list, interval: 50 });
    pollers.push(poller);
    await poller.ready;

    const revokedOne = await login(server, WEB);
    const keptOne = await login(server, WEB);
    const bob = (await token(server, CLI, { grant_type: 'password', username: 'bob', password: 'bob-password' })).body;
    const job = (await token(server, JOB, { grant_type: 'client_credentials' })).body;
    for (const t of [revokedOne.access_token, keptOne.access_token, bob.access_token, job.access_token]) await expect(verifier.verify(t)).resolves.toBeDefined();

    await revoke(server, WEB, { token: revokedOne.access_token });
    await eventually(() => expect(verifier.verify(revokedOne.access_token)).rejects.toMatchObject({ reason: 'token_revoked' }));
    await expect(verifier.verify(keptOne.access_token)).resolves.toBeDefined();

    await server.logoutEverywhere('user-bob');
    server.revokeClientTokens('reporting-job');
    await eventually(() => expect(verifier.verify(bob.access_token)).rejects.toMatchObject({ reason: 'token_revoked' }));
    await eventually(() => expect(verifier.verify(job.access_token)).rejects.toMatchObject({ reason: 'token_revoked' }));
    await expect(verifier.verify(keptOne.access_token)).resolves.toBeDefined();
  });
});

async function eventually(assertion: () => Promise<unknown>, timeout = 3000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
