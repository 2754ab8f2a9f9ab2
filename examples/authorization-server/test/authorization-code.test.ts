import { authorize, CLI, get, pkce, REDIRECT_URI, refresh, startServer, token, WEB } from './support';

function exchange(server: Parameters<typeof token>[0], client: { id: string; secret?: string }, code: string, verifier: string, redirectUri = REDIRECT_URI) {
  return token(server, client, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri });
}

describe('the authorization endpoint', () => {
  test('GET shows a login form carrying the request', async () => {
    const { server } = await startServer();
    const { challenge } = pkce();
    const query = new URLSearchParams({ response_type: 'code', client_id: CLI.id, redirect_uri: REDIRECT_URI, code_challenge: challenge, code_challenge_method: 'S256', state: 's<1>' });
    const page = await get(`${server.url}/authorize?${query}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).toContain(`value="${challenge}"`);
    expect(page.body).toContain('value="s&#60;1&#62;"');
  });

  test('a successful login redirects to the client with a code, the state and the issuer (RFC 9207)', async () => {
    const { server } = await startServer();
    const { location } = await authorize(server, { client_id: CLI.id, code_challenge: pkce().challenge });
    expect(location?.origin + (location?.pathname ?? '')).toBe(REDIRECT_URI);
    expect(location?.searchParams.get('code')).toEqual(expect.any(String));
    expect(location?.searchParams.get('state')).toBe('xyz');
    expect(location?.searchParams.get('iss')).toBe(server.issuer);
  });

  test('a wrong password shows the form again, without redirecting', async () => {
    const { server } = await startServer();
    const { answer, location } = await authorize(server, { client_id: CLI.id, code_challenge: pkce().challenge }, { username: 'alice', password: 'nope' });
    expect(answer.status).toBe(401);
    expect(location).toBeUndefined();
  });

  test('an unknown client or an unregistered redirect_uri is never redirected to', async () => {
    const { server } = await startServer();
    const unknown = await authorize(server, { client_id: 'nobody', code_challenge: pkce().challenge });
    expect(unknown.answer.status).toBe(400);
    expect(unknown.location).toBeUndefined();
    const evil = await authorize(server, { client_id: CLI.id, code_challenge: pkce().challenge, redirect_uri: 'http://127.0.0.1/callback/../evil' });
    expect(evil.answer.status).toBe(400);
    expect(evil.location).toBeUndefined();
  });

  test('PKCE is required, with S256: a request without it, or with plain, is sent back with invalid_request', async () => {
    const { server } = await startServer();
    const { verifier } = pkce();
    const missing = await authorize(server, { client_id: CLI.id });
    expect(missing.location?.searchParams.get('error')).toBe('invalid_request');
    const plain = await authorize(server, { client_id: CLI.id, code_challenge: verifier, code_challenge_method: 'plain' });
    expect(plain.location?.searchParams.get('error')).toBe('invalid_request');
    expect(plain.location?.searchParams.get('code')).toBeNull();
  });
});

describe('the authorization_code grant', () => {
  test('a public client exchanges its code with the right verifier', async () => {
    const { server } = await startServer();
    const { verifier, challenge } = pkce();
    const { location } = await authorize(server, { client_id: CLI.id, code_challenge: challenge, scope: 'read:messages offline_access' });
    const answer = await exchange(server, CLI, location?.searchParams.get('code') ?? '', verifier);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ token_type: 'Bearer', scope: 'read:messages offline_access', refresh_token: expect.any(String) });
  });

  test('a confidential client must also authenticate', async () => {
    const { server } = await startServer();
    const { verifier, challenge } = pkce();
    const { location } = await authorize(server, { client_id: WEB.id, code_challenge: challenge });
    const code = location?.searchParams.get('code') ?? '';
    expect(await exchange(server, { id: WEB.id }, code, verifier)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect((await exchange(server, WEB, code, verifier)).status).toBe(200);
  });

  test('a wrong code_verifier is refused', async () => {
    const { server } = await startServer();
    const { challenge } = pkce();
    const { location } = await authorize(server, { client_id: CLI.id, code_challenge: challenge });
    const answer = await exchange(server, CLI, location?.searchParams.get('code') ?? '', pkce().verifier);
    expect(answer).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  test('the code is bound to its client and redirect_uri', async () => {
    const { server } = await startServer();
    const { verifier, challenge } = pkce();
    const { location } = await authorize(server, { client_id: CLI.id, code_challenge: challenge });
    const code = location?.searchParams.get('code') ?? '';
    expect(await exchange(server, WEB, code, verifier)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await exchange(server, CLI, code, verifier, 'http://127.0.0.1/other')).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await exchange(server, CLI, code, verifier)).status).toBe(200);
  });

  test('a code used twice is refused and revokes the tokens it gave (RFC 6749 §4.1.2)', async () => {
    const { server } = await startServer();
    const { verifier, challenge } = pkce();
    const { location } = await authorize(server, { client_id: CLI.id, code_challenge: challenge, scope: 'read:messages offline_access' });
    const code = location?.searchParams.get('code') ?? '';
    const first = await exchange(server, CLI, code, verifier);
    const second = await exchange(server, CLI, code, verifier);
    expect(second).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect(await refresh(server, CLI, first.body.refresh_token)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const feed = await get(`${server.url}/revocations`);
    const jti = JSON.parse(Buffer.from(first.body.access_token.split('.')[1], 'base64url').toString()).jti;
    expect(feed.body.revocations).toContainEqual({ type: 'token', jti, exp: expect.any(Number) });
  });

  test('a code expires after authorizationCodeTtl', async () => {
    const harness = await startServer({ authorizationCodeTtl: 60 });
    const { verifier, challenge } = pkce();
    const { location } = await authorize(harness.server, { client_id: CLI.id, code_challenge: challenge });
    harness.advance(61);
    expect(await exchange(harness.server, CLI, location?.searchParams.get('code') ?? '', verifier)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });
});
