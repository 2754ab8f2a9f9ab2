/**
 * RFC 6750 on the way in and on the way out: where a bearer token may travel (§2), what makes a
 * request malformed, and what a rejection tells the client (§3). Through `verifier.authenticate`
 * and `verifier.verify` against a real JWKS server on 127.0.0.1.
 */
import { createVerifier, type TokenwardError, type Verifier } from '@tokenward/core';
import { serveOneKey, startJwksServer } from '../../../test/support/jwks-server';
import { makeKey, type TestKey } from '../../../test/support/keys';
import { refuses, rejection } from '../../../test/support/observe';
import { mint } from '../../../test/support/tokens';
import { withDpop } from '../../../test/support/challenges';

const audience = 'https://api.example.com';
const jwks = serveOneKey('ES256', 'es');
let impostor: TestKey;
/** Header only (the default). */
let verifier: Verifier;
/** Also accepts `?access_token=`. */
let queryVerifier: Verifier;

beforeAll(async () => {
  impostor = makeKey('ES256', 'es');
  const options = { issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, tokenCache: false } as const;
  verifier = createVerifier(options);
  queryVerifier = createVerifier({ ...options, allowQueryToken: true });
});

const good = (): string => mint(jwks.key, { issuer: jwks.server.issuer, audience });

describe('rule: missing bearer credentials are a 401 with a bare challenge (RFC 6750 §3.1)', () => {
  test('a request without an Authorization header is refused credentials_missing with Bearer realm="api" and no error', async () => {
    const error = await rejection(verifier.authenticate({ authorization: undefined, url: '/' }));
    expect(error).toMatchObject({ reason: 'credentials_missing', status: 401, code: undefined });
    expect(error.wwwAuthenticate).toBe(withDpop('Bearer realm="api"'));
  });

  test('an empty list of Authorization values is missing credentials', async () => {
    await refuses(verifier.authenticate({ authorization: [], url: '/' }), 'credentials_missing', 401);
  });

  test.each(['Basic dXNlcjpwYXNz', 'DPoPtoken', 'Bearertoken', 'Digest username="x"'])('an Authorization header of another scheme (%s) is missing credentials', async (authorization) => {
    const error = await rejection(verifier.authenticate({ authorization, url: '/' }));
    expect(error).toMatchObject({ reason: 'credentials_missing', status: 401 });
    expect(error.wwwAuthenticate).toBe(withDpop('Bearer realm="api"'));
  });

  test('with DPoP turned off, the DPoP scheme is another scheme, and only Bearer is challenged', async () => {
    const bearerOnly = createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, dpop: false });
    const error = await rejection(bearerOnly.authenticate({ authorization: 'DPoP abc.def.ghi', url: '/' }));
    expect(error).toMatchObject({ reason: 'credentials_missing', status: 401 });
    expect(error.wwwAuthenticate).toBe('Bearer realm="api"');
  });
});

describe('rule: the Authorization scheme is case-insensitive (RFC 7235 §2.1)', () => {
  test.each(['Bearer', 'bearer', 'BEARER', 'bEaReR'])('the scheme spelled %s is accepted', async (scheme) => {
    await expect(verifier.authenticate({ authorization: `${scheme} ${good()}`, url: '/' })).resolves.toMatchObject({ subject: 'user-42' });
  });
});

describe('rule: several tokens or several methods are a 400 invalid_request', () => {
  test('two Authorization values are refused multiple_credentials', async () => {
    const t = good();
    await refuses(verifier.authenticate({ authorization: [`Bearer ${t}`, `Bearer ${good()}`], url: '/' }), 'multiple_credentials', 400);
    await refuses(verifier.authenticate({ authorization: [`Bearer ${t}`, `Bearer ${t}`], url: '/' }), 'multiple_credentials', 400);
  });

  test('a comma-separated list of credentials in one header is refused multiple_credentials', async () => {
    await refuses(verifier.authenticate({ authorization: `Bearer ${good()}, Bearer ${good()}`, url: '/' }), 'multiple_credentials', 400);
    await refuses(verifier.authenticate({ authorization: 'Bearer a, Bearer b', url: '/' }), 'multiple_credentials', 400);
  });

  test('a token in the header and in the query (with query tokens enabled) is refused multiple_credentials', async () => {
    const t = good();
    await refuses(queryVerifier.authenticate({ authorization: `Bearer ${t}`, url: `/r?access_token=${t}` }), 'multiple_credentials', 400);
  });

  test('two access_token query parameters are refused multiple_credentials', async () => {
    const t = good();
    await refuses(queryVerifier.authenticate({ authorization: undefined, url: `/r?access_token=${t}&access_token=${good()}` }), 'multiple_credentials', 400);
    await refuses(queryVerifier.authenticate({ authorization: undefined, url: `/r?access_token=${t}&x=1&access_token=${t}` }), 'multiple_credentials', 400);
  });
});

describe('rule: a Bearer header must carry one b64token (RFC 6750 §2.1)', () => {
  test.each(['Bearer', 'Bearer ', 'Bearer    ', 'bearer'])('%j with nothing after the scheme is refused authorization_malformed', async (authorization) => {
    await refuses(verifier.authenticate({ authorization, url: '/' }), 'authorization_malformed', 400);
  });

  test.each([
    ['a dollar sign', 'abc$def'],
    ['an inner space', 'abc def'],
    ['a quote', 'abc"'],
    ['padding not at the end', 'ab=c'],
    ['a non-ASCII letter', 'abcé'],
    ['a semicolon', 'abc;def'],
    ['a control character', 'abc\u0000def'],
  ])('a token with %s is refused authorization_malformed', async (_name, credentials) => {
    await refuses(verifier.authenticate({ authorization: `Bearer ${credentials}`, url: '/' }), 'authorization_malformed', 400);
  });

  test('a well-formed b64token that is no JWT reaches the verifier and is an invalid_token', async () => {
    await refuses(verifier.authenticate({ authorization: 'Bearer abc+/==', url: '/' }), 'token_malformed', 401);
  });

  test('a header far larger than the token cap is refused token_too_large', async () => {
    await refuses(verifier.authenticate({ authorization: `Bearer ${'a'.repeat(20_000)}`, url: '/' }), 'token_too_large', 401);
  });
});

describe('rule: the access_token query parameter is accepted only when enabled (RFC 6750 §2.3)', () => {
  test('by default a query token is ignored: the request has no credentials', async () => {
    await refuses(verifier.authenticate({ authorization: undefined, url: `/r?access_token=${good()}` }), 'credentials_missing', 401);
  });

  test('with allowQueryToken a query token is verified and accepted', async () => {
    await expect(queryVerifier.authenticate({ authorization: undefined, url: `/r?a=1&access_token=${good()}` })).resolves.toMatchObject({ subject: 'user-42' });
  });

  test('with allowQueryToken a malformed query token is refused authorization_malformed', async () => {
    await refuses(queryVerifier.authenticate({ authorization: undefined, url: '/r?access_token=a%20b' }), 'authorization_malformed', 400);
    await refuses(queryVerifier.authenticate({ authorization: undefined, url: '/r?access_token=' }), 'authorization_malformed', 400);
  });
});

describe('rule: credentialsRequired: false makes credentials optional, not bad tokens acceptable', () => {
  test('a request without credentials yields undefined', async () => {
    await expect(verifier.authenticate({ authorization: undefined, url: '/' }, { credentialsRequired: false })).resolves.toBeUndefined();
    await expect(verifier.authenticate({ authorization: 'Basic dXNlcjpwYXNz', url: '/' }, { credentialsRequired: false })).resolves.toBeUndefined();
  });

  test('a good token is still verified and returned', async () => {
    await expect(verifier.authenticate({ authorization: `Bearer ${good()}`, url: '/' }, { credentialsRequired: false })).resolves.toMatchObject({ subject: 'user-42' });
  });

  test('a bad token is still refused', async () => {
    const forged = mint(impostor, { issuer: jwks.server.issuer, audience });
    await refuses(verifier.authenticate({ authorization: `Bearer ${forged}`, url: '/' }, { credentialsRequired: false }), 'signature_invalid', 401);
    await refuses(verifier.authenticate({ authorization: 'Bearer not-a-jwt', url: '/' }, { credentialsRequired: false }), 'token_malformed', 401);
    await refuses(verifier.authenticate({ authorization: 'Bearer', url: '/' }, { credentialsRequired: false }), 'authorization_malformed', 400);
  });

  test('a route that requires a scope still needs credentials', async () => {
    await refuses(verifier.authenticate({ authorization: undefined, url: '/' }, { credentialsRequired: false, scopes: ['read:messages'] }), 'credentials_missing', 401);
  });
});

describe('rule: rejections follow RFC 6750 §3 and carry nothing from the token, the keys or a stack', () => {
  test('a bad token is a 401 invalid_token with its challenge, headers and body', async () => {
    const error = await rejection(verifier.verify(mint(impostor, { issuer: jwks.server.issuer, audience })));
    expect(error).toMatchObject({ reason: 'signature_invalid', status: 401, statusCode: 401, code: 'invalid_token' });
    const challenge = withDpop('Bearer realm="api", error="invalid_token", error_description="Token signature is invalid"');
    expect(error.wwwAuthenticate).toBe(challenge);
    expect(error.headers).toEqual({ 'WWW-Authenticate': challenge, 'Cache-Control': 'no-store' });
    expect(error.body).toEqual({ error: 'invalid_token', error_description: 'Token signature is invalid' });
  });

  test('a missing scope is a 403 insufficient_scope naming the required scopes', async () => {
    const error = await rejection(verifier.verify(good(), { scopes: ['read:messages', 'write:messages'] }));
    expect(error).toMatchObject({ reason: 'insufficient_scope', status: 403, code: 'insufficient_scope' });
    const challenge = withDpop('Bearer realm="api", error="insufficient_scope", error_description="Token lacks the required scope", scope="read:messages write:messages"');
    expect(error.wwwAuthenticate).toBe(challenge);
    expect(error.headers).toEqual({ 'WWW-Authenticate': challenge, 'Cache-Control': 'no-store' });
    expect(error.body).toEqual({ error: 'insufficient_scope', error_description: 'Token lacks the required scope' });
  });

  test('a malformed request is a 400 invalid_request', async () => {
    const error = await rejection(verifier.authenticate({ authorization: ['Bearer a', 'Bearer b'], url: '/' }));
    expect(error).toMatchObject({ reason: 'multiple_credentials', status: 400, code: 'invalid_request' });
    const challenge = withDpop('Bearer realm="api", error="invalid_request", error_description="More than one bearer token or method used"');
    expect(error.wwwAuthenticate).toBe(challenge);
    expect(error.headers).toEqual({ 'WWW-Authenticate': challenge, 'Cache-Control': 'no-store' });
    expect(error.body).toEqual({ error: 'invalid_request', error_description: 'More than one bearer token or method used' });
  });

  test('missing credentials carry the bare challenge and no error code', async () => {
    const error = await rejection(verifier.authenticate({ authorization: undefined, url: '/' }));
    expect(error.headers).toEqual({ 'WWW-Authenticate': withDpop('Bearer realm="api"'), 'Cache-Control': 'no-store' });
  });

  test('the realm is configurable and quoted', async () => {
    const v = createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, realm: 'the "orders" api' });
    const error = await rejection(v.authenticate({ authorization: undefined, url: '/' }));
    expect(error.wwwAuthenticate).toBe(withDpop('Bearer realm="the \\"orders\\" api"', 'the "orders" api'));
  });

  test('keys unavailable is a 503 with Retry-After and no WWW-Authenticate', async () => {
    const down = await startJwksServer([jwks.key.jwk]);
    try {
      down.setMode('error');
      const v = createVerifier({ issuer: down.issuer, audience, jwksUri: down.jwksUri, tokenCache: false });
      const error = await rejection(v.verify(mint(jwks.key, { issuer: down.issuer, audience })));
      expect(error).toMatchObject({ reason: 'jwks_unavailable', status: 503 });
      expect(error.wwwAuthenticate).toBeUndefined();
      expect(error.headers).not.toHaveProperty('WWW-Authenticate');
      expect(error.headers).toEqual({ 'Retry-After': expect.stringMatching(/^[1-9]\d*$/), 'Cache-Control': 'no-store' });
      expect(error.body).toEqual({ error: 'temporarily_unavailable', error_description: 'Signing keys are temporarily unavailable' });
      expectNoLeak(error, mint(jwks.key, { issuer: down.issuer, audience }), [down.jwksUri, down.issuer.replace('http://', '')]);
    } finally {
      await down.close();
    }
  });

  test('no rejection shows the token, key material, the key URL or a stack', async () => {
    const forged = mint(impostor, { issuer: jwks.server.issuer, audience });
    const wrongAud = mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims: { aud: 'https://other.example.com' } });
    // Each call is made only when its turn comes. Made up front, the later rejections sat without a
    // handler while the first case waited on I/O, and one CI run failed on them as unhandled.
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => verifier.verify(forged), forged],
      [() => verifier.verify(wrongAud), wrongAud],
      [() => verifier.verify(`${forged}x`), `${forged}x`],
      [() => verifier.authenticate({ authorization: `Bearer ${forged}$`, url: '/' }), `${forged}$`],
      [() => verifier.authenticate({ authorization: [`Bearer ${forged}`, 'Bearer b'], url: '/' }), forged],
      [() => verifier.verify(good(), { scopes: ['admin'] }), ''],
    ];
    for (const [run, token] of cases) {
      expectNoLeak(await rejection(run()), token, [jwks.server.jwksUri, jwks.server.issuer.replace('http://', '')]);
    }
  });
});

/** Everything a client or a log of the response could see of `error`. */
function expectNoLeak(error: TokenwardError, token: string, more: string[]): void {
  const visible = [error.message, error.description, error.wwwAuthenticate ?? '', JSON.stringify(error.body), JSON.stringify(error), JSON.stringify(error.headers), String(error), error.stack ?? ''].join('\n');
  const secrets = [...token.split('.').filter((s) => s.length >= 8), jwks.key.jwk.x as string, jwks.key.jwk.y as string, impostor.jwk.x as string, ...more];
  for (const secret of secrets) expect(visible).not.toContain(secret);
  expect(visible).not.toMatch(/\n\s+at |\.ts\b|\.js\b|node_modules|\/work\//);
}
