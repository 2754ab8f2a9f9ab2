/**
 * The provider's side of OpenID Connect Back-Channel Logout: sign-in sessions with `sid`, POST
 * /logout, logout tokens sent to registered receivers, checked here both as bytes and by
 * tokenward's own backchannelLogout() on a real node:http server with a real verifier.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { backchannelLogout, createVerifier, pollRevocations, readBody, RevocationList, type RevocationFeed, type Verifier } from '@tokenward/core';
import type { AuthorizationServer } from '../src/index.js';
import { authorize, CLI, decodeJwt, get, JOB, login, pkce, post, refresh, REDIRECT_URI, startServer, token, WEB } from './support';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

interface Receiver {
  url: string;
  /** The requests it got: content type and form body. */
  received: Array<{ contentType: string | undefined; form: URLSearchParams }>;
  close(): Promise<void>;
}

const servers: Server[] = [];
const verifiers: Verifier[] = [];
const feeds: RevocationFeed[] = [];
afterEach(async () => {
  for (const feed of feeds.splice(0)) feed.stop();
  for (const verifier of verifiers.splice(0)) verifier.close();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); })));
});

/** A loopback server recording each request; `handle` answers it (default 200). */
async function receiverServer(handle: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void> = (_req, res) => void res.writeHead(200).end()): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const server = createServer((req, res) => {
    readBody(req, 64 * 1024).then(async (body) => {
      received.push({ contentType: req.headers['content-type'], form: new URLSearchParams(body.toString('utf8')) });
      await handle(req, res, body);
    }, () => res.writeHead(413).end());
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/backchannel-logout`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** An API's verifier for this server's tokens, and tokenward's logout receiver in front of it. */
async function tokenwardApi(server: AuthorizationServer, clientId: string, revokes: 'subject' | 'session' = 'session') {
  const verifier = createVerifier({ issuer: server.issuer, audience: server.audience, revocation: new RevocationList() });
  verifiers.push(verifier);
  const logout = backchannelLogout({ verifier, clientId, revokes, requireTyp: true });
  const receiver = await receiverServer(async (req, res, body) => {
    const answer = await logout.handle({ method: req.method ?? 'POST', contentType: req.headers['content-type'], body });
    res.writeHead(answer.status, answer.headers).end(answer.body);
  });
  server.registerClient({ id: clientId, grantTypes: [], scopes: [], backchannelLogoutUri: receiver.url });
  return { verifier, receiver };
}

async function accepted(verifier: Verifier, accessToken: string): Promise<boolean | string> {
  try {
    await verifier.verify(accessToken);
    return true;
  } catch (error) {
    return (error as { reason: string }).reason;
  }
}

/** alice signs in with the login form (authorization code + PKCE) on demo-web. */
async function signIn(server: AuthorizationServer) {
  const { verifier, challenge } = pkce();
  const { location } = await authorize(server, { client_id: WEB.id, code_challenge: challenge, scope: 'read:messages offline_access' });
  const code = location?.searchParams.get('code');
  if (code === null || code === undefined) throw new Error('no code');
  const answer = await token(server, WEB, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier });
  return answer.body as { access_token: string; refresh_token: string };
}

const logoutWith = (server: AuthorizationServer, accessToken: string) => post(`${server.url}/logout`, {}, { authorization: `Bearer ${accessToken}` });

describe('sign-in sessions', () => {
  test('each sign-in is a session: its access tokens carry its sid, refreshed ones too; a machine token has none', async () => {
    const { server } = await startServer();
    const first = await signIn(server);
    const second = await login(server, CLI);
    const sid = decodeJwt(first.access_token).payload.sid;
    expect(sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(decodeJwt(second.access_token).payload.sid).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(decodeJwt(second.access_token).payload.sid).not.toBe(sid);
    const refreshed = await refresh(server, WEB, first.refresh_token);
    expect(decodeJwt(refreshed.body.access_token).payload.sid).toBe(sid);
    const machine = await token(server, JOB, { grant_type: 'client_credentials' });
    expect(decodeJwt(machine.body.access_token).payload).not.toHaveProperty('sid');
  });

  test('the metadata says back-channel logout is supported, with sid', async () => {
    const { server } = await startServer();
    const metadata = await get(`${server.url}/.well-known/openid-configuration`);
    expect(metadata.body).toMatchObject({ backchannel_logout_supported: true, backchannel_logout_session_supported: true });
  });
});

describe('POST /logout', () => {
  test('ends the session: tokenward refuses its tokens at once, the other session goes on, the grant ends', async () => {
    const { server } = await startServer();
    const api = await tokenwardApi(server, 'messages-api');
    const session = await signIn(server);
    const other = await login(server, CLI);
    expect(await accepted(api.verifier, session.access_token)).toBe(true);

    const answer = await logoutWith(server, session.access_token);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.body).toEqual({ sub: 'user-alice', sid: decodeJwt(session.access_token).payload.sid, grants_revoked: 1, backchannel_logout: [{ client_id: 'messages-api', status: 200 }] });
    // Delivered before the answer: nothing to wait for.
    expect(await accepted(api.verifier, session.access_token)).toBe('token_revoked');
    expect(await accepted(api.verifier, other.access_token)).toBe(true);
    expect(await refresh(server, WEB, session.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await refresh(server, CLI, other.refresh_token)).status).toBe(200);
  });

  test('the logout token: typ logout+jwt, under a published key; iss, aud, iat, exp, jti, sub, sid, the event; no nonce', async () => {
    const { server } = await startServer();
    const first = await receiverServer();
    const second = await receiverServer();
    server.registerClient({ id: 'api-1', grantTypes: [], scopes: [], backchannelLogoutUri: first.url });
    server.registerClient({ id: 'api-2', grantTypes: [], scopes: [], backchannelLogoutUri: second.url });
    const session = await login(server, CLI);
    const { sid } = decodeJwt(session.access_token).payload;
    const before = Math.floor(Date.now() / 1000);
    expect((await logoutWith(server, session.access_token)).status).toBe(200);

    const tokens = [first, second].map((receiver) => {
      expect(receiver.received).toHaveLength(1);
      const [request] = receiver.received;
      expect(request?.contentType).toBe('application/x-www-form-urlencoded');
      expect([...(request?.form.keys() ?? [])]).toEqual(['logout_token']);
      return decodeJwt(request?.form.get('logout_token') ?? '');
    });
    const jwks = await get(`${server.url}/jwks.json`);
    for (const [index, { header, payload }] of tokens.entries()) {
      expect(header).toEqual({ alg: 'ES256', typ: 'logout+jwt', kid: expect.any(String) });
      expect(jwks.body.keys.map((key: { kid: string }) => key.kid)).toContain(header.kid);
      expect(payload).toEqual({ iss: server.issuer, aud: `api-${index + 1}`, iat: expect.any(Number), exp: (payload.iat as number) + 120, jti: expect.any(String), sub: 'user-alice', sid, events: { [EVENT]: {} } });
      expect(payload.iat).toBeGreaterThanOrEqual(before);
    }
    expect(tokens[0]?.payload.jti).not.toBe(tokens[1]?.payload.jti);
  });

  test('publishes a session entry on the feed, so a resource server without a receiver refuses the tokens within a poll', async () => {
    const { server } = await startServer();
    const session = await signIn(server);
    const other = await login(server, CLI);
    const revocation = new RevocationList();
    const verifier = createVerifier({ issuer: server.issuer, audience: server.audience, revocation });
    verifiers.push(verifier);
    const feed = pollRevocations({ url: `${server.url}/revocations`, list: revocation, interval: 50 });
    feeds.push(feed);
    await feed.ready;
    expect(await accepted(verifier, session.access_token)).toBe(true);

    expect(await logoutWith(server, session.access_token)).toMatchObject({ status: 200, body: { backchannel_logout: [] } });
    const page = await get(`${server.url}/revocations`);
    expect(page.body.revocations).toEqual([{ type: 'session', sid: decodeJwt(session.access_token).payload.sid, before: expect.any(Number) }]);
    const deadline = Date.now() + 2000;
    while ((await accepted(verifier, session.access_token)) === true && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await accepted(verifier, session.access_token)).toBe('token_revoked');
    expect(await accepted(verifier, other.access_token)).toBe(true);
  });

  test('a token of no session is a 400; no token, or a revoked one, a 401', async () => {
    const { server } = await startServer();
    const receiver = await receiverServer();
    server.registerClient({ id: 'api', grantTypes: [], scopes: [], backchannelLogoutUri: receiver.url });
    const machine = await token(server, JOB, { grant_type: 'client_credentials' });
    expect(await logoutWith(server, machine.body.access_token)).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(await post(`${server.url}/logout`, {})).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    const session = await login(server, CLI);
    expect((await logoutWith(server, session.access_token)).status).toBe(200);
    expect(await logoutWith(server, session.access_token)).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
    expect(receiver.received).toHaveLength(1);
  });

  test('a receiver failing, redirecting, down or slow does not undo the logout; each failure is reported', async () => {
    const events: Array<{ type: string; [key: string]: unknown }> = [];
    // Long enough for the receivers that answer, on a loaded machine; the slow one never does.
    const { server } = await startServer({ backchannelLogoutTimeout: 2000, onEvent: (event) => events.push(event) });
    const target = await receiverServer();
    const failing = await receiverServer((_req, res) => void res.writeHead(500).end('{"error":"x"}'));
    const redirecting = await receiverServer((_req, res) => void res.writeHead(307, { location: target.url }).end());
    const slow = await receiverServer(() => new Promise<void>(() => undefined));
    const down = await receiverServer();
    await down.close();
    const ok = await receiverServer();
    for (const [id, receiver] of Object.entries({ failing, redirecting, slow, down, ok })) {
      server.registerClient({ id, grantTypes: [], scopes: [], backchannelLogoutUri: receiver.url });
    }
    const session = await signIn(server);
    const answer = await logoutWith(server, session.access_token);
    expect(answer.status).toBe(200);
    expect(answer.body.backchannel_logout).toEqual([
      { client_id: 'failing', status: 500 },
      { client_id: 'redirecting', status: 307 },
      { client_id: 'slow', error: 'timeout' },
      { client_id: 'down', error: 'network' },
      { client_id: 'ok', status: 200 },
    ]);
    // The redirect was not followed.
    expect(target.received).toHaveLength(0);
    expect(await refresh(server, WEB, session.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(events.filter((e) => e.type === 'backchannel_logout_failed').map((e) => e.client_id).sort()).toEqual(['down', 'failing', 'redirecting', 'slow']);
    expect(events.filter((e) => e.type === 'backchannel_logout_delivered')).toEqual([{ type: 'backchannel_logout_delivered', client_id: 'ok', status: 200, sub: 'user-alice', sid: decodeJwt(session.access_token).payload.sid }]);
  });
});

describe('logout everywhere', () => {
  test('sends a logout token with sub alone: tokenward ends every session of the user', async () => {
    const { server } = await startServer();
    const api = await tokenwardApi(server, 'messages-api');
    const web = await signIn(server);
    const cli = await login(server, CLI);
    const answer = await post(`${server.url}/logout-everywhere`, {}, { authorization: `Bearer ${cli.access_token}` });
    expect(answer.body).toEqual({ sub: 'user-alice', grants_revoked: 2, backchannel_logout: [{ client_id: 'messages-api', status: 200 }] });
    const [request] = api.receiver.received;
    const { payload } = decodeJwt(request?.form.get('logout_token') ?? '');
    expect(payload.sub).toBe('user-alice');
    expect(payload).not.toHaveProperty('sid');
    expect(await accepted(api.verifier, web.access_token)).toBe('token_revoked');
    expect(await accepted(api.verifier, cli.access_token)).toBe('token_revoked');
  });
});

describe('registering a receiver', () => {
  test('backchannelLogoutUri must be an absolute http(s) URI without a fragment', async () => {
    const { server } = await startServer();
    for (const uri of ['/backchannel-logout', 'ftp://api.example.com/logout', 'https://api.example.com/logout#x', 'not a uri']) {
      expect(() => server.registerClient({ id: 'api', grantTypes: [], scopes: [], backchannelLogoutUri: uri })).toThrow(TypeError);
    }
    expect(() => server.registerClient({ id: 'api', grantTypes: [], scopes: [], backchannelLogoutUri: 'https://api.example.com:8443/logout?tenant=1' })).not.toThrow();
  });
});
