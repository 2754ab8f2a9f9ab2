/**
 * Vetted protected headers are remembered (jws/header-cache.ts) so that the tokens of one issuer
 * skip the header's parse: per verifier, by the header's exact bytes, flat headers only, and a
 * bounded number of them. Real JWKS server on 127.0.0.1.
 */
import { createVerifier, type VerifierOptions } from '@tokenward/core';
import { HeaderCache } from '../src/jws/header-cache';
import { serveOneKey } from '../../../test/support/jwks-server';
import { rejection, thrown } from '../../../test/support/observe';
import { json, mint } from '../../../test/support/tokens';

const audience = 'https://api.example.com';
const policy = { algorithms: new Set(['ES256']), requireTyp: false };

const jwks = serveOneKey('ES256', 'k1');

const verifierWith = (options: Partial<VerifierOptions> = {}) =>
  createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, tokenCache: false, ...options });
const token = (header: Record<string, unknown> = {}, claims: Record<string, unknown> = {}) =>
  mint(jwks.key, { issuer: jwks.server.issuer, audience }, { header, claims });

describe('a remembered header is judged by each verifier’s own policy', () => {
  test('a header one verifier accepted is refused by a verifier that requires typ at+jwt', async () => {
    const jwt = token({ typ: 'JWT' });
    await expect(verifierWith().verify(jwt)).resolves.toMatchObject({ subject: 'user-42' });
    expect((await rejection(verifierWith({ requireTyp: true }).verify(jwt))).reason).toBe('typ_invalid');
  });

  test('a header one verifier accepted is refused by a verifier that does not allow its alg', async () => {
    const jwt = token();
    await verifierWith().verify(jwt);
    expect((await rejection(verifierWith({ algorithms: ['RS256'] }).verify(jwt))).reason).toBe('alg_not_allowed');
  });
});

describe('a token with a remembered header is still checked in full', () => {
  test('a forged payload under a header seen before is refused signature_invalid', async () => {
    const verifier = verifierWith();
    const jwt = token();
    await verifier.verify(jwt);
    const [header, , signature] = jwt.split('.');
    const forged = `${header}.${json({ iss: jwks.server.issuer, aud: audience, sub: 'admin', exp: Math.floor(Date.now() / 1000) + 60 })}.${signature}`;
    expect((await rejection(verifier.verify(forged))).reason).toBe('signature_invalid');
  });

  test('an expired token under a header seen before is refused token_expired', async () => {
    const verifier = verifierWith();
    await verifier.verify(token());
    const iat = Math.floor(Date.now() / 1000) - 600;
    expect(await rejection(verifier.verify(token({}, { iat, exp: iat + 300 })))).toMatchObject({ reason: 'token_expired' });
  });
});

describe('what tokens share', () => {
  test('tokens with the same flat header share one header object', async () => {
    const verifier = verifierWith();
    const [first, second] = [await verifier.verify(token()), await verifier.verify(token())];
    expect(second.header).toBe(first.header);
  });

  test('a remembered header is frozen before anyone gets it', () => {
    const cache = new HeaderCache(policy);
    const header = cache.parse(json({ alg: 'ES256', kid: 'k1' }));
    expect(Object.isFrozen(header)).toBe(true);
    expect(() => {
      (header as { kid?: string }).kid = 'other';
    }).toThrow(TypeError);
  });

  test('a header with a nested value is parsed for each token, so no token sees another’s object', async () => {
    const verifier = verifierWith();
    const header = { ext: { note: 'nested' } };
    const [first, second] = [await verifier.verify(token(header)), await verifier.verify(token(header))];
    expect(second.header).not.toBe(first.header);
    expect(second.header?.ext).not.toBe(first.header?.ext);
    expect(second.header?.ext).toEqual({ note: 'nested' });
  });
});

describe('what hostile headers can take', () => {
  const segment = (n: number) => json({ alg: 'ES256', kid: `k-${n}` });

  test('after a flood of other headers the first one is parsed afresh', () => {
    const cache = new HeaderCache(policy);
    const first = cache.parse(segment(0));
    expect(cache.parse(segment(0))).toBe(first);
    for (let n = 1; n <= 1000; n++) cache.parse(segment(n));
    const again = cache.parse(segment(0));
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });

  test('a header in use outlives a flood of 64 others, the least recently used goes first', () => {
    const cache = new HeaderCache(policy);
    const first = cache.parse(segment(0));
    const second = cache.parse(segment(1));
    for (let n = 2; n < 64; n++) cache.parse(segment(n));
    cache.parse(segment(0));
    cache.parse(segment(64));
    expect(cache.parse(segment(0))).toBe(first);
    expect(cache.parse(segment(1))).not.toBe(second);
  });

  test('a header of more than 1,024 characters is accepted but not remembered', () => {
    const cache = new HeaderCache(policy);
    const long = json({ alg: 'ES256', kid: 'k1', note: 'x'.repeat(800) });
    expect(long.length).toBeGreaterThan(1024);
    expect(cache.parse(long)).not.toBe(cache.parse(long));
  });
});

describe('check() still tells a malformed request from an invalid token, synchronously', () => {
  const check = (credentials: string) => verifierWith().check({ authorization: `Bearer ${credentials}` });

  test.each([
    ['a b64token that is not a compact JWS', () => 'abc+/==', 'token_malformed', 401],
    ['five segments (JWE)', () => 'a.b.c.d.e', 'token_encrypted', 401],
    ['a compact JWS with padding', () => `${token()}=`, 'token_malformed', 401],
    ['characters outside b64token', () => 'abc$def.ghi.jkl', 'authorization_malformed', 400],
    ['a JWE with characters outside b64token', () => 'a.b.c.d.e$', 'authorization_malformed', 400],
  ])('%s is refused before any promise', (_name, credentials, reason, status) => {
    const error = thrown(() => check(credentials()));
    expect([error.reason, error.status]).toEqual([reason, status]);
  });
});
