/**
 * The verified-token cache (README "Options": `tokenCache`, and `revocation` consulted on cache
 * hits too): a repeated token is verified twice, then served from the cache, yet every hit still honours expiry, scopes,
 * revocation and the key set. Real JWKS server on 127.0.0.1; time moved with the `clock` option.
 */
import { createVerifier, RevocationList, type AccessToken, type VerifierOptions } from '@tokenward/core';
import { serveOneKey } from '../../../test/support/jwks-server';
import { cacheToken, claimsAt, rejection, testClock, thrown, type TestClock } from '../../../test/support/observe';
import { mint } from '../../../test/support/tokens';

const audience = 'https://api.example.com';

const jwks = serveOneKey('ES256', 'k1');
afterEach(() => {
  jwks.server.setMode('ok');
  jwks.server.setKeys([jwks.key.jwk]);
});

function token(clock: TestClock, claims: Record<string, unknown> = {}, lifetime = 300): string {
  return mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims: { ...claimsAt(clock, lifetime), ...claims } });
}

function verifierWith(clock: TestClock, options: Partial<VerifierOptions> = {}) {
  return createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, clock, ...options });
}

const bearer = (jwt: string) => ({ authorization: `Bearer ${jwt}` });

describe('a repeated token is verified twice, then served from the cache', () => {
  test('a token used once is not stored, not even in an empty cache', async () => {
    const clock = testClock();
    const verifier = verifierWith(clock);
    const jwt = token(clock);
    const first = await verifier.verify(jwt);

    const pending = verifier.check(bearer(jwt));
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).not.toBe(first);
  });

  test('from the third verify of the same token on, the cached result, even with the key server gone', async () => {
    const clock = testClock();
    const verifier = verifierWith(clock);
    const jwt = token(clock);
    const first = await verifier.verify(jwt);
    const second = await verifier.verify(jwt);
    expect(second).not.toBe(first);
    const requests = jwks.server.jwksRequests;

    jwks.server.setMode('reset');
    expect(await verifier.verify(jwt)).toBe(second);
    expect(await verifier.verify(jwt)).toBe(second);
    expect(jwks.server.jwksRequests).toBe(requests);
  });

  test('a cached token is answered by check() without a promise', async () => {
    const clock = testClock();
    const verifier = verifierWith(clock);
    const jwt = token(clock);
    const first = await cacheToken(verifier, jwt);

    const answer = verifier.check(bearer(jwt));
    expect(answer).not.toBeInstanceOf(Promise);
    expect(answer).toBe(first);
  });

  test('with tokenCache: false every verify is a full verification', async () => {
    const clock = testClock();
    const verifier = verifierWith(clock, { tokenCache: false });
    const jwt = token(clock);
    const first = await verifier.verify(jwt);
    const second = await verifier.verify(jwt);

    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    const pending = verifier.check(bearer(jwt));
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).not.toBe(first);
  });

  test('tokenCache.max bounds the cache: a new token stored in a full one evicts the least recently used', async () => {
    const clock = testClock();
    const verifier = verifierWith(clock, { tokenCache: { max: 2 } });
    const [a, b, c] = [token(clock), token(clock), token(clock)] as [string, string, string];
    const cached = { a: await cacheToken(verifier, a), b: await cacheToken(verifier, b) };
    expect(verifier.check(bearer(b))).toBe(cached.b);

    const second = await cacheToken(verifier, c);
    // Its second verification stored c, in place of a (b was used since).
    expect(verifier.check(bearer(c))).toBe(second);
    expect(verifier.check(bearer(b))).toBe(cached.b);
    expect(verifier.check(bearer(a))).toBeInstanceOf(Promise);
  });
});

describe('admission to a full cache', () => {
  test('a stream of tokens each used once leaves the cached tokens in place', async () => {
    const clock = testClock();
    const verifier = verifierWith(clock, { tokenCache: { max: 3 } });
    const cached = [token(clock), token(clock), token(clock)];
    const verified = await Promise.all(cached.map((jwt) => cacheToken(verifier, jwt)));
    for (let i = 0; i < 40; i++) await verifier.verify(token(clock));

    // A plain LRU would hold the last three of the stream by now.
    cached.forEach((jwt, i) => expect(verifier.check(bearer(jwt))).toBe(verified[i]));
  });

  test('a token that comes back is stored: from its third use on, no verification', async () => {
    const clock = testClock();
    const verifier = verifierWith(clock, { tokenCache: { max: 1 } });
    await cacheToken(verifier, token(clock));
    const jwt = token(clock);
    await verifier.verify(jwt);
    const stored = await verifier.verify(jwt);
    const requests = jwks.server.jwksRequests;
    jwks.server.setMode('reset');
    expect(verifier.check(bearer(jwt))).toBe(stored);
    expect(await verifier.verify(jwt)).toBe(stored);
    expect(jwks.server.jwksRequests).toBe(requests);
  });

  test('close() forgets what the doorkeeper saw: a token verified before it is not stored on its next verification', async () => {
    const clock = testClock();
    const verifier = verifierWith(clock, { tokenCache: { max: 1 } });
    const jwt = token(clock);
    await verifier.verify(jwt);
    verifier.close();
    // jwt's first sighting was forgotten: this verification is its first again.
    await verifier.verify(jwt);
    expect(verifier.check(bearer(jwt))).toBeInstanceOf(Promise);
  });
});

describe('a hit needs the very same token', () => {
  // The cache is keyed by the token's tail (its signature's end); these tokens share it with a
  // cached one and differ elsewhere, so each must be judged on its own.
  test('a cached token with another payload under the same signature is refused signature_invalid', async () => {
    const clock = testClock();
    const verifier = verifierWith(clock);
    const jwt = token(clock);
    await cacheToken(verifier, jwt);
    const [header, , signature] = jwt.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claimsAt(clock, 300), iss: jwks.server.issuer, aud: audience, sub: 'admin', scope: 'admin' })).toString('base64url')}.${signature}`;
    expect((await rejection(verifier.verify(forged))).reason).toBe('signature_invalid');
    await expect(verifier.check(bearer(forged))).rejects.toMatchObject({ reason: 'signature_invalid' });
    // The cached token itself is still served from the cache.
    expect(verifier.check(bearer(jwt))).not.toBeInstanceOf(Promise);
  });

  test('credentials that end like a cached token but are no b64token are refused authorization_malformed', async () => {
    const clock = testClock();
    const verifier = verifierWith(clock);
    const jwt = token(clock);
    await cacheToken(verifier, jwt);
    const error = thrown(() => verifier.check(bearer(`$${jwt}`)));
    expect([error.reason, error.status]).toEqual(['authorization_malformed', 400]);
  });
});

describe('cache entries die at the token exp', () => {
  test('a cached token is served until exp and refused as token_expired after exp + clockTolerance', async () => {
    const clock = testClock();
    const verifier = verifierWith(clock, { clockTolerance: 5 });
    const jwt = token(clock, {}, 60);
    const first = await cacheToken(verifier, jwt);

    clock.advance(58_000);
    expect(await verifier.verify(jwt)).toBe(first);

    clock.advance(8_000);
    // The hit itself refuses (synchronously), and the entry is gone: the next call verifies afresh.
    expect(thrown(() => verifier.check(bearer(jwt)))).toMatchObject({ reason: 'token_expired', status: 401 });
    expect(await rejection(verifier.verify(jwt))).toMatchObject({ reason: 'token_expired', status: 401 });
  });
});

describe('scopes are checked on every call, cache hits included', () => {
  test('a cached token without the admin scope is refused insufficient_scope 403 when admin is required', async () => {
    const clock = testClock();
    const verifier = verifierWith(clock);
    const jwt = token(clock, { scope: 'read:messages' });
    const first = await cacheToken(verifier, jwt);

    const error = await rejection(verifier.verify(jwt, { scopes: ['admin'] }));
    expect(error).toMatchObject({ reason: 'insufficient_scope', status: 403, scope: 'admin' });
    expect(thrown(() => verifier.check(bearer(jwt), { scopes: ['admin'] }))).toMatchObject({ reason: 'insufficient_scope', status: 403 });
    expect(await verifier.verify(jwt, { scopes: ['read:messages'] })).toBe(first);
  });
});

describe('revocation is checked on cache hits', () => {
  test('a cached token whose jti is revoked is refused token_revoked', async () => {
    const clock = testClock();
    const revocation = new RevocationList({ clock });
    const verifier = verifierWith(clock, { revocation });
    const jwt = token(clock);
    const verified = await cacheToken(verifier, jwt);
    const other = token(clock);
    const otherVerified = await cacheToken(verifier, other);

    revocation.revoke({ jti: verified.claims.jti as string, expiresAt: verified.expiresAt });
    expect(await rejection(verifier.verify(jwt))).toMatchObject({ reason: 'token_revoked', status: 401 });
    expect(thrown(() => verifier.check(bearer(jwt)))).toMatchObject({ reason: 'token_revoked' });
    expect(await verifier.verify(other)).toBe(otherVerified);
  });

  test('a cached token of a subject logged out everywhere is refused token_revoked', async () => {
    const clock = testClock();
    const revocation = new RevocationList({ clock });
    const verifier = verifierWith(clock, { revocation });
    const jwt = token(clock, { sub: 'user-42' });
    await cacheToken(verifier, jwt);
    expect(verifier.check(bearer(jwt))).not.toBeInstanceOf(Promise);

    revocation.revokeSubject('user-42');
    expect((await rejection(verifier.verify(jwt))).reason).toBe('token_revoked');
  });
});

describe('a cached token is only served while its key set is usable', () => {
  test('past cacheMaxAge + maxStale with the key server down, a cached token is a 503 like any other', async () => {
    const clock = testClock();
    const verifier = verifierWith(clock, { jwks: { cacheMaxAge: 10_000, maxStale: 10_000, cooldown: 1_000 } });
    const jwt = token(clock, {}, 600);
    const first: AccessToken = await cacheToken(verifier, jwt);

    jwks.server.setMode('error');
    clock.advance(15_000);
    expect(await verifier.verify(jwt)).toBe(first);
    clock.advance(6_000);
    expect(await rejection(verifier.verify(jwt))).toMatchObject({ reason: 'jwks_unavailable', status: 503 });
  });
});
