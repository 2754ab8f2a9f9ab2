/**
 * Keys rotated at the provider (README "Rotating keys without a refusal"): a provider may sign
 * with a key as soon as it publishes it (oidc-provider does), so a token under a kid we have not
 * seen, issued since our last fetch, may be good while the cooldown forbids asking again. It is
 * answered 503 key_pending with the seconds left until the window ends, and the key set is fetched
 * then without waiting for a request. Real JWKS servers on 127.0.0.1 and real timers, with
 * cooldowns of a few hundred milliseconds; the clock option only where a test reads Retry-After.
 */
import { createVerifier, RevocationList, TokenwardError, type Verifier, type VerifierOptions } from '@tokenward/core';
import { figure } from '../../../test/support/figures';
import { startJwksServer, type JwksServer } from '../../../test/support/jwks-server';
import { makeKey, type TestKey } from '../../../test/support/keys';
import { claimsAt, EventLog, rejection, testClock } from '../../../test/support/observe';
import { mint, now } from '../../../test/support/tokens';

const audience = 'https://api.example.com';
const COOLDOWN = 400;

let k1: TestKey;
let k2: TestKey;
beforeAll(() => {
  k1 = makeKey('ES256', 'k1');
  k2 = makeKey('ES256', 'k2');
});

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((part) => part.close()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const randomKid = () => `kid-${Math.random().toString(36).slice(2)}`;

function token(key: TestKey, server: JwksServer, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): string {
  return mint(key, { issuer: server.issuer, audience }, { claims, header });
}

interface Rotation {
  server: JwksServer;
  verifier: Verifier;
  log: EventLog;
  /** Date.now() just before the first fetch started: the window ends COOLDOWN after it at the earliest. */
  fetchedFrom: number;
}

/**
 * A verifier that has fetched a set holding k1 only, after which the provider published k2 and
 * signs with it at once: the moment of issue 19.
 */
async function rotated(options: Partial<VerifierOptions> = {}, published = [k1.jwk]): Promise<Rotation> {
  const server = await startJwksServer(published);
  open.push(server);
  const log = new EventLog();
  const verifier = createVerifier({ issuer: server.issuer, audience, jwksUri: server.jwksUri, onEvent: log.listener, ...options, jwks: { cooldown: COOLDOWN, ...options.jwks } });
  open.push(verifier);
  const fetchedFrom = Date.now();
  await verifier.verify(token(k1, server, options.clock === undefined ? {} : claimsAt(options.clock as ReturnType<typeof testClock>)));
  expect(server.jwksRequests).toBe(1);
  server.setKeys([k1.jwk, k2.jwk]);
  return { server, verifier, log, fetchedFrom };
}

describe('a token under a kid published since the last fetch is answered 503 key_pending while the cooldown lasts', () => {
  test('a new-kid token issued after the fetch gets 503 temporarily_unavailable, a Retry-After of 1 s up to the cooldown rounded up, and causes no fetch', async () => {
    const { server, verifier } = await rotated();

    const error = await rejection(verifier.verify(token(k2, server)));
    expect(error).toMatchObject({ reason: 'key_pending', status: 503, code: 'temporarily_unavailable', description: 'Signing key not yet known; retry shortly' });
    const retryAfter = Number(error.headers['Retry-After']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(COOLDOWN / 1000));
    expect(error.headers['Cache-Control']).toBe('no-store');
    expect(server.jwksRequests).toBe(1);
  });

  test('Retry-After is the whole seconds left until the scheduled fetch, rounded up', async () => {
    const clock = testClock();
    const { server, verifier } = await rotated({ clock, jwks: { cooldown: 10_000 } });
    const retryAfter = async () => (await rejection(verifier.verify(token(k2, server, claimsAt(clock))))).headers['Retry-After'];

    // Each step leaves half a second of real time to the run before the figure would change.
    expect(await retryAfter()).toBe('10');
    clock.advance(4_500);
    expect(await retryAfter()).toBe('6');
    clock.advance(5_000);
    expect(await retryAfter()).toBe('1');
    expect(server.jwksRequests).toBe(1);
  });

  test('iat is read in whole seconds: with clockTolerance 0, a token issued after the fetch within its second may still be new', async () => {
    const { server, verifier } = await rotated({ clockTolerance: 0 });
    expect((await rejection(verifier.verify(token(k2, server, { iat: now() })))).reason).toBe('key_pending');
  });

  test('a token issued up to clockTolerance before the fetch may still be new (the issuer clock may lag ours); with a smaller tolerance it is final', async () => {
    const lagging = { iat: now() - 3 };
    const tolerant = await rotated();
    expect((await rejection(tolerant.verifier.verify(token(k2, tolerant.server, lagging)))).reason).toBe('key_pending');

    const strict = await rotated({ clockTolerance: 1 });
    expect(await rejection(strict.verifier.verify(token(k2, strict.server, lagging)))).toMatchObject({ reason: 'unknown_kid', status: 401 });
  });
});

describe('a token that waits on a fetch begun before it came may be newer than what that fetch brings', () => {
  test('when the fetch does not bring its kid, the token that began it gets 401 unknown_kid and the one that joined it 503 key_pending', async () => {
    const clock = testClock();
    const { server, verifier } = await rotated({ clock });
    clock.advance(COOLDOWN);
    const [began, joined] = await Promise.all([
      rejection(verifier.verify(token(k1, server, claimsAt(clock), { kid: randomKid() }))),
      rejection(verifier.verify(token(k1, server, claimsAt(clock), { kid: randomKid() }))),
    ]);
    expect(server.jwksRequests).toBe(2);
    // The first was checked against a set fetched after it came; the second against one asked for before.
    expect(began).toMatchObject({ reason: 'unknown_kid', status: 401 });
    expect(joined).toMatchObject({ reason: 'key_pending', status: 503 });
  });
});

describe('the key set is fetched again when the window ends, without waiting for a request', () => {
  test('the scheduled fetch brings the new key with no request in between, and the same token is then accepted', async () => {
    const { server, verifier, log, fetchedFrom } = await rotated();
    const jwt = token(k2, server);
    expect((await rejection(verifier.verify(jwt))).reason).toBe('key_pending');
    const answeredAt = Date.now();

    const refreshed = await log.next('keys_refreshed', 5_000);
    const fetchedAfter = Date.now() - fetchedFrom;
    figure(`key_pending: the scheduled fetch came ${fetchedAfter} ms after the previous one (cooldown ${COOLDOWN} ms), ${Date.now() - answeredAt} ms after the 503`);
    expect(refreshed).toMatchObject({ added: ['k2'], removed: [] });
    expect(server.jwksRequests).toBe(2);
    // Not before the window ends (a timer may fire a millisecond early by Date.now).
    expect(fetchedAfter).toBeGreaterThanOrEqual(COOLDOWN - 5);

    await expect(verifier.verify(jwt)).resolves.toMatchObject({ header: expect.objectContaining({ kid: 'k2' }) });
    expect(server.jwksRequests).toBe(2);
  });
});

describe('an unknown kid that cannot be a key published since the last fetch stays 401 unknown_kid', () => {
  test('a token issued before the last fetch, and one without iat, are 401 unknown_kid and schedule no fetch', async () => {
    const { server, verifier } = await rotated();

    const before = await rejection(verifier.verify(token(k2, server, { iat: now() - 60 })));
    expect(before).toMatchObject({ reason: 'unknown_kid', status: 401, code: 'invalid_token' });
    const undated = await rejection(verifier.verify(token(k2, server, { iat: undefined })));
    expect(undated).toMatchObject({ reason: 'unknown_kid', status: 401 });

    await sleep(COOLDOWN * 2);
    expect(server.jwksRequests).toBe(1);
  });

  test('a kid the key set names but leaves out (use enc) is 401 unknown_kid, even on a token issued since the fetch', async () => {
    const { server, verifier } = await rotated({}, [k1.jwk, { ...k2.jwk, use: 'enc' }]);
    expect(await rejection(verifier.verify(token(k2, server)))).toMatchObject({ reason: 'unknown_kid', status: 401 });
  });

  test('a kid the last fetch withdrew is 401 unknown_kid, even on a token issued since that fetch', async () => {
    const clock = testClock();
    const { server, verifier, log } = await rotated({ clock }, [k1.jwk, k2.jwk]);
    clock.advance(COOLDOWN);
    // The provider withdraws k2 (compromised, say); an unknown kid lets the next window's fetch see it.
    server.setKeys([k1.jwk]);
    await rejection(verifier.verify(token(k1, server, claimsAt(clock), { kid: randomKid() })));
    expect(log.of('keys_refreshed').at(-1)).toMatchObject({ removed: ['k2'] });

    expect(await rejection(verifier.verify(token(k2, server, claimsAt(clock))))).toMatchObject({ reason: 'unknown_kid', status: 401 });
  });
});

describe('random kids cannot buy more than one fetch per window', () => {
  test('two thousand random-kid tokens over two windows are all 503 key_pending and cause one fetch per window, none from the 503s themselves', async () => {
    // A wider window than the other tests': minting and answering 1,000 tokens on a loaded CI
    // machine can outlast 400 ms, and a window that ends mid-flood rightly fetches again.
    const window = 2_000;
    const { server, verifier, log, fetchedFrom } = await rotated({ jwks: { cooldown: window } });
    const flood = () => Array.from({ length: 1_000 }, () => token(k1, server, {}, { kid: randomKid() }));
    const [first, second] = [flood(), flood()];
    const answer = async (tokens: string[]) => (await Promise.all(tokens.map((jwt) => rejection(verifier.verify(jwt))))).map((e) => `${e.reason} ${e.status}`);

    expect(new Set(await answer(first))).toEqual(new Set(['key_pending 503']));
    expect(server.jwksRequests).toBe(1);
    await log.next('keys_refreshed', 5_000);
    expect(server.jwksRequests).toBe(2);

    expect(new Set(await answer(second))).toEqual(new Set(['key_pending 503']));
    expect(server.jwksRequests).toBe(2);
    await log.next('keys_refreshed', 5_000);
    // No traffic now: nothing more is scheduled.
    await sleep(window * 2);
    const elapsed = Date.now() - fetchedFrom;
    figure(`2,000 random kids: ${server.jwksRequests} JWKS fetches in ${elapsed} ms (cooldown ${window} ms)`);
    expect(server.jwksRequests).toBe(3);
    expect(server.jwksRequests).toBeLessThanOrEqual(Math.floor(elapsed / window) + 1);
  });
});

describe('a fetch that starts before the scheduled one takes its place', () => {
  test('a request after the window fetches, and the fetch scheduled for that moment does not follow it', async () => {
    const clock = testClock();
    const { server, verifier } = await rotated({ clock });
    expect((await rejection(verifier.verify(token(k2, server, claimsAt(clock))))).reason).toBe('key_pending');
    clock.advance(COOLDOWN);
    await expect(verifier.verify(token(k2, server, claimsAt(clock)))).resolves.toMatchObject({ header: expect.objectContaining({ kid: 'k2' }) });
    expect(server.jwksRequests).toBe(2);
    // Past the moment the scheduled fetch was set for.
    await sleep(COOLDOWN * 2);
    expect(server.jwksRequests).toBe(2);
  });
});

describe("unknownKidInCooldown 'reject' keeps the 401, and the key still arrives when the window ends", () => {
  test('a new-kid token is 401 unknown_kid inside the cooldown, the scheduled fetch brings its key with no request, and it is then accepted', async () => {
    const { server, verifier, log } = await rotated({ jwks: { unknownKidInCooldown: 'reject' } });
    const jwt = token(k2, server);
    expect(await rejection(verifier.verify(jwt))).toMatchObject({ reason: 'unknown_kid', status: 401 });
    expect(server.jwksRequests).toBe(1);

    expect(await log.next('keys_refreshed', 5_000)).toMatchObject({ added: ['k2'] });
    await expect(verifier.verify(jwt)).resolves.toMatchObject({ header: expect.objectContaining({ kid: 'k2' }) });
    expect(server.jwksRequests).toBe(2);
  });
});

describe('verifier.close() cancels the scheduled fetch', () => {
  test('after a key_pending answer and close(), nothing is fetched past the window', async () => {
    const { server, verifier } = await rotated();
    expect((await rejection(verifier.verify(token(k2, server)))).reason).toBe('key_pending');
    verifier.close();
    await sleep(COOLDOWN * 2);
    expect(server.jwksRequests).toBe(1);
  });

  test('after a thousand random kids, close() leaves no fetch behind: they scheduled one timer, not one each', async () => {
    const { server, verifier } = await rotated();
    const tokens = Array.from({ length: 1_000 }, () => token(k1, server, {}, { kid: randomKid() }));
    await Promise.all(tokens.map((jwt) => rejection(verifier.verify(jwt))));
    verifier.close();
    await sleep(COOLDOWN * 2);
    expect(server.jwksRequests).toBe(1);
  });
});

describe('an error given to several requests keeps its Retry-After in the copy each one gets', () => {
  test('one rejection thrown for two requests (here by a revocation list) answers both with its retryAfter', async () => {
    const shared = new TokenwardError('key_pending', { retryAfter: 7 });
    class Unreachable extends RevocationList {
      override isRevoked(): boolean {
        throw shared;
      }
    }
    const { server } = await rotated();
    const verifier = createVerifier({ issuer: server.issuer, audience, jwksUri: server.jwksUri, revocation: new Unreachable() });
    const jwt = token(k1, server);
    const first = await rejection(verifier.verify(jwt));
    const second = await rejection(verifier.verify(jwt));
    expect(second).not.toBe(first);
    expect([first.headers['Retry-After'], second.headers['Retry-After']]).toEqual(['7', '7']);
  });
});
