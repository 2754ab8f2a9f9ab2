import { createVerifier } from '@tokenward/core';
import { basic, CLI, decodeJwt, get, JOB, login, post, startServer, token, WEB } from './support';

describe('metadata and keys', () => {
  test('the same metadata is served at both well-known locations, naming this issuer', async () => {
    const { server } = await startServer();
    const oidc = await get(`${server.url}/.well-known/openid-configuration`);
    const rfc8414 = await get(`${server.url}/.well-known/oauth-authorization-server`);
    expect(oidc.status).toBe(200);
    expect(rfc8414.body).toEqual(oidc.body);
    expect(oidc.body).toMatchObject({
      issuer: server.issuer,
      jwks_uri: `${server.issuer}/jwks.json`,
      token_endpoint: `${server.issuer}/token`,
      revocation_endpoint: `${server.issuer}/revoke`,
      revocation_feed_endpoint: `${server.issuer}/revocations`,
      code_challenge_methods_supported: ['S256'],
    });
  });

  test('the JWKS publishes public members only', async () => {
    const { server } = await startServer();
    const jwks = await get(`${server.url}/jwks.json`);
    expect(jwks.headers.get('content-type')).toBe('application/jwk-set+json');
    expect(jwks.body.keys).toHaveLength(1);
    expect(jwks.body.keys[0]).toEqual({ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: expect.any(String), alg: 'ES256', use: 'sig' });
  });
});

describe('access tokens', () => {
  test('are RFC 9068 JWTs that tokenward accepts with requireTyp', async () => {
    const { server } = await startServer();
    const tokens = await login(server);
    const { header, payload } = decodeJwt(tokens.access_token);
    expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: expect.any(String) });
    expect(payload).toEqual({
      iss: server.issuer,
      sub: 'user-alice',
      aud: server.audience,
      client_id: 'demo-cli',
      scope: 'read:messages offline_access',
      // The sign-in session (back-channel logout ends it).
      sid: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      jti: expect.any(String),
      iat: expect.any(Number),
      exp: (payload.iat as number) + 300,
    });
    const verifier = createVerifier({ issuer: server.issuer, audience: server.audience, requireTyp: true });
    const verified = await verifier.verify(tokens.access_token, { scopes: ['read:messages'] });
    expect(verified.clientId).toBe('demo-cli');
  });

  test('live as long as accessTokenTtl says', async () => {
    const { server } = await startServer({ accessTokenTtl: 3 });
    const tokens = await login(server);
    const { payload } = decodeJwt(tokens.access_token);
    expect(tokens.expires_in).toBe(3);
    expect((payload.exp as number) - (payload.iat as number)).toBe(3);
  });

  test('token answers are never cached', async () => {
    const { server } = await startServer();
    const answer = await token(server, CLI, { grant_type: 'password', username: 'alice', password: 'alice-password' });
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect(answer.body.token_type).toBe('Bearer');
  });
});

describe('the password grant', () => {
  test('gives a refresh token only when offline_access is asked for', async () => {
    const { server } = await startServer();
    const without = await token(server, CLI, { grant_type: 'password', username: 'alice', password: 'alice-password', scope: 'read:messages' });
    expect(without.status).toBe(200);
    expect(without.body.refresh_token).toBeUndefined();
    const withOffline = await login(server);
    expect(withOffline.refresh_token).toEqual(expect.any(String));
  });

  test('without a scope grants the user’s scopes but not offline_access', async () => {
    const { server } = await startServer();
    const answer = await token(server, CLI, { grant_type: 'password', username: 'alice', password: 'alice-password' });
    expect(answer.body.scope).toBe('read:messages admin');
    expect(answer.body.refresh_token).toBeUndefined();
  });

  test('refuses a wrong password and a scope the user does not hold', async () => {
    const { server } = await startServer();
    const wrong = await token(server, CLI, { grant_type: 'password', username: 'alice', password: 'nope' });
    expect(wrong).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    const bobAdmin = await token(server, CLI, { grant_type: 'password', username: 'bob', password: 'bob-password', scope: 'admin' });
    expect(bobAdmin).toMatchObject({ status: 400, body: { error: 'invalid_scope' } });
  });
});

describe('client authentication', () => {
  const password = { grant_type: 'password', username: 'alice', password: 'alice-password' };

  test('a confidential client authenticates with Basic or in the body', async () => {
    const { server } = await startServer();
    expect((await token(server, WEB, password)).status).toBe(200);
    const inBody = await post(`${server.url}/token`, { ...password, client_id: WEB.id, client_secret: WEB.secret });
    expect(inBody.status).toBe(200);
  });

  test('a confidential client without its secret, or with a wrong one, is refused with 401 invalid_client', async () => {
    const { server } = await startServer();
    const missing = await post(`${server.url}/token`, { ...password, client_id: WEB.id });
    expect(missing).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const wrong = await post(`${server.url}/token`, password, { authorization: basic(WEB.id, 'wrong') });
    expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    // RFC 6749 §5.2: a client that tried Basic gets a Basic challenge.
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic /);
  });

  test('a public client names itself and must not send a secret', async () => {
    const { server } = await startServer();
    expect((await token(server, CLI, password)).status).toBe(200);
    const withSecret = await post(`${server.url}/token`, { ...password, client_id: CLI.id, client_secret: 'guess' });
    expect(withSecret).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  test('an unknown client, no client, or two authentication methods at once are refused', async () => {
    const { server } = await startServer();
    expect(await post(`${server.url}/token`, { ...password, client_id: 'nobody' })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await post(`${server.url}/token`, password)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const both = await post(`${server.url}/token`, { ...password, client_secret: WEB.secret }, { authorization: basic(WEB.id, WEB.secret) });
    expect(both).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });
});

describe('the client_credentials grant', () => {
  test('gives a machine client an access token for itself and no refresh token', async () => {
    const { server } = await startServer();
    const answer = await token(server, JOB, { grant_type: 'client_credentials' });
    expect(answer.status).toBe(200);
    expect(answer.body.refresh_token).toBeUndefined();
    expect(decodeJwt(answer.body.access_token).payload).toMatchObject({ sub: 'reporting-job', client_id: 'reporting-job', scope: 'read:messages' });
  });

  test('is refused to clients not registered for it', async () => {
    const { server } = await startServer();
    expect(await token(server, WEB, { grant_type: 'client_credentials' })).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    expect(await token(server, CLI, { grant_type: 'client_credentials' })).toMatchObject({ status: 400, body: { error: 'unauthorized_client' } });
    expect(await token(server, JOB, { grant_type: 'password', username: 'alice', password: 'alice-password' })).toMatchObject({
      status: 400,
      body: { error: 'unauthorized_client' },
    });
  });
});

describe('malformed requests', () => {
  test('an unknown grant type, a repeated parameter, a missing one, or a JSON body are refused', async () => {
    const { server } = await startServer();
    expect(await token(server, CLI, { grant_type: 'device_code' })).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    const repeated = await fetch(`${server.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'client_id=demo-cli&grant_type=password&username=alice&username=bob&password=alice-password',
    });
    expect(repeated.status).toBe(400);
    expect(await repeated.json()).toMatchObject({ error: 'invalid_request' });
    expect(await token(server, CLI, { grant_type: 'password', username: 'alice' })).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const asJson = await fetch(`${server.url}/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(asJson.status).toBe(400);
  });

  test('a GET to the token endpoint is 405 and an unknown path 404', async () => {
    const { server } = await startServer();
    const wrongMethod = await get(`${server.url}/token`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('POST');
    expect((await get(`${server.url}/nothing`)).status).toBe(404);
  });
});
