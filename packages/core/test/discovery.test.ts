/**
 * Finding the key set from the issuer (README "Options", `jwksUri`: OpenID Connect Discovery 1.0
 * §4, then RFC 8414 §3), and one key set per issuer. Real metadata and JWKS servers on 127.0.0.1.
 */
import { createVerifier } from '@tokenward/core';
import { makeKey, type TestKey } from '../../../test/support/keys';
import { startJwksServer, type JwksServer } from '../../../test/support/jwks-server';
import { sendJson, startRouteServer, type RouteHandler, type RouteServer } from '../../../test/support/http-routes';
import { EventLog, rejection, testClock } from '../../../test/support/observe';
import { mint, now } from '../../../test/support/tokens';

const audience = 'https://api.example.com';

let keyA: TestKey;
let keyB: TestKey;
beforeAll(() => {
  keyA = makeKey('ES256', 'a-key');
  keyB = makeKey('ES256', 'b-key');
});

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
});

async function jwksServer(keys = [keyA.jwk], options: { path?: string } = {}): Promise<JwksServer> {
  const server = await startJwksServer(keys, options);
  open.push(server);
  return server;
}

async function routeServer(routes: Record<string, RouteHandler>): Promise<RouteServer> {
  const server = await startRouteServer(routes);
  open.push(server);
  return server;
}

const token = (key: TestKey, issuer: string, header: Record<string, unknown> = {}) => mint(key, { issuer, audience }, { header });
const jwksRoute: RouteHandler = (res) => sendJson(res, { keys: [keyA.jwk] });

describe('the jwks_uri is discovered from the issuer metadata', () => {
  test('jwks_uri is read from /.well-known/openid-configuration, fetched once, and used', async () => {
    // An unguessable path: the key set can only be found through the metadata.
    const server = await jwksServer([keyA.jwk], { path: '/keys/v3/set' });
    const verifier = createVerifier({ issuer: server.issuer, audience });

    await expect(verifier.verify(token(keyA, server.issuer))).resolves.toMatchObject({ subject: 'user-42' });
    expect(server.metadataRequests).toBe(1);
    expect(server.jwksRequests).toBe(1);
  });

  test('later key set refetches do not fetch the metadata again', async () => {
    const server = await jwksServer();
    const clock = testClock();
    const verifier = createVerifier({ issuer: server.issuer, audience, clock, jwks: { cooldown: 1_000 } });
    await verifier.verify(token(keyA, server.issuer));
    clock.advance(1_000);
    expect((await rejection(verifier.verify(token(keyA, server.issuer, { kid: 'unknown' })))).reason).toBe('unknown_kid');

    expect(server.jwksRequests).toBe(2);
    expect(server.metadataRequests).toBe(1);
  });

  test('metadata whose issuer differs from the configured one is refused: 503, metadata_invalid, its jwks_uri never fetched', async () => {
    const server = await routeServer({
      '/.well-known/openid-configuration': (res, origin) => sendJson(res, { issuer: 'https://evil.example', jwks_uri: `${origin}/jwks.json` }),
      '/.well-known/oauth-authorization-server': (res, origin) => sendJson(res, { issuer: origin, jwks_uri: `${origin}/jwks.json` }),
      '/jwks.json': jwksRoute,
    });
    const log = new EventLog();
    const verifier = createVerifier({ issuer: server.origin, audience, onEvent: log.listener });

    expect(await rejection(verifier.verify(token(keyA, server.origin)))).toMatchObject({ reason: 'jwks_unavailable', status: 503 });
    expect(log.of('keys_refresh_failed')).toEqual([expect.objectContaining({ failure: 'metadata_invalid', jwksUri: undefined, staleKeysServing: false })]);
    // A wrong document is an answer: no fallback to the RFC 8414 location.
    expect(server.requests).toEqual(['/.well-known/openid-configuration']);
  });

  test('when the OpenID document is 404, /.well-known/oauth-authorization-server (RFC 8414, path after the well-known part) is used', async () => {
    const server = await routeServer({
      '/.well-known/oauth-authorization-server/tenant-a': (res, origin) => sendJson(res, { issuer: `${origin}/tenant-a`, jwks_uri: `${origin}/jwks.json` }),
      '/jwks.json': jwksRoute,
    });
    const issuer = `${server.origin}/tenant-a`;
    const verifier = createVerifier({ issuer, audience });

    await expect(verifier.verify(token(keyA, issuer))).resolves.toMatchObject({ issuer });
    expect(server.requests).toEqual(['/tenant-a/.well-known/openid-configuration', '/.well-known/oauth-authorization-server/tenant-a', '/jwks.json']);
  });

  test('an issuer with metadata at neither location is a 503 with failure http_status', async () => {
    const server = await routeServer({ '/jwks.json': jwksRoute });
    const log = new EventLog();
    const verifier = createVerifier({ issuer: server.origin, audience, onEvent: log.listener });

    expect(await rejection(verifier.verify(token(keyA, server.origin)))).toMatchObject({ reason: 'jwks_unavailable', status: 503 });
    expect(log.of('keys_refresh_failed').map((e) => e.failure)).toEqual(['http_status']);
    expect(server.requests).toEqual(['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']);
  });

  test('metadata pointing at a plain-http jwks_uri on a non-loopback host is refused as insecure_url', async () => {
    const server = await routeServer({
      '/.well-known/openid-configuration': (res, origin) => sendJson(res, { issuer: origin, jwks_uri: 'http://keys.example.invalid/jwks' }),
    });
    const log = new EventLog();
    const verifier = createVerifier({ issuer: server.origin, audience, onEvent: log.listener });

    expect((await rejection(verifier.verify(token(keyA, server.origin)))).reason).toBe('jwks_unavailable');
    expect(log.of('keys_refresh_failed').map((e) => e.failure)).toEqual(['insecure_url']);
    expect(server.requests).toEqual(['/.well-known/openid-configuration']);
  });

  test('a plain-http issuer on a non-loopback host is refused when the verifier is made, without any network I/O', () => {
    const calls: string[] = [];
    const issuer = 'http://issuer.example.invalid';
    expect(() => createVerifier({ issuer, audience, jwks: { fetch: (input, init) => (calls.push(input), fetch(input, init)) } })).toThrow(
      'tokenward: issuer "http://issuer.example.invalid" uses http to issuer.example.invalid',
    );
    expect(calls).toEqual([]);
  });

  test('a metadata endpoint that never answers is given up after jwks.timeout', async () => {
    const server = await routeServer({ '/.well-known/openid-configuration': () => undefined });
    const log = new EventLog();
    const verifier = createVerifier({ issuer: server.origin, audience, onEvent: log.listener, jwks: { timeout: 300 } });

    const started = performance.now();
    expect((await rejection(verifier.verify(token(keyA, server.origin)))).reason).toBe('jwks_unavailable');
    expect(performance.now() - started).toBeLessThan(1_300);
    expect(log.of('keys_refresh_failed').map((e) => e.failure)).toEqual(['timeout']);
  });
});

describe('an explicit jwksUri skips discovery', () => {
  test('with jwksUri given, the metadata is never requested', async () => {
    const server = await jwksServer();
    const verifier = createVerifier({ issuer: server.issuer, audience, jwksUri: server.jwksUri });

    await expect(verifier.verify(token(keyA, server.issuer))).resolves.toMatchObject({ subject: 'user-42' });
    expect(server.metadataRequests).toBe(0);
    expect(server.jwksRequests).toBe(1);
  });

  test('with one jwksUri per issuer, neither issuer metadata is requested and each issuer uses its own set', async () => {
    const a = await jwksServer([keyA.jwk]);
    const b = await jwksServer([keyB.jwk]);
    const verifier = createVerifier({ issuer: [a.issuer, b.issuer], audience, jwksUri: { [a.issuer]: a.jwksUri, [b.issuer]: b.jwksUri } });

    await expect(verifier.verify(token(keyA, a.issuer))).resolves.toMatchObject({ issuer: a.issuer });
    await expect(verifier.verify(token(keyB, b.issuer))).resolves.toMatchObject({ issuer: b.issuer });
    // Issued before a's keys were fetched: b's kid is final there (a 401), not a key a may yet publish.
    const before = mint(keyB, { issuer: a.issuer, audience }, { claims: { iat: now() - 60 } });
    expect((await rejection(verifier.verify(before))).reason).toBe('unknown_kid');
    expect([a.metadataRequests, b.metadataRequests]).toEqual([0, 0]);
  });
});

describe('several issuers each have their own key set', () => {
  let a: JwksServer;
  let b: JwksServer;
  beforeEach(async () => {
    a = await jwksServer([keyA.jwk]);
    b = await jwksServer([keyB.jwk]);
  });

  test('a token from each issuer verifies against the key set discovered for that issuer', async () => {
    const verifier = createVerifier({ issuer: [a.issuer, b.issuer], audience });

    await expect(verifier.verify(token(keyA, a.issuer))).resolves.toMatchObject({ issuer: a.issuer });
    await expect(verifier.verify(token(keyB, b.issuer))).resolves.toMatchObject({ issuer: b.issuer });
    expect([a.metadataRequests, a.jwksRequests, b.metadataRequests, b.jwksRequests]).toEqual([1, 1, 1, 1]);
  });

  test('a token claiming issuer A but signed with the key of issuer B is refused, and the key set of B is not consulted', async () => {
    const verifier = createVerifier({ issuer: [a.issuer, b.issuer], audience });

    // The kid of B: not in the set of A.
    expect(await rejection(verifier.verify(token(keyB, a.issuer)))).toMatchObject({ reason: 'unknown_kid', status: 401 });
    // The kid of A, the signature of B.
    expect(await rejection(verifier.verify(token(keyB, a.issuer, { kid: 'a-key' })))).toMatchObject({ reason: 'signature_invalid', status: 401 });
    expect([b.metadataRequests, b.jwksRequests]).toEqual([0, 0]);
  });

  test('a token with an issuer that is not configured is refused as issuer_mismatch without any fetch', async () => {
    const verifier = createVerifier({ issuer: [a.issuer, b.issuer], audience });

    expect(await rejection(verifier.verify(token(keyA, 'https://other.example')))).toMatchObject({ reason: 'issuer_mismatch', status: 401 });
    expect(await rejection(verifier.verify(token(keyA, `${a.issuer}/`)))).toMatchObject({ reason: 'issuer_mismatch', status: 401 });
    expect([a.metadataRequests, a.jwksRequests, b.metadataRequests, b.jwksRequests]).toEqual([0, 0, 0, 0]);
  });
});
