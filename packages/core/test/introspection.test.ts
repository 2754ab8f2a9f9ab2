/**
 * RFC 7662 introspection (introspection/): opaque tokens judged by the issuer's answer under the
 * same rules as a JWT, against a real introspection endpoint on 127.0.0.1
 * (test/support/introspection-server.ts) that answers as a server does, and fails as one does.
 * One describe per rule of introspector.ts, endpoint.ts and answer.ts.
 */
import { randomBytes } from 'node:crypto';
import { createVerifier, RevocationList, TokenwardSetupError, type TokenwardEvent, type Verifier, type VerifierOptions } from '@tokenward/core';
import { makeKey } from '../../../test/support/keys';
import { activeAnswer, INTROSPECTING_CLIENT, startIntrospectionServer, type IntrospectionServer } from '../../../test/support/introspection-server';
import { refuses, rejection, testClock, thrown } from '../../../test/support/observe';
import { json, mint, signInput } from '../../../test/support/tokens';

const audience = 'https://api.example.com';
const signing = makeKey('ES256', 'as-key');
let as: IntrospectionServer;
const verifiers: Verifier[] = [];

beforeAll(async () => {
  as = await startIntrospectionServer();
  as.publish([signing]);
});
afterAll(() => as.close());
beforeEach(() => {
  as.tokens.clear();
  as.calls.length = 0;
  as.reply = undefined;
  as.delay = 0;
  as.metadata = undefined;
  as.signWith = undefined;
});
afterEach(() => {
  for (const verifier of verifiers.splice(0)) verifier.close();
});

function verifierWith(introspection: Partial<NonNullable<VerifierOptions['introspection']>> = {}, options: Partial<VerifierOptions> = {}): Verifier {
  const verifier = createVerifier({ issuer: as.issuer, audience, introspection: { ...INTROSPECTING_CLIENT, ...introspection }, ...options });
  verifiers.push(verifier);
  return verifier;
}

/** A new opaque token the server knows as active, with these members. */
function opaque(members: Record<string, unknown> = {}): string {
  const token = randomBytes(32).toString('base64url');
  as.tokens.set(token, activeAnswer(as.issuer, audience, members));
  return token;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('which tokens are introspected', () => {
  test('an opaque token is accepted on the answer of the issuer server, its members as claims', async () => {
    const token = opaque({ scope: 'read:messages write:messages', jti: 'j-1' });
    const verified = await verifierWith().verify(token);
    expect(verified).toMatchObject({ token, verifiedBy: 'introspection', header: undefined, subject: 'user-42', issuer: as.issuer, clientId: 'web-app', binding: undefined });
    expect([...verified.scopes].sort()).toEqual(['read:messages', 'write:messages']);
    expect(as.calls).toHaveLength(1);
    expect(as.calls[0]?.form.get('token')).toBe(token);
    expect(as.calls[0]?.form.get('token_type_hint')).toBe('access_token');
    expect(as.calls[0]?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(as.calls[0]?.headers.accept).toBe('application/json');
  });

  test('a compact JWS of our issuer is verified by its signature, and the server is never asked', async () => {
    const jwt = mint(signing, { issuer: as.issuer, audience });
    const verified = await verifierWith().verify(jwt);
    expect(verified.verifiedBy).toBe('signature');
    expect(verified.header?.kid).toBe('as-key');
    expect(as.calls).toHaveLength(0);
  });

  test("with tokens: 'all', a compact JWS goes to the server as well, and its answer decides", async () => {
    const jwt = mint(signing, { issuer: as.issuer, audience });
    await refuses(verifierWith({ tokens: 'all' }).verify(jwt), 'token_inactive');
    as.tokens.set(jwt, activeAnswer(as.issuer, audience));
    expect((await verifierWith({ tokens: 'all' }).verify(jwt)).verifiedBy).toBe('introspection');
    expect(as.calls).toHaveLength(2);
  });

  test('without introspection an opaque token is still token_malformed, and nothing is sent anywhere', async () => {
    const verifier = createVerifier({ issuer: as.issuer, audience });
    verifiers.push(verifier);
    expect(thrown(() => verifier.check(bearer(opaque()))).reason).toBe('token_malformed');
    expect(as.calls).toHaveLength(0);
  });

  test('credentials that are not a b64token are a malformed request (400), never sent', () => {
    const error = thrown(() => verifierWith().check({ authorization: 'Bearer abc!def' }));
    expect(error).toMatchObject({ status: 400, reason: 'authorization_malformed' });
    expect(as.calls).toHaveLength(0);
  });

  test('a token shaped as a JWS but not strictly one (a stray bit in its last character) is refused here, never sent', async () => {
    const jwt = mint(signing, { issuer: as.issuer, audience });
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(jwt.slice(-1));
    const altered = `${jwt.slice(0, -1)}${'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[last ^ 1]}`;
    await refuses(verifierWith().verify(altered), 'token_malformed');
    expect(as.calls).toHaveLength(0);
  });

  test('a token over the size cap is refused before any call', async () => {
    await refuses(verifierWith({}, { maxTokenBytes: 64 }).verify('a'.repeat(65)), 'token_too_large');
    expect(thrown(() => verifierWith({ tokens: 'all' }, { maxTokenBytes: 64 }).check(bearer('a'.repeat(65)))).reason).toBe('token_too_large');
    expect(as.calls).toHaveLength(0);
  });
});

describe('client authentication at the endpoint (RFC 6749 §2.3.1)', () => {
  test('client_secret_basic: HTTP Basic of the form-encoded id and secret, nothing in the body', async () => {
    await verifierWith().verify(opaque());
    const { headers, form } = as.calls[0]!;
    expect(headers.authorization).toBe(`Basic ${Buffer.from(`api-client:se%3Acr+et%2B%2F%25`).toString('base64')}`);
    expect(form.has('client_secret')).toBe(false);
  });

  test('client_secret_post: id and secret in the body, no Authorization header', async () => {
    await verifierWith({ clientAuthentication: 'client_secret_post' }).verify(opaque());
    const { headers, form } = as.calls[0]!;
    expect(headers.authorization).toBeUndefined();
    expect([form.get('client_id'), form.get('client_secret')]).toEqual([INTROSPECTING_CLIENT.clientId, INTROSPECTING_CLIENT.clientSecret]);
  });

  test('credentials the server refuses are an outage for requests (503), and ready() says what to check', async () => {
    const verifier = verifierWith({ clientSecret: 'wrong' });
    expect(await rejection(verifier.verify(opaque()))).toMatchObject({ status: 503, reason: 'introspection_unavailable' });
    const setup = await verifier.ready().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(setup).toBeInstanceOf(TokenwardSetupError);
    expect((setup as Error).message).toMatch(/HTTP 401.*clientId and clientSecret/);
    expect((setup as Error).message).not.toContain('wrong');
  });

  test('ready() resolves once the endpoint answers our client', async () => {
    await expect(verifierWith().ready()).resolves.toBeUndefined();
    expect(as.calls.at(-1)?.form.get('token')).toMatch(/^tokenward-ready-/);
  });
});

describe('the endpoint: configured, or from the issuer metadata (RFC 8414)', () => {
  test('without an endpoint option, introspection_endpoint of the metadata is used', async () => {
    as.metadata = { introspection_endpoint: `${as.issuer}/introspect` };
    await verifierWith().verify(opaque());
    expect(as.calls).toHaveLength(1);
  });

  test('metadata without introspection_endpoint: ready() fails fast, requests are 503', async () => {
    as.metadata = {};
    const events: TokenwardEvent[] = [];
    const verifier = verifierWith({}, { onEvent: (event) => events.push(event) });
    await expect(verifier.ready()).rejects.toThrow(/has no introspection_endpoint/);
    await refuses(verifier.verify(opaque()), 'introspection_unavailable', 503);
    expect(events).toContainEqual(expect.objectContaining({ type: 'introspection_failed', failure: 'metadata_invalid' }));
  });

  test('a configured endpoint wins over the metadata', async () => {
    as.metadata = { introspection_endpoint: 'http://127.0.0.1:9/nowhere' };
    await verifierWith({ endpoint: as.endpoint }).verify(opaque());
    expect(as.calls).toHaveLength(1);
  });
});

describe('active: false', () => {
  test('is 401 invalid_token with its own reason, token_inactive', async () => {
    const error = await rejection(verifierWith().verify(randomBytes(32).toString('base64url')));
    expect(error).toMatchObject({ status: 401, code: 'invalid_token', reason: 'token_inactive' });
  });

  test('is remembered for inactiveMaxAge: a second request asks nothing, one after it asks again', async () => {
    const clock = testClock();
    const verifier = verifierWith({ cache: { inactiveMaxAge: 10 } }, { clock });
    const token = randomBytes(32).toString('base64url');
    await refuses(verifier.verify(token), 'token_inactive');
    expect(thrown(() => verifier.check(bearer(token))).reason).toBe('token_inactive');
    expect(as.calls).toHaveLength(1);
    clock.advance(11_000);
    await refuses(verifier.verify(token), 'token_inactive');
    expect(as.calls).toHaveLength(2);
  });
});

describe('the answer goes through the rules of a JWT', () => {
  test.each([
    ['another audience', { aud: 'https://other.example.com' }, 'audience_mismatch'],
    ['no exp', { exp: undefined }, 'exp_missing'],
    ['expired', { iat: Math.floor(Date.now() / 1000) - 600, exp: Math.floor(Date.now() / 1000) - 60 }, 'token_expired'],
    ['a lifetime over the maximum', { iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 3 * 86_400 }, 'lifetime_exceeded'],
    ['a sub that is not a string', { sub: 42 }, 'claim_invalid'],
    ['another issuer', { iss: 'https://elsewhere.example.com' }, 'issuer_mismatch'],
    ['no token_type', { token_type: undefined }, 'typ_invalid'],
    ['token_type refresh_token', { token_type: 'refresh_token' }, 'typ_invalid'],
    ["Hydra's token_use refresh_token", { token_use: 'refresh_token' }, 'typ_invalid'],
    ["Keycloak's typ Refresh", { typ: 'Refresh' }, 'typ_invalid'],
    ['a cnf with no member we verify', { cnf: { 'x5t#S1': 'abc' } }, 'cnf_unsupported'],
    ['token_type DPoP without cnf.jkt', { token_type: 'DPoP' }, 'cnf_unsupported'],
    ['scopes of the wrong type', { scope: ['read:messages', 7] }, 'claim_invalid'],
  ])('%s is refused (%s)', async (_, members, reason) => {
    const token = randomBytes(32).toString('base64url');
    as.tokens.set(token, { ...activeAnswer(as.issuer, audience), ...members });
    await refuses(verifierWith().verify(token), reason);
  });

  test('an answer without iss is taken as the introspecting issuer', async () => {
    expect((await verifierWith().verify(opaque({ iss: undefined }))).issuer).toBe(as.issuer);
  });

  test('requireTokenType: false accepts an answer without token_type, never one with another type', async () => {
    const verifier = verifierWith({ requireTokenType: false });
    await expect(verifier.verify(opaque({ token_type: undefined }))).resolves.toMatchObject({ verifiedBy: 'introspection' });
    await refuses(verifier.verify(opaque({ token_type: 'refresh_token' })), 'typ_invalid');
  });

  test('a member named __proto__ stays a plain member of the claims', async () => {
    const token = randomBytes(32).toString('base64url');
    as.reply = () => ({ body: `{"active":true,"iss":"${as.issuer}","aud":"${audience}","token_type":"Bearer","exp":${Math.floor(Date.now() / 1000) + 60},"__proto__":{"admin":true}}` });
    const verified = await verifierWith().verify(token);
    expect(Object.getPrototypeOf(verified.claims)).toBe(Object.prototype);
    expect((verified.claims as Record<string, unknown>).admin).toBeUndefined();
  });

  test('scopes: the route requirement decides, 403 insufficient_scope', async () => {
    const verifier = verifierWith();
    const token = opaque({ scope: 'read:messages' });
    await expect(verifier.verify(token, { scopes: ['read:messages'] })).resolves.toBeDefined();
    expect(await rejection(verifier.verify(token, { scopes: ['admin'] }))).toMatchObject({ status: 403, reason: 'insufficient_scope' });
  });

  test('revocation: a jti on the list is refused, on a cached answer too', async () => {
    const revocation = new RevocationList();
    const verifier = verifierWith({}, { revocation });
    const token = opaque({ jti: 'opaque-jti' });
    await verifier.verify(token);
    revocation.revoke({ jti: 'opaque-jti', expiresAt: Math.floor(Date.now() / 1000) + 300 });
    await refuses(verifier.verify(token), 'token_revoked');
    expect(as.calls).toHaveLength(1);
  });

  test('a DPoP-bound answer (cnf.jkt) presented as Bearer is refused', () => {
    const token = opaque({ token_type: 'DPoP', cnf: { jkt: 'A'.repeat(43) } });
    return expect(Promise.resolve().then(() => verifierWith().check(bearer(token)))).rejects.toMatchObject({ reason: 'dpop_bound_as_bearer' });
  });

  test('a certificate-bound answer (cnf x5t#S256) without the certificate is refused', async () => {
    const token = opaque({ cnf: { 'x5t#S256': 'B'.repeat(43) } });
    await expect(Promise.resolve().then(() => verifierWith().check(bearer(token)))).rejects.toMatchObject({ reason: 'mtls_certificate_missing' });
    await refuses(verifierWith().verify(token), 'binding_unproven');
  });
});

describe('the cache of answers, by a hash of the token', () => {
  test('an active answer serves later requests without a call or a promise', async () => {
    const verifier = verifierWith();
    const token = opaque();
    const first = await verifier.check(bearer(token));
    const second = verifier.check(bearer(token));
    expect(second).toBe(first);
    expect(as.calls).toHaveLength(1);
  });

  test('it lasts maxAge at most', async () => {
    const clock = testClock();
    const verifier = verifierWith({ cache: { maxAge: 60 } }, { clock });
    const token = opaque();
    await verifier.verify(token);
    clock.advance(59_000);
    await verifier.verify(token);
    expect(as.calls).toHaveLength(1);
    clock.advance(2_000);
    await verifier.verify(token);
    expect(as.calls).toHaveLength(2);
  });

  test('and never past the token exp (RFC 7662 §4)', async () => {
    const clock = testClock();
    const verifier = verifierWith({ cache: { maxAge: 300 } }, { clock });
    const token = opaque({ exp: clock.seconds() + 20 });
    await verifier.verify(token);
    clock.advance(21_000);
    as.tokens.delete(token);
    await refuses(verifier.verify(token), 'token_inactive');
    expect(as.calls).toHaveLength(2);
  });

  test('is bounded: past max, the least recently used answer is asked for again', async () => {
    const verifier = verifierWith({ cache: { max: 2 } });
    const [a, b, c] = [opaque(), opaque(), opaque()];
    for (const token of [a, b, c, b, c]) await verifier.verify(token);
    expect(as.calls).toHaveLength(3);
    await verifier.verify(a);
    expect(as.calls).toHaveLength(4);
  });

  test('a flood of inactive tokens does not push active answers out (two LRUs)', async () => {
    const verifier = verifierWith({ cache: { max: 2, inactiveMax: 2 }, rateLimit: { calls: 1000 } });
    const active = opaque();
    await verifier.verify(active);
    for (let i = 0; i < 20; i++) await refuses(verifier.verify(randomBytes(32).toString('base64url')), 'token_inactive');
    const calls = as.calls.length;
    await verifier.verify(active);
    expect(as.calls).toHaveLength(calls);
  });

  test('cache: false asks on every request', async () => {
    const verifier = verifierWith({ cache: false });
    const token = opaque();
    await verifier.verify(token);
    await verifier.verify(token);
    expect(as.calls).toHaveLength(2);
  });

  test('single flight: 1,000 concurrent requests with one new token make one call', async () => {
    as.delay = 50;
    const verifier = verifierWith();
    const token = opaque();
    const results = await Promise.all(Array.from({ length: 1000 }, () => verifier.check(bearer(token))));
    expect(new Set(results).size).toBe(1);
    expect(as.calls).toHaveLength(1);
  });
});

describe('an outage of the endpoint is 503 with Retry-After, never 401 or 500, and nothing of it is cached', () => {
  const outages: Array<[string, () => void, string, Partial<NonNullable<VerifierOptions['introspection']>>?]> = [
    ['down (HTTP 503)', () => (as.reply = () => ({ status: 503, body: 'down' })), 'http_status'],
    ['hanging past the timeout', () => (as.reply = () => 'hang'), 'timeout', { timeout: 200 }],
    ['dropping the connection', () => (as.reply = () => 'reset'), 'network'],
    ['answering a redirect', () => (as.reply = () => ({ status: 302, body: '' })), 'redirect'],
    ['answering a huge body', () => (as.reply = () => ({ body: { active: true, pad: 'x'.repeat(200_000) } })), 'too_large'],
    ['answering HTML', () => (as.reply = () => ({ contentType: 'text/html', body: '<html></html>' })), 'content_type'],
    ['answering JSON that does not parse', () => (as.reply = () => ({ body: '{"active":tru' })), 'not_json'],
    ['answering an array', () => (as.reply = () => ({ body: '[true]' })), 'answer_invalid'],
    ['answering active as a string', () => (as.reply = () => ({ body: { active: 'true' } })), 'answer_invalid'],
    ['answering active as 1', () => (as.reply = () => ({ body: { active: 1 } })), 'answer_invalid'],
    ['answering no active at all', () => (as.reply = () => ({ body: {} })), 'answer_invalid'],
  ];

  test.each(outages)('%s', async (_, fail, failure, introspection = {}) => {
    const events: TokenwardEvent[] = [];
    const verifier = verifierWith(introspection, { onEvent: (event) => events.push(event) });
    const token = opaque();
    fail();
    const error = await rejection(Promise.resolve().then(() => verifier.check(bearer(token))));
    expect(error).toMatchObject({ status: 503, reason: 'introspection_unavailable', code: 'temporarily_unavailable' });
    expect(error.headers).toEqual({ 'Retry-After': '5', 'Cache-Control': 'no-store' });
    const reported = events.find((event) => event.type === 'introspection_failed');
    expect(reported).toMatchObject({ failure, endpoint: as.issuer === '' ? expect.any(String) : expect.stringContaining(as.issuer) });
    for (const event of events) expect(JSON.stringify(event, (_key, value: unknown) => (value instanceof Error ? value.message : value))).not.toContain(token);
    // Back up: the same token is asked for again and accepted.
    as.reply = undefined;
    await expect(verifier.verify(token)).resolves.toMatchObject({ verifiedBy: 'introspection' });
  });

  test('a connection refused (the server gone) is 503 too', async () => {
    const verifier = verifierWith({ endpoint: 'http://127.0.0.1:9/introspect' });
    await refuses(verifier.verify(opaque()), 'introspection_unavailable', 503);
  });
});

describe('the rate limit on calls: a flood of made-up tokens is not a flood at the server', () => {
  test('beyond `calls` per window, new tokens are 503 introspection_throttled with the wait, and no call is made', async () => {
    const clock = testClock();
    const verifier = verifierWith({ rateLimit: { calls: 5, window: 2_000 } }, { clock });
    const known = opaque();
    await verifier.verify(known);
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => rejection(verifier.verify(randomBytes(32).toString('base64url')))));
    expect(outcomes.filter((error) => error.reason === 'token_inactive')).toHaveLength(4);
    const throttled = outcomes.filter((error) => error.reason === 'introspection_throttled');
    expect(throttled).toHaveLength(16);
    expect(throttled[0]?.status).toBe(503);
    expect(Number(throttled[0]?.headers['Retry-After'])).toBeGreaterThanOrEqual(1);
    expect(as.calls).toHaveLength(5);
    // A token already answered is still served; a new window allows calls again.
    await expect(verifier.verify(known)).resolves.toBeDefined();
    clock.advance(2_000);
    await expect(verifier.verify(opaque())).resolves.toBeDefined();
    expect(as.calls).toHaveLength(6);
  });

  test('the concurrent requests of one token share one call, so they count once', async () => {
    as.delay = 30;
    const verifier = verifierWith({ rateLimit: { calls: 1 } });
    const token = opaque();
    await Promise.all(Array.from({ length: 50 }, () => verifier.verify(token)));
    expect(as.calls).toHaveLength(1);
  });
});

describe('RFC 9701 signed answers', () => {
  test('are asked for with their media type and verified with the issuer keys', async () => {
    as.signWith = signing;
    const verified = await verifierWith({ signedResponse: true }).verify(opaque({ scope: 'admin' }));
    expect(as.calls[0]?.headers.accept).toBe('application/token-introspection+jwt');
    expect([...verified.scopes]).toEqual(['admin']);
  });

  test('a signature by a key the issuer does not publish is an outage (503), never an acceptance', async () => {
    as.signWith = makeKey('ES256', 'as-key');
    const events: TokenwardEvent[] = [];
    await refuses(verifierWith({ signedResponse: true }, { onEvent: (event) => events.push(event) }).verify(opaque()), 'introspection_unavailable', 503);
    expect(events).toContainEqual(expect.objectContaining({ type: 'introspection_failed', failure: 'answer_signature_invalid' }));
  });

  test('a plain JSON answer when a signed one was asked for is refused', async () => {
    const events: TokenwardEvent[] = [];
    await refuses(verifierWith({ signedResponse: true }, { onEvent: (event) => events.push(event) }).verify(opaque()), 'introspection_unavailable', 503);
    expect(events).toContainEqual(expect.objectContaining({ type: 'introspection_failed', failure: 'content_type' }));
  });

  test('a signed answer for another audience is refused', async () => {
    as.reply = () => {
      const input = `${json({ alg: 'ES256', kid: 'as-key', typ: 'token-introspection+jwt' })}.${json({ iss: as.issuer, aud: 'someone-else', iat: Math.floor(Date.now() / 1000), token_introspection: { active: true } })}`;
      return { contentType: 'application/token-introspection+jwt', body: `${input}.${signInput('ES256', signing.privateKey, input)}` };
    };
    const events: TokenwardEvent[] = [];
    await refuses(verifierWith({ signedResponse: true }, { onEvent: (event) => events.push(event) }).verify(opaque()), 'introspection_unavailable', 503);
    expect(events).toContainEqual(expect.objectContaining({ type: 'introspection_failed', failure: 'answer_signature_invalid', message: expect.stringContaining('ERR_JWT_CLAIM_VALIDATION_FAILED') }));
  });
});

describe('options are checked at construction', () => {
  test.each([
    ['no clientId', { clientId: '' }, /introspection.clientId is required/],
    ['no clientSecret', { clientSecret: undefined }, /introspection.clientSecret is required/],
    ['an http endpoint to a remote host', { endpoint: 'http://as.example.com/introspect' }, /must be an https URL/],
    ['an unknown client authentication', { clientAuthentication: 'private_key_jwt' }, /clientAuthentication must be one of/],
    ['an unknown tokens mode', { tokens: 'jwt' }, /tokens must be 'opaque' or 'all'/],
    ['a rate limit of zero', { rateLimit: { calls: 0 } }, /rateLimit.calls must be a positive integer/],
    ['an issuer that is not configured', { issuer: 'https://elsewhere.example.com' }, /is not a configured issuer/],
  ])('%s', (_, introspection, message) => {
    expect(() => createVerifier({ issuer: as.issuer, audience, introspection: { ...INTROSPECTING_CLIENT, ...introspection } as never })).toThrow(message);
  });

  test("tokens: 'all' with several issuers is refused: one server would get the others' tokens", () => {
    expect(() => createVerifier({ issuer: [as.issuer, 'https://b.example.com'], audience, introspection: { ...INTROSPECTING_CLIENT, issuer: as.issuer, tokens: 'all' } })).toThrow(/single configured issuer/);
  });

  test('several issuers need to say whose server introspects', () => {
    expect(() => createVerifier({ issuer: [as.issuer, 'https://b.example.com'], audience, introspection: { ...INTROSPECTING_CLIENT } })).toThrow(/introspection.issuer is required/);
  });
});

describe('nothing secret leaves', () => {
  test('neither the token nor the client secret is in a rejection or an event', async () => {
    const events: TokenwardEvent[] = [];
    const verifier = verifierWith({ clientAuthentication: 'client_secret_post' }, { onEvent: (event) => events.push(event) });
    const token = randomBytes(32).toString('base64url');
    as.reply = () => ({ status: 500, body: 'boom' });
    const error = await rejection(Promise.resolve().then(() => verifier.check(bearer(token))));
    const visible = JSON.stringify({ body: error.body, headers: error.headers, message: error.message, events: events.map((event) => ({ ...event, cause: String((event as { cause?: unknown }).cause) })) });
    expect(visible).not.toContain(token);
    expect(visible).not.toContain(INTROSPECTING_CLIENT.clientSecret);
  });
});
