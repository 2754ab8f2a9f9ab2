/**
 * The remote key set (README "Keys (JWKS)", and the `jwks.*` rows of "Options"), exercised
 * through createVerifier against a real JWKS server on 127.0.0.1: availability (503, never
 * another error), stale-if-error, fetch limits, https, single-flight, the unknown-kid cooldown,
 * rotation, key removal and background refresh. Time is moved with the `clock` option rather
 * than waited for.
 */
import type { ServerResponse } from 'node:http';
import { createVerifier, type VerifierOptions } from '@tokenward/core';
import { makeKey, type TestKey } from '../../../test/support/keys';
import { startJwksServer, type JwksMode, type JwksServer } from '../../../test/support/jwks-server';
import { closedPort, sendJson, startRouteServer, type RouteServer } from '../../../test/support/http-routes';
import { figure } from '../../../test/support/figures';
import { cacheToken, claimsAt, EventLog, rejection, testClock, type TestClock } from '../../../test/support/observe';
import { mint } from '../../../test/support/tokens';

const audience = 'https://api.example.com';
const MB = 1024 * 1024;

let k1: TestKey;
let k2: TestKey;
let spares: TestKey[];
beforeAll(() => {
  k1 = makeKey('ES256', 'k1');
  k2 = makeKey('ES256', 'k2');
  spares = ['s1', 's2', 's3'].map((kid) => makeKey('ES256', kid));
});

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
});

async function jwksServer(keys = [k1.jwk]): Promise<JwksServer> {
  const server = await startJwksServer(keys);
  open.push(server);
  return server;
}

async function routeServer(...args: Parameters<typeof startRouteServer>): Promise<RouteServer> {
  const server = await startRouteServer(...args);
  open.push(server);
  return server;
}

/** A token from `issuer` signed by `key`, valid at the clock's now when one is given. */
function token(key: TestKey, issuer: string, clock?: TestClock, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): string {
  return mint(key, { issuer, audience }, { claims: { ...(clock === undefined ? {} : claimsAt(clock)), ...claims }, header });
}

function verifierFor(server: { issuer: string; jwksUri: string }, options: Partial<VerifierOptions> = {}) {
  return createVerifier({ issuer: server.issuer, audience, jwksUri: server.jwksUri, ...options });
}

describe('a key source that is down at start answers 503 jwks_unavailable and recovers', () => {
  test('a JWKS answering 500 gives jwks_unavailable with status 503, and the same token verifies once the server is back', async () => {
    const server = await jwksServer();
    server.setMode('error');
    const clock = testClock();
    const log = new EventLog();
    // Discovery as users configure it by default: metadata is up, the JWKS is not.
    const verifier = createVerifier({ issuer: server.issuer, audience, clock, onEvent: log.listener });
    const jwt = token(k1, server.issuer);

    const error = await rejection(verifier.verify(jwt));
    expect(error).toMatchObject({ reason: 'jwks_unavailable', status: 503, code: 'temporarily_unavailable' });
    expect(error.headers).toEqual({ 'Retry-After': '30', 'Cache-Control': 'no-store' });
    expect(server.jwksRequests).toBe(1);
    expect(log.of('keys_refresh_failed')).toEqual([expect.objectContaining({ failure: 'http_status', jwksUri: server.jwksUri, staleKeysServing: false })]);

    server.setMode('ok');
    // Within the cold retry gap the source is not asked again: requests do not hammer it.
    expect((await rejection(verifier.verify(jwt))).reason).toBe('jwks_unavailable');
    expect(server.jwksRequests).toBe(1);

    clock.advance(1_000);
    await expect(verifier.verify(jwt)).resolves.toMatchObject({ subject: 'user-42', issuer: server.issuer });
    expect(server.jwksRequests).toBe(2);
    expect(server.metadataRequests).toBe(1);
  });

  test('a closed port gives jwks_unavailable with status 503, and verification succeeds once a server listens there', async () => {
    const port = await closedPort();
    const jwksUri = `http://127.0.0.1:${port}/jwks.json`;
    const issuer = 'https://issuer.example';
    const clock = testClock();
    const log = new EventLog();
    const verifier = createVerifier({ issuer, audience, jwksUri, clock, onEvent: log.listener });
    const jwt = token(k1, issuer);

    expect(await rejection(verifier.verify(jwt))).toMatchObject({ reason: 'jwks_unavailable', status: 503 });
    expect(log.of('keys_refresh_failed')).toEqual([expect.objectContaining({ failure: 'network', jwksUri, staleKeysServing: false })]);

    const server = await routeServer({ '/jwks.json': (res) => sendJson(res, { keys: [k1.jwk] }) }, { port });
    clock.advance(1_000);
    await expect(verifier.verify(jwt)).resolves.toMatchObject({ subject: 'user-42' });
    expect(server.requests).toEqual(['/jwks.json']);
  });

  test.each<[JwksMode, string]>([
    ['error', 'http_status'],
    ['reset', 'network'],
    ['hang', 'timeout'],
    ['html', 'not_json'],
    ['huge', 'too_large'],
    ['redirect', 'redirect'],
  ])('a JWKS in mode %s at start is a TokenwardError jwks_unavailable 503 (failure %s), never another error', async (mode, failure) => {
    const server = await jwksServer();
    server.setMode(mode);
    const log = new EventLog();
    const verifier = verifierFor(server, { jwks: { timeout: 300 }, onEvent: log.listener });

    const error = await rejection(verifier.verify(token(k1, server.issuer)));
    expect(error).toMatchObject({ name: 'TokenwardError', reason: 'jwks_unavailable', status: 503 });
    expect(log.of('keys_refresh_failed').map((e) => e.failure)).toEqual([failure]);
    expect(log.of('token_rejected')).toEqual([{ type: 'token_rejected', reason: 'jwks_unavailable', status: 503, cause: undefined }]);
  });

  test('fifty concurrent requests against a source that is down cause one fetch and fifty 503s', async () => {
    const server = await jwksServer();
    server.setMode('error');
    const verifier = verifierFor(server);

    const errors = await Promise.all(Array.from({ length: 50 }, () => rejection(verifier.verify(token(k1, server.issuer)))));
    expect(errors.map((e) => `${e.reason} ${e.status}`)).toEqual(Array(50).fill('jwks_unavailable 503'));
    expect(server.jwksRequests).toBe(1);
  });
});

describe('stale-if-error: the last good key set keeps serving while refreshes fail, for maxStale', () => {
  test('past cacheMaxAge with the JWKS down, tokens still verify and keys_refresh_failed reports stale keys serving; past cacheMaxAge + maxStale it is 503', async () => {
    const server = await jwksServer();
    const clock = testClock();
    const log = new EventLog();
    const verifier = verifierFor(server, { clock, onEvent: log.listener, jwks: { cacheMaxAge: 60_000, maxStale: 120_000, cooldown: 1_000 } });
    await verifier.verify(token(k1, server.issuer, clock));
    expect(server.jwksRequests).toBe(1);

    server.setMode('error');
    clock.advance(61_000);
    const failed = log.next('keys_refresh_failed');
    await expect(verifier.verify(token(k1, server.issuer, clock))).resolves.toMatchObject({ subject: 'user-42' });
    expect(await failed).toMatchObject({ failure: 'http_status', jwksUri: server.jwksUri, staleKeysServing: true });
    expect(server.jwksRequests).toBe(2);

    // Just inside cacheMaxAge + maxStale (180 s after the last good fetch): still serving.
    clock.advance(118_000);
    await expect(verifier.verify(token(k1, server.issuer, clock))).resolves.toMatchObject({ subject: 'user-42' });

    // Beyond it: nothing usable is left.
    clock.advance(2_000);
    const error = await rejection(verifier.verify(token(k1, server.issuer, clock)));
    expect(error).toMatchObject({ reason: 'jwks_unavailable', status: 503 });
    expect(log.of('keys_refresh_failed').at(-1)).toMatchObject({ staleKeysServing: false });
  });

  test('while refreshes fail, an unknown kid is a 503 (the key may be new), not a 401', async () => {
    const server = await jwksServer();
    const clock = testClock();
    const verifier = verifierFor(server, { clock, jwks: { cacheMaxAge: 60_000, cooldown: 1_000 } });
    await verifier.verify(token(k1, server.issuer, clock));

    server.setMode('error');
    clock.advance(1_000);
    const error = await rejection(verifier.verify(token(k2, server.issuer, clock)));
    expect(error).toMatchObject({ reason: 'jwks_unavailable', status: 503 });
    expect(server.jwksRequests).toBe(2);
    // The known key still serves.
    await expect(verifier.verify(token(k1, server.issuer, clock))).resolves.toMatchObject({ subject: 'user-42' });
  });
});

describe('a fetch has a deadline (jwks.timeout)', () => {
  test('a JWKS that never answers is given up after the timeout: jwks_unavailable well within timeout + 1 s', async () => {
    const server = await jwksServer();
    server.setMode('hang');
    const log = new EventLog();
    const verifier = verifierFor(server, { jwks: { timeout: 300 }, onEvent: log.listener });

    const started = performance.now();
    const error = await rejection(verifier.verify(token(k1, server.issuer)));
    const elapsed = performance.now() - started;
    figure(`hanging JWKS with timeout 300 ms rejected after ${elapsed.toFixed(0)} ms`);
    expect(error).toMatchObject({ reason: 'jwks_unavailable', status: 503 });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1_300);
    expect(log.of('keys_refresh_failed').map((e) => e.failure)).toEqual(['timeout']);
  });
});

describe('a JWKS answer must be a small JSON key set, sent directly', () => {
  test('an HTML page is refused as not_json', async () => {
    const server = await jwksServer();
    server.setMode('html');
    const log = new EventLog();
    const verifier = verifierFor(server, { onEvent: log.listener });

    expect((await rejection(verifier.verify(token(k1, server.issuer)))).reason).toBe('jwks_unavailable');
    expect(log.of('keys_refresh_failed')).toEqual([expect.objectContaining({ failure: 'not_json', staleKeysServing: false })]);
  });

  test('a 30 MB body is refused as too_large quickly, without the client reading it all', async () => {
    const stock = await jwksServer();
    stock.setMode('huge');
    const log = new EventLog();
    const started = performance.now();
    expect((await rejection(verifierFor(stock, { onEvent: log.listener }).verify(token(k1, stock.issuer)))).reason).toBe('jwks_unavailable');
    const elapsed = performance.now() - started;
    expect(log.of('keys_refresh_failed').map((e) => e.failure)).toEqual(['too_large']);
    expect(elapsed).toBeLessThan(2_000);

    // The same body from a server that reports how much of it left before the client hung up.
    let written = 0;
    let finished = false;
    let closed!: Promise<void>;
    const server = await routeServer({
      '/jwks.json': (res: ServerResponse) => {
        closed = new Promise((resolve) => res.on('close', () => resolve()));
        res.on('finish', () => {
          finished = true;
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(MB, 0x20);
        const pump = (): void => {
          while (written < 30 * MB && !res.destroyed) {
            written += chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          if (!res.destroyed) res.end();
        };
        pump();
      },
    });
    const issuer = 'https://issuer.example';
    const verifier = createVerifier({ issuer, audience, jwksUri: `${server.origin}/jwks.json`, jwks: { maxBytes: 64 * 1024 } });
    expect((await rejection(verifier.verify(token(k1, issuer)))).reason).toBe('jwks_unavailable');
    await closed;
    figure(`30 MB JWKS body: ${(written / MB).toFixed(0)} MB handed to the socket before the client hung up`);
    expect(finished).toBe(false);
    expect(written).toBeLessThan(30 * MB);
  });

  test('a declared Content-Length over maxBytes is refused as too_large before the body is read', async () => {
    // The body never comes: reading it would end in a timeout, not too_large.
    const server = await routeServer({
      '/jwks.json': (res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * MB) });
        res.write('{"keys":[');
      },
    });
    const log = new EventLog();
    const issuer = 'https://issuer.example';
    const verifier = createVerifier({ issuer, audience, jwksUri: `${server.origin}/jwks.json`, jwks: { timeout: 2_000 }, onEvent: log.listener });
    const started = performance.now();
    expect((await rejection(verifier.verify(token(k1, issuer)))).reason).toBe('jwks_unavailable');
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(log.of('keys_refresh_failed').map((e) => e.failure)).toEqual(['too_large']);
  });

  test('a body trickled one byte at a time is cut off by the deadline, which covers the body too', async () => {
    const timers: NodeJS.Timeout[] = [];
    const server = await routeServer({
      '/jwks.json': (res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        timers.push(setInterval(() => res.write(' '), 50));
      },
    });
    try {
      const log = new EventLog();
      const issuer = 'https://issuer.example';
      const verifier = createVerifier({ issuer, audience, jwksUri: `${server.origin}/jwks.json`, jwks: { timeout: 500 }, onEvent: log.listener });
      const started = performance.now();
      expect((await rejection(verifier.verify(token(k1, issuer)))).reason).toBe('jwks_unavailable');
      expect(performance.now() - started).toBeLessThan(1_500);
      expect(log.of('keys_refresh_failed').map((e) => e.failure)).toEqual(['timeout']);
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  });

  test('a key set with more keys than maxKeys is refused whole as too_many_keys; one at the cap is used', async () => {
    const over = await jwksServer([k1.jwk, ...spares.map((s) => s.jwk)]);
    const log = new EventLog();
    const refused = verifierFor(over, { jwks: { maxKeys: 3 }, onEvent: log.listener });
    expect((await rejection(refused.verify(token(k1, over.issuer)))).reason).toBe('jwks_unavailable');
    expect(log.of('keys_refresh_failed')).toEqual([expect.objectContaining({ failure: 'too_many_keys', staleKeysServing: false })]);

    const atCap = await jwksServer([k1.jwk, spares[0]!.jwk, spares[1]!.jwk]);
    await expect(verifierFor(atCap, { jwks: { maxKeys: 3 } }).verify(token(k1, atCap.issuer))).resolves.toMatchObject({ subject: 'user-42' });
  });

  test('a JSON body that is not a JWK Set is refused as jwks_invalid', async () => {
    const server = await jwksServer();
    server.setKeys({ keys: 'none' });
    const log = new EventLog();
    expect((await rejection(verifierFor(server, { onEvent: log.listener }).verify(token(k1, server.issuer)))).reason).toBe('jwks_unavailable');
    expect(log.of('keys_refresh_failed').map((e) => e.failure)).toEqual(['jwks_invalid']);
  });

  test('a redirect is not followed', async () => {
    let followed = 0;
    const server = await routeServer({
      '/jwks.json': (res, origin) => res.writeHead(302, { location: `${origin}/elsewhere.json` }).end(),
      '/elsewhere.json': (res) => {
        followed++;
        sendJson(res, { keys: [k1.jwk] });
      },
    });
    const log = new EventLog();
    const issuer = 'https://issuer.example';
    const verifier = createVerifier({ issuer, audience, jwksUri: `${server.origin}/jwks.json`, onEvent: log.listener });
    expect((await rejection(verifier.verify(token(k1, issuer)))).reason).toBe('jwks_unavailable');
    expect(log.of('keys_refresh_failed').map((e) => e.failure)).toEqual(['redirect']);
    expect(followed).toBe(0);
    expect(server.requests).toEqual(['/jwks.json']);
  });

  test('the request asks for a JWK Set', async () => {
    let accept: string | undefined;
    const server = await routeServer({
      '/jwks.json': (res, _origin, req) => {
        accept = req.headers.accept;
        sendJson(res, { keys: [k1.jwk] });
      },
    });
    const issuer = 'https://issuer.example';
    await createVerifier({ issuer, audience, jwksUri: `${server.origin}/jwks.json` }).verify(token(k1, issuer));
    expect(accept).toBe('application/jwk-set+json, application/json');
  });
});

describe('https is required, except on loopback', () => {
  test('an http JWKS URL on a non-loopback host is refused when the verifier is made, without any network I/O', () => {
    const calls: string[] = [];
    const make = (allowInsecureHttp?: boolean) =>
      createVerifier({
        issuer: 'https://issuer.example',
        audience,
        jwksUri: 'http://example.invalid/jwks',
        // Observes the network, changes nothing.
        jwks: { allowInsecureHttp, fetch: (input, init) => (calls.push(input), fetch(input, init)) },
      });
    expect(() => make()).toThrow('tokenward: jwksUri for https://issuer.example uses http to example.invalid');
    expect(() => make(true)).not.toThrow();
    expect(calls).toEqual([]);
  });

  test('an http JWKS URL on 127.0.0.1 is fetched', async () => {
    const server = await jwksServer();
    const calls: string[] = [];
    const verifier = verifierFor(server, { jwks: { fetch: (input, init) => (calls.push(input), fetch(input, init)) } });
    await expect(verifier.verify(token(k1, server.issuer))).resolves.toMatchObject({ subject: 'user-42' });
    expect(calls).toEqual([server.jwksUri]);
  });
});

describe('single-flight: one fetch for any number of concurrent misses', () => {
  test('fifty concurrent cold verifications of valid tokens cause exactly one JWKS fetch and one metadata fetch', async () => {
    const server = await jwksServer();
    const log = new EventLog();
    const verifier = createVerifier({ issuer: server.issuer, audience, onEvent: log.listener });
    const tokens = Array.from({ length: 50 }, () => token(k1, server.issuer));

    const verified = await Promise.all(tokens.map((jwt) => verifier.verify(jwt)));
    expect(verified.map((t) => t.token)).toEqual(tokens);
    expect(server.jwksRequests).toBe(1);
    expect(server.metadataRequests).toBe(1);
    expect(log.of('keys_refreshed')).toHaveLength(1);
  });
});

describe('unknown kids trigger at most one refetch per cooldown window', () => {
  const randomKid = () => `kid-${Math.random().toString(36).slice(2)}`;

  test('a hundred concurrent and then a hundred sequential random kids cause at most one refetch, each answered unknown_kid 401', async () => {
    const server = await jwksServer();
    const clock = testClock();
    const verifier = verifierFor(server, { clock });
    await verifier.verify(token(k1, server.issuer));
    // Open a new cooldown window (30 s by default) so that one refetch is allowed.
    clock.advance(30_000);
    const before = server.jwksRequests;

    const concurrent = await Promise.all(Array.from({ length: 100 }, () => rejection(verifier.verify(token(k1, server.issuer, undefined, {}, { kid: randomKid() })))));
    const sequential = [];
    for (let i = 0; i < 100; i++) sequential.push(await rejection(verifier.verify(token(k1, server.issuer, undefined, {}, { kid: randomKid() }))));

    for (const error of [...concurrent, ...sequential]) expect(`${error.reason} ${error.status}`).toBe('unknown_kid 401');
    expect(server.jwksRequests - before).toBeLessThanOrEqual(1);
    // The key that is published keeps working throughout.
    await expect(verifier.verify(token(k1, server.issuer))).resolves.toMatchObject({ subject: 'user-42' });
  });

  test('a hundred sequential random kids right after a fetch cause no refetch within the window, each answered key_pending', async () => {
    const server = await jwksServer();
    const verifier = verifierFor(server, { jwks: { cooldown: 5_000 } });
    await verifier.verify(token(k1, server.issuer));
    const before = server.jwksRequests;

    for (let i = 0; i < 100; i++) {
      expect((await rejection(verifier.verify(token(k1, server.issuer, undefined, {}, { kid: randomKid() })))).reason).toBe('key_pending');
    }
    expect(server.jwksRequests - before).toBe(0);
    verifier.close();
  });
});

describe('a rotated key is accepted without a restart', () => {
  test('a token under a newly published kid verifies after the cooldown, and tokens under the old key keep working', async () => {
    const server = await jwksServer([k1.jwk]);
    const clock = testClock();
    const log = new EventLog();
    const verifier = verifierFor(server, { clock, onEvent: log.listener, jwks: { cooldown: 200 } });
    const old = token(k1, server.issuer, clock);
    await verifier.verify(old);

    server.setKeys([k1.jwk, k2.jwk]);
    const rotated = token(k2, server.issuer, clock);
    // Inside the cooldown the source is not asked again: the client is told to come back.
    expect(await rejection(verifier.verify(rotated))).toMatchObject({ reason: 'key_pending', status: 503 });
    expect(server.jwksRequests).toBe(1);

    clock.advance(200);
    await expect(verifier.verify(rotated)).resolves.toMatchObject({ header: expect.objectContaining({ kid: 'k2' }) });
    expect(server.jwksRequests).toBe(2);
    expect(log.of('keys_refreshed').at(-1)).toMatchObject({ added: ['k2'], removed: [] });
    await expect(verifier.verify(old)).resolves.toMatchObject({ header: expect.objectContaining({ kid: 'k1' }) });
    await expect(verifier.verify(token(k1, server.issuer, clock))).resolves.toMatchObject({ subject: 'user-42' });
  });
});

describe('a kid that disappears from a successfully fetched JWKS stops verifying at once', () => {
  test('after a refetch triggered by an unknown kid, tokens under the removed kid are refused, including one already in the verified-token cache', async () => {
    const server = await jwksServer([k1.jwk, k2.jwk]);
    const clock = testClock();
    const log = new EventLog();
    const verifier = verifierFor(server, { clock, onEvent: log.listener, jwks: { cooldown: 1_000 } });
    const cached = token(k1, server.issuer, clock);
    const first = await cacheToken(verifier, cached);
    expect(await verifier.verify(cached)).toBe(first); // served from the verified-token cache

    server.setKeys([k2.jwk]);
    clock.advance(1_000);
    expect((await rejection(verifier.verify(token(k1, server.issuer, clock, {}, { kid: 'k-unknown' })))).reason).toBe('unknown_kid');
    expect(log.of('keys_refreshed').at(-1)).toMatchObject({ kids: ['k2'], added: [], removed: ['k1'] });

    expect(await rejection(verifier.verify(cached))).toMatchObject({ reason: 'unknown_kid', status: 401 });
    expect((await rejection(verifier.verify(token(k1, server.issuer, clock)))).reason).toBe('unknown_kid');
    await expect(verifier.verify(token(k2, server.issuer, clock))).resolves.toMatchObject({ subject: 'user-42' });
  });

  test('after the refresh that cacheMaxAge brings, a cached token under the removed kid is refused', async () => {
    const server = await jwksServer([k1.jwk, k2.jwk]);
    const clock = testClock();
    const log = new EventLog();
    const verifier = verifierFor(server, { clock, onEvent: log.listener, jwks: { cacheMaxAge: 60_000, cooldown: 1_000 } });
    const cached = token(k1, server.issuer, clock);
    await cacheToken(verifier, cached);

    server.setKeys([k2.jwk]);
    clock.advance(61_000);
    const refreshed = log.next('keys_refreshed');
    // Served from the keys in hand; the refresh runs behind it.
    await expect(verifier.verify(token(k2, server.issuer, clock))).resolves.toMatchObject({ subject: 'user-42' });
    expect(await refreshed).toMatchObject({ removed: ['k1'] });

    expect(await rejection(verifier.verify(cached))).toMatchObject({ reason: 'unknown_kid', status: 401 });
  });
  test('through cache hits alone, once cacheMaxAge brings a refresh, a cached token under the removed kid is refused', async () => {
    const server = await jwksServer([k1.jwk, k2.jwk]);
    const clock = testClock();
    const log = new EventLog();
    const verifier = verifierFor(server, { clock, onEvent: log.listener, jwks: { cacheMaxAge: 60_000, cooldown: 1_000 } });
    const cached = token(k1, server.issuer, clock);
    const first = await cacheToken(verifier, cached);

    server.setKeys([k2.jwk]);
    clock.advance(50_000);
    const refreshed = log.next('keys_refreshed');
    expect(await verifier.verify(cached)).toBe(first); // the hit is answered, and starts the refresh
    expect(await refreshed).toMatchObject({ removed: ['k1'] });
    expect(await rejection(verifier.verify(cached))).toMatchObject({ reason: 'unknown_kid', status: 401 });
  });

  test('a kid whose key material is replaced stops verifying tokens signed with the old material, cached ones included', async () => {
    const replacement = makeKey('ES256', 'k1');
    const server = await jwksServer([k1.jwk]);
    const clock = testClock();
    const log = new EventLog();
    const verifier = verifierFor(server, { clock, onEvent: log.listener, jwks: { cooldown: 1_000 } });
    const cached = token(k1, server.issuer, clock);
    await cacheToken(verifier, cached);

    server.setKeys([replacement.jwk]);
    clock.advance(1_000);
    // A known kid never causes a fetch (a forged token would otherwise buy one); an unknown one does.
    expect((await rejection(verifier.verify(token(k1, server.issuer, clock, {}, { kid: 'k-unknown' })))).reason).toBe('unknown_kid');
    await expect(verifier.verify(token(replacement, server.issuer, clock))).resolves.toMatchObject({ subject: 'user-42' });
    expect(log.of('keys_refreshed').at(-1)).toMatchObject({ kids: ['k1'], removed: ['k1'] });

    expect(await rejection(verifier.verify(cached))).toMatchObject({ reason: 'signature_invalid', status: 401 });
  });
});

describe('past 80% of cacheMaxAge, the key set is refreshed in the background', () => {
  test('a request is served from the cached keys without waiting while a refetch runs behind it', async () => {
    const server = await jwksServer();
    const clock = testClock();
    const log = new EventLog();
    const verifier = verifierFor(server, { clock, onEvent: log.listener, jwks: { cacheMaxAge: 10_000, cooldown: 1_000, timeout: 1_000 } });
    await verifier.verify(token(k1, server.issuer, clock));

    clock.advance(7_000); // 70%: no refresh yet
    await verifier.verify(token(k1, server.issuer, clock));
    expect(server.jwksRequests).toBe(1);

    // 85%, and the source now hangs: a request that waited on it would take the whole timeout.
    server.setMode('hang');
    clock.advance(1_500);
    const failed = log.next('keys_refresh_failed');
    const started = performance.now();
    await expect(verifier.verify(token(k1, server.issuer, clock))).resolves.toMatchObject({ subject: 'user-42' });
    expect(performance.now() - started).toBeLessThan(500);
    expect(await failed).toMatchObject({ failure: 'timeout', staleKeysServing: true });
    expect(server.jwksRequests).toBe(2);
  });

  test('a request answered from the verified-token cache also starts the refresh', async () => {
    const server = await jwksServer();
    const clock = testClock();
    const log = new EventLog();
    const verifier = verifierFor(server, { clock, onEvent: log.listener, jwks: { cacheMaxAge: 10_000, cooldown: 1_000 } });
    const jwt = token(k1, server.issuer, clock);
    const first = await cacheToken(verifier, jwt);

    clock.advance(8_500);
    const refreshed = log.next('keys_refreshed', 2_000);
    expect(await verifier.verify(jwt)).toBe(first);
    await refreshed;
    expect(server.jwksRequests).toBe(2);
  });
});
