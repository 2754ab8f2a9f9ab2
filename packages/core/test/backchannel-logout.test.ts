/**
 * OpenID Connect Back-Channel Logout 1.0 (signals/backchannel-logout.ts): each validation step of
 * §2.6 refuses with a 400, a valid logout revokes in the verifier's list, the answers are §2.8's.
 * Logout tokens are signed with keys a real JWKS server on 127.0.0.1 publishes.
 */
import { backchannelLogout, BACKCHANNEL_LOGOUT_EVENT, createVerifier, type BackchannelLogoutOptions, type ReceiverRequest, type SignalEvent, type VerifierOptions } from '@tokenward/core';
import { serveOneKey, startJwksServer } from '../../../test/support/jwks-server';
import { makeKey } from '../../../test/support/keys';
import { rejection } from '../../../test/support/observe';
import { logoutForm, logoutToken as mintLogoutToken } from '../../../test/support/logout';
import { mint, now } from '../../../test/support/tokens';

const audience = 'https://api.example.com';
const clientId = 'web-app';
const jwks = serveOneKey('RS256', 'k1');

function setup(options: Partial<BackchannelLogoutOptions> = {}, verifierOptions: Partial<VerifierOptions> = {}) {
  const verifier = createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, tokenCache: false, ...verifierOptions });
  const events: SignalEvent[] = [];
  const receiver = backchannelLogout({ verifier, clientId, onEvent: (event) => events.push(event), ...options });
  return { verifier, receiver, events };
}

function logoutToken(claims: Record<string, unknown> = {}, header: Record<string, unknown> = { typ: 'logout+jwt' }, key = jwks.key): string {
  return mintLogoutToken({ key, issuer: jwks.server.issuer, clientId, claims, header });
}

function post(token: string): ReceiverRequest {
  return { method: 'POST', contentType: 'application/x-www-form-urlencoded', body: logoutForm(token) };
}

function accessToken(claims: Record<string, unknown> = {}): string {
  return mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims: { sid: 'session-1', ...claims } });
}

async function expectRefused(receiver: ReturnType<typeof setup>['receiver'], request: ReceiverRequest, description?: RegExp) {
  const response = await receiver.handle(request);
  expect(response.status).toBe(400);
  expect(response.headers['Cache-Control']).toBe('no-store');
  const body = JSON.parse(response.body as string) as { error: string; error_description: string };
  expect(body.error).toBe('invalid_request');
  if (description !== undefined) expect(body.error_description).toMatch(description);
  return body;
}

describe('a valid logout token revokes the user and the session (§2.7) and is answered 200 (§2.8)', () => {
  test('200 with no body and no-store; access tokens of the user issued before it are refused, later ones accepted', async () => {
    const { verifier, receiver, events } = setup();
    const before = accessToken({ iat: now() - 5 });
    const otherSession = accessToken({ iat: now() - 5, sid: 'session-2' });
    const otherUser = accessToken({ sub: 'user-7', sid: 'session-9' });
    await expect(verifier.verify(before)).resolves.toBeDefined();

    const response = await receiver.handle(post(logoutToken({ iat: now() - 1 })));
    expect(response).toEqual({ status: 200, headers: { 'Cache-Control': 'no-store' }, body: undefined });
    expect(events).toEqual([{ type: 'logout_received', issuer: jwks.server.issuer, subject: 'user-42', session: 'session-1', repeated: false }]);

    expect((await rejection(verifier.verify(before))).reason).toBe('token_revoked');
    expect((await rejection(verifier.verify(otherSession))).reason).toBe('token_revoked');
    await expect(verifier.verify(otherUser)).resolves.toMatchObject({ subject: 'user-7' });
    await expect(verifier.verify(accessToken({ iat: now() + 1 }))).resolves.toMatchObject({ subject: 'user-42' });
  });

  test("revokes: 'session' refuses only the tokens carrying that sid; a logout without sid still revokes the user", async () => {
    const { verifier, receiver } = setup({ revokes: 'session' });
    const session = accessToken({ iat: now() - 5 });
    const otherSession = accessToken({ iat: now() - 5, sid: 'session-2' });
    expect((await receiver.handle(post(logoutToken()))).status).toBe(200);
    expect((await rejection(verifier.verify(session))).reason).toBe('token_revoked');
    await expect(verifier.verify(otherSession)).resolves.toMatchObject({ subject: 'user-42' });

    expect((await receiver.handle(post(logoutToken({ sid: undefined })))).status).toBe(200);
    expect((await rejection(verifier.verify(otherSession))).reason).toBe('token_revoked');
  });

  test('a logout with only a sid revokes that session and not the user', async () => {
    const { verifier, receiver } = setup();
    expect((await receiver.handle(post(logoutToken({ sub: undefined })))).status).toBe(200);
    expect((await rejection(verifier.verify(accessToken({ iat: now() - 5 })))).reason).toBe('token_revoked');
    await expect(verifier.verify(accessToken({ iat: now() - 5, sid: 'session-2' }))).resolves.toBeDefined();
  });

  test('a logout revokes only tokens of its issuer', async () => {
    const other = 'https://other.example/';
    const { verifier, receiver } = setup({}, { issuer: [jwks.server.issuer, other] });
    expect((await receiver.handle(post(logoutToken()))).status).toBe(200);
    const fromOther = mint(jwks.key, { issuer: other, audience }, { claims: { sid: 'session-1', iat: now() - 5 } });
    await expect(verifier.verify(fromOther)).resolves.toMatchObject({ issuer: other });
  });
});

describe('the request (§2.5): a POSTed form with one logout_token, its body capped', () => {
  test('another method is a 405 naming POST', async () => {
    const { receiver } = setup();
    const response = await receiver.handle({ ...post(logoutToken()), method: 'GET' });
    expect(response.status).toBe(405);
    expect(response.headers.Allow).toBe('POST');
  });

  test('a body of another media type, no logout_token, two of them, or an empty one is a 400', async () => {
    const { receiver } = setup();
    const token = logoutToken();
    await expectRefused(receiver, { ...post(token), contentType: 'application/json' }, /x-www-form-urlencoded/);
    await expectRefused(receiver, { ...post(token), body: `token=${token}` }, /exactly one logout_token/);
    await expectRefused(receiver, { ...post(token), body: `logout_token=${token}&logout_token=${token}` }, /exactly one/);
    await expectRefused(receiver, { ...post(token), body: 'logout_token=' }, /exactly one/);
    await expectRefused(receiver, { ...post(token), body: undefined }, /exactly one/);
  });

  test('a body over 64 KiB is refused before it is parsed; a form already parsed by the framework is read', async () => {
    const { receiver } = setup();
    await expectRefused(receiver, { ...post(logoutToken()), body: `logout_token=${'a'.repeat(64 * 1024)}` }, /too large/);
    await expectRefused(receiver, { ...post(logoutToken()), body: Buffer.alloc(64 * 1024 + 1, 0x61) }, /too large/);
    expect((await receiver.handle({ method: 'POST', contentType: 'application/x-www-form-urlencoded', body: { logout_token: logoutToken(), state: 'x' } })).status).toBe(200);
    await expectRefused(receiver, { method: 'POST', contentType: 'application/x-www-form-urlencoded', body: { logout_token: [logoutToken(), logoutToken()] } });
  });

  test('a parameter beside logout_token is ignored', async () => {
    const { receiver } = setup();
    expect((await receiver.handle({ ...post(logoutToken()), body: `foo=bar&logout_token=${logoutToken()}` })).status).toBe(200);
  });
});

describe('§2.6 steps 2-4: signature, alg, iss, aud, iat, exp', () => {
  test('a token signed by a key the issuer does not publish, or with a bad signature, is refused', async () => {
    const { receiver } = setup();
    const stranger = makeKey('RS256', 'k1');
    await expectRefused(receiver, post(logoutToken({}, { typ: 'logout+jwt' }, stranger)), /signature/);
    const token = logoutToken();
    await expectRefused(receiver, post(`${token.slice(0, -6)}AAAAAA`));
    await expectRefused(receiver, post(logoutToken({}, { typ: 'logout+jwt', kid: 'k-unknown' })), /key/);
  });

  test('an unsigned token (alg none) or one whose alg is not allowed is refused', async () => {
    const { receiver } = setup({ algorithms: ['ES256'] });
    await expectRefused(receiver, post(logoutToken()));
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'logout+jwt' })).toString('base64url');
    const payload = logoutToken().split('.')[1] as string;
    await expectRefused(receiver, post(`${header}.${payload}.`));
  });

  test('another issuer is refused without any key being fetched for it', async () => {
    const { receiver } = setup();
    const other = await startJwksServer([]);
    try {
      await expectRefused(receiver, post(logoutToken({ iss: other.issuer })), /issuer/);
      expect(other.metadataRequests + other.jwksRequests).toBe(0);
    } finally {
      await other.close();
    }
  });

  test('an aud without our client id is refused, the API audience included', async () => {
    const { receiver } = setup();
    await expectRefused(receiver, post(logoutToken({ aud: 'another-client' })), /audience/);
    await expectRefused(receiver, post(logoutToken({ aud: audience })), /audience/);
    expect((await receiver.handle(post(logoutToken({ aud: ['another-client', clientId] })))).status).toBe(200);
  });

  test('an expired token, an iat older than maxAge or in the future, and a token without iat or jti are refused', async () => {
    const { receiver } = setup({ maxAge: 60 });
    await expectRefused(receiver, post(logoutToken({ iat: now() - 300, exp: now() - 100 })));
    await expectRefused(receiver, post(logoutToken({ iat: now() - 120, exp: now() + 60 })));
    await expectRefused(receiver, post(logoutToken({ iat: now() + 120, exp: now() + 240 })));
    await expectRefused(receiver, post(logoutToken({ iat: undefined })));
    await expectRefused(receiver, post(logoutToken({ jti: undefined })));
    expect((await receiver.handle(post(logoutToken({ exp: undefined })))).status).toBe(200);
  });

  test('keys that cannot be fetched are a 503 with Retry-After, not a 400', async () => {
    const down = await startJwksServer([]);
    down.setMode('error');
    try {
      const verifier = createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: down.jwksUri });
      const response = await backchannelLogout({ verifier, clientId }).handle(post(logoutToken()));
      expect(response.status).toBe(503);
      expect(response.headers['Retry-After']).toBe('30');
    } finally {
      await down.close();
    }
  });
});

describe('§2.6 steps 5-7 and §2.4: sub or sid, the logout event, no nonce, the typ', () => {
  test('a token with neither sub nor sid, or with a sub or sid that is not a string, is refused', async () => {
    const { receiver } = setup();
    await expectRefused(receiver, post(logoutToken({ sub: undefined, sid: undefined })), /sub or a sid/);
    await expectRefused(receiver, post(logoutToken({ sub: 42 })), /not a string/);
    await expectRefused(receiver, post(logoutToken({ sid: ['s'] })), /not a string/);
  });

  test('a token without the logout event, with its value not an object, or with the https URI is refused', async () => {
    const { receiver } = setup();
    await expectRefused(receiver, post(logoutToken({ events: undefined })), /logout event/);
    await expectRefused(receiver, post(logoutToken({ events: { [BACKCHANNEL_LOGOUT_EVENT]: true } })), /logout event/);
    await expectRefused(receiver, post(logoutToken({ events: { [BACKCHANNEL_LOGOUT_EVENT]: [] } })), /logout event/);
    await expectRefused(receiver, post(logoutToken({ events: { 'https://schemas.openid.net/event/backchannel-logout': {} } })), /logout event/);
  });

  test('a token with a nonce (an ID token) is refused', async () => {
    const { receiver } = setup();
    await expectRefused(receiver, post(logoutToken({ nonce: 'n-1' })), /nonce/);
  });

  test('typ logout+jwt, JWT or none is accepted; another typ is refused; requireTyp needs logout+jwt', async () => {
    const { receiver } = setup();
    expect((await receiver.handle(post(logoutToken({}, { typ: 'JWT' })))).status).toBe(200);
    expect((await receiver.handle(post(logoutToken({}, { typ: undefined })))).status).toBe(200);
    expect((await receiver.handle(post(logoutToken({}, { typ: 'application/logout+jwt' })))).status).toBe(200);
    await expectRefused(receiver, post(logoutToken({}, { typ: 'at+jwt' })), /logout\+jwt/);

    const strict = setup({ requireTyp: true }).receiver;
    await expectRefused(strict, post(logoutToken({}, { typ: undefined })), /logout\+jwt/);
    await expectRefused(strict, post(logoutToken({}, { typ: 'JWT' })), /logout\+jwt/);
    expect((await strict.handle(post(logoutToken()))).status).toBe(200);
  });
});

describe('§2.6 step 8: a jti is acted on once', () => {
  test('the same logout token again is a 200 that changes nothing; another token reusing its jti is not applied', async () => {
    const { verifier, receiver, events } = setup();
    const first = logoutToken({ jti: 'lt-once' });
    expect((await receiver.handle(post(first))).status).toBe(200);
    expect((await receiver.handle(post(first))).status).toBe(200);
    expect(events.map((event) => event.type === 'logout_received' && event.repeated)).toEqual([false, true]);

    const reused = logoutToken({ jti: 'lt-once', sub: 'user-7', sid: 'session-7' });
    expect((await receiver.handle(post(reused))).status).toBe(200);
    await expect(verifier.verify(accessToken({ sub: 'user-7', sid: 'session-7', iat: now() - 5 }))).resolves.toMatchObject({ subject: 'user-7' });
  });
});

describe('a logout token is never an access token (Back-Channel Logout §4.1, RFC 8417 §4.3)', () => {
  test('a logout token whose aud is the API audience is refused by the verifier as typ_invalid', async () => {
    const { verifier } = setup();
    const confused = logoutToken({ aud: audience, exp: now() + 120 });
    expect((await rejection(verifier.verify(confused))).reason).toBe('typ_invalid');
    const untyped = logoutToken({ aud: audience }, { typ: undefined });
    expect((await rejection(verifier.verify(untyped))).reason).toBe('typ_invalid');
    const eventAsAccessToken = mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims: { events: {} } });
    expect((await rejection(verifier.verify(eventAsAccessToken))).reason).toBe('typ_invalid');
    const secevent = mint(jwks.key, { issuer: jwks.server.issuer, audience }, { header: { typ: 'secevent+jwt' } });
    expect((await rejection(verifier.verify(secevent))).reason).toBe('typ_invalid');
  });
});

describe('answers never carry the token, and setup mistakes are TypeErrors', () => {
  test('a refusal body holds a fixed description only', async () => {
    const { receiver } = setup();
    const token = logoutToken({ aud: 'another-client' });
    const response = await receiver.handle(post(token));
    expect(response.body).not.toContain(token.split('.')[1] as string);
    expect(Object.keys(JSON.parse(response.body as string))).toEqual(['error', 'error_description']);
  });

  test('a verifier without a revocation list, an empty client id, a wrong revokes or maxAge are refused at construction', () => {
    const verifier = createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, revocation: false });
    expect(() => backchannelLogout({ verifier, clientId })).toThrow(/revocation list/);
    const { verifier: good } = setup();
    expect(() => backchannelLogout({ verifier: good, clientId: '' })).toThrow(/clientId/);
    expect(() => backchannelLogout({ verifier: good, clientId: [] })).toThrow(/clientId/);
    expect(() => backchannelLogout({ verifier: good, clientId, revokes: 'all' as 'subject' })).toThrow(/revokes/);
    expect(() => backchannelLogout({ verifier: good, clientId, maxAge: 0 })).toThrow(/maxAge/);
    expect(() => backchannelLogout({ verifier: { ...good }, clientId })).toThrow(/createVerifier/);
  });
});
