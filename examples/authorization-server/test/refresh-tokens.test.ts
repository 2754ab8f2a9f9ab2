import { readFileSync } from 'node:fs';
import { CLI, decodeJwt, get, login, refresh, startServer, WEB } from './support';

const DAY = 24 * 60 * 60;

describe('rotation', () => {
  test('each use returns a new refresh token and a new access token; the used one is spent', async () => {
    const { server } = await startServer();
    const first = await login(server);
    const second = await refresh(server, CLI, first.refresh_token);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).toEqual(expect.any(String));
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect(second.body.access_token).not.toBe(first.access_token);
    expect(decodeJwt(second.body.access_token).payload).toMatchObject({ sub: 'user-alice', client_id: 'demo-cli', scope: 'read:messages offline_access' });
    const third = await refresh(server, CLI, second.body.refresh_token);
    expect(third.status).toBe(200);
  });

  test('a narrower scope may be asked for; a wider one is refused without spending the token', async () => {
    const { server } = await startServer();
    const first = await login(server, CLI, 'read:messages admin offline_access');
    const wider = await refresh(server, CLI, first.refresh_token, { scope: 'read:messages admin offline_access write:messages' });
    expect(wider).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
    const narrower = await refresh(server, CLI, first.refresh_token, { scope: 'read:messages' });
    expect(narrower.status).toBe(200);
    expect(narrower.body.scope).toBe('read:messages');
    // The grant keeps its scope: the next refresh may ask for admin again.
    const again = await refresh(server, CLI, narrower.body.refresh_token);
    expect(again.body.scope).toBe('read:messages admin offline_access');
  });

  test('refresh tokens are stored hashed, never as issued', async () => {
    const harness = await startServer();
    const tokens = await login(harness.server);
    const stored = readFileSync(harness.dataFile, 'utf8');
    expect(stored).not.toContain(tokens.refresh_token);
    expect(stored).toContain('"refreshTokens"');
  });
});

describe('reuse detection', () => {
  test('replaying a used refresh token revokes the whole family, the newest refresh token included', async () => {
    const { server } = await startServer();
    const first = await login(server);
    const second = await refresh(server, CLI, first.refresh_token);
    const replay = await refresh(server, CLI, first.refresh_token);
    expect(replay).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(replay.body.error_description).toMatch(/already used/);
    // The attacker or the legitimate client, whoever holds the newest token: it is dead too.
    expect(await refresh(server, CLI, second.body.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  test('the family’s access tokens that are still valid go to the revocation feed', async () => {
    const { server } = await startServer();
    const first = await login(server);
    const second = await refresh(server, CLI, first.refresh_token);
    await refresh(server, CLI, first.refresh_token);
    const feed = await get(`${server.url}/revocations`);
    const jtis = feed.body.revocations.filter((r: { type: string }) => r.type === 'token').map((r: { jti: string }) => r.jti);
    expect(jtis).toEqual(expect.arrayContaining([decodeJwt(first.access_token).payload.jti, decodeJwt(second.body.access_token).payload.jti]));
  });

  test('another family of the same user is not touched', async () => {
    const { server } = await startServer();
    const laptop = await login(server);
    const phone = await login(server);
    await refresh(server, CLI, laptop.refresh_token);
    await refresh(server, CLI, laptop.refresh_token);
    expect((await refresh(server, CLI, phone.refresh_token)).status).toBe(200);
  });
});

describe('client binding', () => {
  test('a public client’s refresh token presented by another client is refused, and stays usable by its own', async () => {
    const { server } = await startServer();
    const tokens = await login(server, CLI);
    expect(await refresh(server, WEB, tokens.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await refresh(server, { id: 'reporting-job', secret: 'reporting-job-secret' }, tokens.refresh_token)).toMatchObject({
      status: 400,
      body: { error: 'unauthorized_client' },
    });
    expect((await refresh(server, CLI, tokens.refresh_token)).status).toBe(200);
  });

  test('a confidential client’s refresh token is useless without its secret', async () => {
    const { server } = await startServer();
    const tokens = await login(server, WEB);
    expect(await refresh(server, { id: WEB.id }, tokens.refresh_token)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await refresh(server, CLI, tokens.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await refresh(server, WEB, tokens.refresh_token)).status).toBe(200);
  });

  test('an unknown refresh token is invalid_grant', async () => {
    const { server } = await startServer();
    expect(await refresh(server, CLI, 'not-a-token')).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });
});

describe('lifetimes', () => {
  test('sliding: a refresh token unused for refreshTokenIdleTtl expires; each use starts a new window', async () => {
    const harness = await startServer({ refreshTokenIdleTtl: 7 * DAY, refreshTokenAbsoluteTtl: 30 * DAY });
    let tokens = await login(harness.server);
    for (let week = 0; week < 3; week++) {
      harness.advance(6 * DAY);
      const next = await refresh(harness.server, CLI, tokens.refresh_token);
      expect(next.status).toBe(200);
      tokens = next.body;
    }
    harness.advance(7 * DAY);
    const idle = await refresh(harness.server, CLI, tokens.refresh_token);
    expect(idle).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(idle.body.error_description).toMatch(/inactivity/);
  });

  test('absolute: however active, no refresh past refreshTokenAbsoluteTtl after the login', async () => {
    const harness = await startServer({ refreshTokenIdleTtl: 7 * DAY, refreshTokenAbsoluteTtl: 20 * DAY });
    let tokens = await login(harness.server);
    for (let i = 0; i < 3; i++) {
      harness.advance(6 * DAY);
      tokens = (await refresh(harness.server, CLI, tokens.refresh_token)).body;
    }
    harness.advance(2 * DAY + 1); // 20 days and a second after the login, 2 days after the last use
    const late = await refresh(harness.server, CLI, tokens.refresh_token);
    expect(late).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(late.body.error_description).toMatch(/absolute/);
  });
});

describe('restarts', () => {
  test('after a restart on the same data file, refresh tokens still work and reuse is still detected', async () => {
    const harness = await startServer();
    const first = await login(harness.server);
    const second = await refresh(harness.server, CLI, first.refresh_token);
    const kid = decodeJwt(second.body.access_token).header.kid;

    const server = await harness.restart();
    const third = await refresh(server, CLI, second.body.refresh_token);
    expect(third.status).toBe(200);
    // Same signing key: tokens from before the restart still verify at the resource servers.
    expect(decodeJwt(third.body.access_token).header.kid).toBe(kid);
    expect(await refresh(server, CLI, first.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await refresh(server, CLI, third.body.refresh_token)).status).toBe(400);
  });

  test('the revocation feed survives a restart with its id and cursor', async () => {
    const harness = await startServer();
    await harness.server.logoutEverywhere('user-alice');
    const before = await get(`${harness.server.url}/revocations`);
    const server = await harness.restart();
    const after = await get(`${server.url}/revocations`);
    expect(after.body).toEqual(before.body);
    expect(after.body.revocations).toHaveLength(1);
  });
});
