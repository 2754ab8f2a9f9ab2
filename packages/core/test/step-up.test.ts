/**
 * RFC 9470 step-up in core (step-up.ts, route.ts): a route's `acrValues` and `maxAge` against the
 * token's `acr` and `auth_time`, answered 401 insufficient_user_authentication with the challenge
 * parameters the RFC shows. Tokens signed by a key of a real JWKS server on 127.0.0.1.
 */
import { createVerifier, routePolicy, type TokenwardError, type Verifier, type VerifierOptions } from '@tokenward/core';
import { withDpop } from '../../../test/support/challenges';
import { serveOneKey } from '../../../test/support/jwks-server';
import { rejection } from '../../../test/support/observe';
import { mint, now } from '../../../test/support/tokens';

const audience = 'https://api.example.com';
const jwks = serveOneKey('ES256', 'k1');
const verifiers: Verifier[] = [];
afterEach(() => {
  for (const verifier of verifiers.splice(0)) verifier.close();
});

function makeVerifier(options: Partial<VerifierOptions> = {}): Verifier {
  const verifier = createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, ...options });
  verifiers.push(verifier);
  return verifier;
}
const token = (claims: Record<string, unknown>) => mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims });
const request = (jwt: string) => ({ authorization: `Bearer ${jwt}` });
const refused = (verifier: Verifier, jwt: string, policy: Parameters<Verifier['check']>[1]): Promise<TokenwardError> =>
  rejection(Promise.resolve().then(() => verifier.check(request(jwt), policy)));

describe('acrValues: the token’s acr must be one of them', () => {
  test('one of the values passes; another, or none, is a 401 with acr_values in the challenge', async () => {
    const verifier = makeVerifier();
    const policy = routePolicy({ acrValues: ['phr', 'phrh'] });
    await expect(verifier.check(request(token({ acr: 'phrh' })), policy)).resolves.toMatchObject({ subject: 'user-42' });
    for (const acr of ['pwd', undefined, 42, ['phr']]) {
      const error = await refused(verifier, token({ acr }), policy);
      expect(error).toMatchObject({ reason: 'acr_insufficient', status: 401, code: 'insufficient_user_authentication' });
      expect(error.headers['WWW-Authenticate']).toBe(
        withDpop('Bearer realm="api", error="insufficient_user_authentication", error_description="A different authentication level is required", acr_values="phr phrh"'),
      );
      expect(error.detail).toMatchObject({ claim: 'acr', expected: ['phr', 'phrh'] });
    }
  });
});

describe('maxAge: the token’s auth_time must be recent enough', () => {
  test('within max age (and the clock tolerance) passes; older or absent is a 401 with max_age', async () => {
    const verifier = makeVerifier({ clockTolerance: 5 });
    const policy = routePolicy({ maxAge: 300 });
    await expect(verifier.check(request(token({ auth_time: now() - 100 })), policy)).resolves.toBeDefined();
    await expect(verifier.check(request(token({ auth_time: now() - 303 })), policy)).resolves.toBeDefined();
    for (const authTime of [now() - 320, undefined, 'yesterday']) {
      const error = await refused(verifier, token({ auth_time: authTime }), policy);
      expect(error).toMatchObject({ reason: 'auth_time_too_old', status: 401 });
      expect(error.headers['WWW-Authenticate']).toMatch(/error="insufficient_user_authentication", error_description="More recent authentication is required", max_age="300", DPoP /);
    }
  });

  test('judged on every request: a cached token that was recent enough stops being so', async () => {
    let clock = Date.now();
    const verifier = makeVerifier({ clock: () => clock });
    const policy = routePolicy({ maxAge: 60 });
    const jwt = token({ auth_time: Math.floor(clock / 1000) - 30 });
    await verifier.check(request(jwt), policy);
    await verifier.check(request(jwt), policy); // its second verification stores it in the cache
    expect(verifier.check(request(jwt), policy)).toMatchObject({ subject: 'user-42' }); // a hit, synchronous
    clock += 40_000;
    expect(await refused(verifier, jwt, policy)).toMatchObject({ reason: 'auth_time_too_old' });
    // The same token is fine for a route that asks nothing of the authentication.
    expect(verifier.check(request(jwt), routePolicy())).toMatchObject({ subject: 'user-42' });
  });
});

describe('with other conditions', () => {
  test('both declared: both parameters are in the challenge, whichever failed', async () => {
    const verifier = makeVerifier();
    const error = await refused(verifier, token({ acr: 'phr', auth_time: now() - 1000 }), routePolicy({ acrValues: ['phr'], maxAge: 60 }));
    expect(error.reason).toBe('auth_time_too_old');
    expect(error.headers['WWW-Authenticate']).toMatch(/acr_values="phr", max_age="60", DPoP /);
  });

  test('authentication is checked before scopes: a weak token without the scope is told to authenticate again (401), not 403', async () => {
    const verifier = makeVerifier();
    const error = await refused(verifier, token({ scope: 'profile' }), routePolicy({ scopes: ['admin'], acrValues: ['mfa'] }));
    expect(error).toMatchObject({ reason: 'acr_insufficient', status: 401 });
    const strong = await refused(verifier, token({ scope: 'profile', acr: 'mfa' }), routePolicy({ scopes: ['admin'], acrValues: ['mfa'] }));
    expect(strong).toMatchObject({ reason: 'insufficient_scope', status: 403 });
  });

  test('each level’s condition holds: a controller’s acr and a handler’s max age both apply; public on the handler lifts the controller’s', async () => {
    const verifier = makeVerifier();
    const both = routePolicy({ acrValues: ['mfa'] }, { maxAge: 60 });
    await expect(verifier.check(request(token({ acr: 'mfa', auth_time: now() - 10 })), both)).resolves.toBeDefined();
    expect(await refused(verifier, token({ acr: 'mfa' }), both)).toMatchObject({ reason: 'auth_time_too_old' });
    expect(await refused(verifier, token({ auth_time: now() - 10 }), both)).toMatchObject({ reason: 'acr_insufficient' });
    expect(routePolicy({ acrValues: ['mfa'] }, { public: true })).toMatchObject({ authenticate: false });
    // A step-up route cannot be met anonymously: credentials are required.
    expect(routePolicy({ maxAge: 60, optional: true })).toMatchObject({ authenticate: true, credentialsRequired: true });
  });

  test('verifier.authorize() applies step-up too', async () => {
    const verifier = makeVerifier();
    const verified = await verifier.verify(token({ acr: 'pwd' }));
    expect(() => verifier.authorize(verified, { acrValues: ['mfa'] })).toThrow(expect.objectContaining({ reason: 'acr_insufficient' }));
    expect(verifier.authorize(verified, { acrValues: ['pwd'] })).toBe(verified);
  });

  test('a declaration that cannot be sent in a challenge, or is not a number of seconds, is a TypeError', () => {
    for (const acrValues of [[], ['two words'], ['"quoted"'], [''], 'mfa']) expect(() => routePolicy({ acrValues: acrValues as string[] })).toThrow(TypeError);
    for (const maxAge of [-1, 1.5, Number.NaN, '60']) expect(() => routePolicy({ maxAge: maxAge as number })).toThrow(TypeError);
  });
});
