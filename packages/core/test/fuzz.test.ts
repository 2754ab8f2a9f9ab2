/**
 * Property-based fuzzing of the verifier with fast-check: seeded and reproducible
 * (FUZZ_SEED, default 20261122; FUZZ_RUNS, default 150 per property in CI; `pnpm fuzz` runs
 * 20,000). Everything goes through createVerifier and a real JWKS server on 127.0.0.1.
 *
 * Properties: whatever the input, verify either returns a token that satisfies every rule or
 * throws a TokenwardError with a known reason; never another exception, never a hang. A bit flip
 * anywhere in a valid token is refused. The same for DPoP proofs with a bound token.
 */
import { KeyObject, sign } from 'node:crypto';
import fc from 'fast-check';
import { createVerifier, isTokenwardError, reasons, type AccessToken, type Verifier } from '@tokenward/core';
import { serveKeys, startJwksServer } from '../../../test/support/jwks-server';
import { ath, dpopClient, proof, type DpopClient } from '../../../test/support/dpop';
import { json, mint, now, signInput } from '../../../test/support/tokens';

const seed = Number(process.env.FUZZ_SEED ?? 20261122);
const numRuns = Number(process.env.FUZZ_RUNS ?? 150);
fc.configureGlobal({ seed, numRuns, endOnFailure: true });
// The long budget (`pnpm fuzz`) needs time in proportion: a JWKS-body run (a quarter of numRuns)
// took about 30 ms here, the other properties well under 1 ms.
jest.setTimeout(20_000 + numRuns * 20);
// A verify that takes longer than this on any input is a denial-of-service finding. Generous on
// purpose: this is a safety bound, not a speed measurement (speed lives in bench/).
const BOUND_MS = 1000;

const audience = 'https://api.example.com';
const jwks = serveKeys({ rs: 'RS256', es: 'ES256' });
const { rs, es } = jwks.keys;
let verifier: Verifier;

beforeAll(() => {
  verifier = createVerifier({ issuer: jwks.server.issuer, audience, tokenCache: false, jwks: { cooldown: 0 } });
});

/** Runs verify and classifies the outcome; fails the property on anything but our error. */
async function outcome(run: () => Promise<AccessToken | undefined>): Promise<AccessToken | undefined | 'rejected'> {
  const started = performance.now();
  let result: AccessToken | undefined | 'rejected';
  try {
    result = await run();
  } catch (error) {
    if (!isTokenwardError(error) || !(error.reason in reasons)) throw error;
    result = 'rejected';
  }
  const elapsed = performance.now() - started;
  if (elapsed > BOUND_MS) throw new Error(`verify took ${Math.round(elapsed)} ms`);
  return result;
}

/** What every accepted token must satisfy, checked independently of the verifier's code. */
function satisfiesRules(token: AccessToken): boolean {
  const { claims, header } = token;
  const t = now();
  const aud = claims.aud;
  return (
    header !== undefined &&
    typeof claims.exp === 'number' &&
    claims.exp > t - 5 &&
    claims.iss === jwks.server.issuer &&
    (aud === audience || (Array.isArray(aud) && aud.includes(audience))) &&
    ['RS256', 'ES256'].includes(header.alg) &&
    !('jku' in header || 'jwk' in header || 'x5u' in header || 'x5c' in header || 'crit' in header)
  );
}

const b64url = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('')), maxLength: 400 });

describe('verify on arbitrary input', () => {
  test('arbitrary strings are refused with a reason, never another error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 2000 }), async (input) => {
        expect(await outcome(() => verifier.verify(input))).toBe('rejected');
      }),
    );
  });

  test('arbitrary three-segment base64url strings are refused', async () => {
    await fc.assert(
      fc.asyncProperty(b64url, b64url, b64url, async (a, b, c) => {
        expect(await outcome(() => verifier.verify(`${a}.${b}.${c}`))).toBe('rejected');
      }),
    );
  });

  test('arbitrary headers and claims, correctly signed, are accepted only when every rule holds', async () => {
    // Mostly valid values with a dash of junk, so that many tokens pass and the rules are tested
    // on both sides of each boundary.
    const mostly = <T, U>(valid: fc.Arbitrary<T>, junk: fc.Arbitrary<U>) => fc.oneof({ arbitrary: valid, weight: 6 }, { arbitrary: junk, weight: 1 });
    const rare = <T>(value: fc.Arbitrary<T>) => fc.oneof({ arbitrary: fc.constant(undefined), weight: 8 }, { arbitrary: value, weight: 1 });
    const header = fc.record({
      alg: mostly(fc.constantFrom('RS256', 'ES256'), fc.constantFrom('HS256', 'none', 'PS256', 'RS512')),
      kid: mostly(fc.constant('MATCHING'), fc.oneof(fc.constantFrom('rs', 'es', 'other'), fc.jsonValue())),
      typ: mostly(fc.constantFrom('at+jwt', 'JWT'), fc.jsonValue()),
      crit: rare(fc.array(fc.string())),
      jku: rare(fc.webUrl()),
    });
    const claims = fc.record({
      iss: mostly(fc.constant('ISSUER'), fc.jsonValue()),
      aud: mostly(fc.constantFrom(audience, [audience, 'other']), fc.oneof(fc.array(fc.string()), fc.jsonValue())),
      exp: mostly(fc.integer({ min: -600, max: 90000 }).map((d) => now() + d), fc.jsonValue()),
      iat: mostly(fc.integer({ min: -90000, max: 600 }).map((d) => now() + d), fc.jsonValue()),
      nbf: rare(mostly(fc.integer({ min: -600, max: 600 }).map((d) => now() + d), fc.jsonValue())),
      sub: mostly(fc.string(), fc.jsonValue()),
      scope: mostly(fc.string(), fc.jsonValue()),
      polluter: rare(fc.constant({ polluted: true })),
    });
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(header, claims, fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 4 }), async (h, c, extra) => {
        const { polluter, ...rest } = c;
        const payload: Record<string, unknown> = { ...extra, ...rest, iss: c.iss === 'ISSUER' ? jwks.server.issuer : c.iss };
        if (polluter !== undefined) Object.defineProperty(payload, '__proto__', { value: polluter, enumerable: true });
        const key = h.alg === 'ES256' ? es : rs;
        const cleanHeader = Object.fromEntries(Object.entries({ ...h, kid: h.kid === 'MATCHING' ? key.kid : h.kid }).filter(([, v]) => v !== undefined));
        const signingAlg = h.alg === 'ES256' || h.alg === 'PS256' || h.alg === 'RS512' ? h.alg : 'RS256';
        const input = `${json(cleanHeader)}.${json(payload)}`;
        const token = `${input}.${signInput(signingAlg, key.privateKey, input)}`;
        const result = await outcome(() => verifier.verify(token));
        if (result !== 'rejected') {
          accepted++;
          expect(satisfiesRules(result as AccessToken)).toBe(true);
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
    );
    // The generator must reach the accepting side too, or the property proves nothing.
    expect(accepted).toBeGreaterThan(0);
  });

  test('arbitrary Authorization headers are refused or answered with a reason', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string().map((s) => `Bearer ${s}`), fc.array(fc.string(), { maxLength: 3 })),
        async (authorization) => {
          const result = await outcome(() => verifier.authenticate({ authorization, url: '/x?access_token=a' }));
          expect(result).toBe('rejected');
        },
      ),
    );
  });
});

describe('a valid token with one bit flipped', () => {
  test('is refused wherever the bit is', async () => {
    const token = mint(rs, { issuer: jwks.server.issuer, audience });
    await expect(verifier.verify(token)).resolves.toBeDefined();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: token.length - 1 }), fc.nat({ max: 6 }), async (index, bit) => {
        const flipped = String.fromCharCode(token.charCodeAt(index) ^ (1 << bit));
        const altered = token.slice(0, index) + flipped + token.slice(index + 1);
        expect(await outcome(() => verifier.verify(altered))).toBe('rejected');
      }),
    );
  });
});

describe('arbitrary JWKS bodies', () => {
  test('never crash the verifier: a valid token is accepted only when its key is really published', async () => {
    const jwkLike = fc.oneof(
      fc.constant(rs.jwk),
      fc.record({ kty: fc.constantFrom('RSA', 'EC', 'OKP', 'oct', 'x'), kid: fc.oneof(fc.constant('rs'), fc.jsonValue()), n: fc.oneof(fc.constant(rs.jwk.n), b64url), e: fc.constantFrom('AQAB', 'AQ', ''), use: fc.constantFrom('sig', 'enc'), alg: fc.jsonValue() }, { requiredKeys: [] }),
      fc.jsonValue(),
    );
    const body = fc.oneof(fc.record({ keys: fc.array(jwkLike, { maxLength: 5 }) }), fc.jsonValue());
    await fc.assert(
      fc.asyncProperty(body, async (published) => {
        const server = await startJwksServer();
        server.setKeys(published as Record<string, unknown>);
        try {
          const fresh = createVerifier({ issuer: server.issuer, audience, jwksUri: server.jwksUri, tokenCache: false });
          const result = await outcome(() => fresh.verify(mint(rs, { issuer: server.issuer, audience })));
          if (result !== 'rejected') {
            const keys = (published as { keys?: unknown[] }).keys ?? [];
            expect(keys.filter((k) => k === rs.jwk)).toHaveLength(1);
          }
        } finally {
          await server.close();
        }
      }),
      { numRuns: Math.max(20, Math.floor(numRuns / 4)) },
    );
  });
});

describe('DPoP proofs (RFC 9449), arbitrary and mutated', () => {
  const origin = 'https://api.example.com';
  let client: DpopClient;
  let bound: string;
  let dpopVerifier: Verifier;
  beforeAll(async () => {
    client = await dpopClient('ES256');
    bound = mint(rs, { issuer: jwks.server.issuer, audience }, { claims: { cnf: { jkt: client.jkt } } });
    // Signatures inline, so that a run's timing bound measures the parser, not the thread pool.
    dpopVerifier = createVerifier({ issuer: jwks.server.issuer, audience, signatureWork: 'inline' });
  });
  const request = (dpop: string | string[] | undefined, authorization = `DPoP ${bound}`) => ({ authorization, dpop, method: 'GET', url: '/r', origin });

  test('arbitrary DPoP header values with a bound token are refused with a reason, never another error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ maxLength: 400 }), fc.array(fc.string({ maxLength: 100 }), { maxLength: 3 }), b64url.map((s) => `${s}.${s}.${s}`)), async (dpop) => {
        expect(await outcome(async () => dpopVerifier.check(request(dpop)))).toBe('rejected');
      }),
    );
  });

  test('arbitrary proof headers and claims, correctly signed, are accepted only when every check holds', async () => {
    const mostly = <T, U>(valid: fc.Arbitrary<T>, junk: fc.Arbitrary<U>) => fc.oneof({ arbitrary: valid, weight: 5 }, { arbitrary: junk, weight: 1 });
    const header = fc.record({
      typ: mostly(fc.constantFrom('dpop+jwt', 'application/dpop+jwt'), fc.oneof(fc.constantFrom('jwt', 'at+jwt'), fc.jsonValue())),
      jwk: mostly(fc.constant('MATCHING'), fc.oneof(fc.constant({ ...rs.jwk, d: 'x' }), fc.constant(rs.jwk), fc.jsonValue())),
      crit: fc.oneof({ arbitrary: fc.constant(undefined), weight: 8 }, { arbitrary: fc.array(fc.string()), weight: 1 }),
    });
    const claims = fc.record({
      jti: mostly(fc.uuid(), fc.jsonValue()),
      htm: mostly(fc.constant('GET'), fc.oneof(fc.constantFrom('POST', 'get'), fc.jsonValue())),
      htu: mostly(fc.constantFrom(`${origin}/r`, `${origin}/r?x=1`, 'HTTPS://API.EXAMPLE.COM:443/r'), fc.oneof(fc.webUrl(), fc.jsonValue())),
      iat: mostly(fc.integer({ min: -290, max: 25 }).map((d) => now() + d), fc.oneof(fc.integer({ min: -100000, max: 100000 }).map((d) => now() + d), fc.jsonValue())),
      ath: mostly(fc.constant('MATCHING'), fc.oneof(fc.string(), fc.jsonValue())),
    });
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(header, claims, async (h, c) => {
        const protectedHeader = Object.fromEntries(Object.entries({ ...h, alg: 'ES256', jwk: h.jwk === 'MATCHING' ? client.jwk : h.jwk }).filter(([, v]) => v !== undefined));
        const payload = { ...c, ath: c.ath === 'MATCHING' ? ath(bound) : c.ath };
        const input = `${json(protectedHeader)}.${json(payload)}`;
        const signature = sign('sha256', Buffer.from(input), { key: KeyObject.from(client.privateKey), dsaEncoding: 'ieee-p1363' }).toString('base64url');
        const result = await outcome(async () => dpopVerifier.check(request(`${input}.${signature}`)));
        if (result !== 'rejected') {
          accepted++;
          // Checked independently of the verifier's code: every RFC 9449 §4.3 check held.
          const t = now();
          expect(typeof h.typ === 'string' && /^(application\/)?dpop\+jwt$/i.test(h.typ)).toBe(true);
          expect(h.jwk === 'MATCHING' && h.crit === undefined && c.htm === 'GET' && typeof c.jti === 'string').toBe(true);
          expect(typeof c.iat === 'number' && c.iat >= t - 301 && c.iat <= t + 31).toBe(true);
          expect(c.ath).toBe('MATCHING');
          expect(new URL(c.htu as string).pathname).toBe('/r');
        }
      }),
    );
    expect(accepted).toBeGreaterThan(0);
  });

  test('a valid proof with one bit flipped is refused wherever the bit is', async () => {
    const valid = await proof(client, { method: 'GET', url: `${origin}/r`, accessToken: bound });
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: valid.length - 1 }), fc.nat({ max: 6 }), async (index, bit) => {
        const altered = valid.slice(0, index) + String.fromCharCode(valid.charCodeAt(index) ^ (1 << bit)) + valid.slice(index + 1);
        expect(await outcome(async () => dpopVerifier.check(request(altered)))).toBe('rejected');
      }),
    );
  });
});
