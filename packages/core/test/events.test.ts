/**
 * What a verifier reports through `onEvent` (README "Options"): key set refreshed (with the
 * kids added and removed), refresh failed, key ignored (with the reason), token rejected (with
 * the reason code). Reporting never changes a decision, even when the listener throws.
 */
import { createVerifier, type TokenwardEvent, type VerifierOptions } from '@tokenward/core';
import type { JWK } from 'jose';
import { makeKey, type TestKey } from '../../../test/support/keys';
import { startJwksServer, type JwksServer } from '../../../test/support/jwks-server';
import { EventLog, rejection, testClock } from '../../../test/support/observe';
import { mint, now } from '../../../test/support/tokens';

const audience = 'https://api.example.com';

let k1: TestKey;
let k2: TestKey;
let encryption: TestKey;
let opsEncrypt: TestKey;
let privateOne: TestKey;
beforeAll(() => {
  k1 = makeKey('ES256', 'k1');
  k2 = makeKey('ES256', 'k2');
  encryption = makeKey('ES256', 'k-enc');
  opsEncrypt = makeKey('ES256', 'k-ops');
  privateOne = makeKey('ES256', 'k-private');
});

const open: JwksServer[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((server) => server.close()));
});

async function jwksServer(keys: readonly JWK[]): Promise<JwksServer> {
  const server = await startJwksServer(keys);
  open.push(server);
  return server;
}

const token = (key: TestKey, issuer: string, claims: Record<string, unknown> = {}) => mint(key, { issuer, audience }, { claims });

function verifierFor(server: JwksServer, options: Partial<VerifierOptions> = {}) {
  return createVerifier({ issuer: server.issuer, audience, jwksUri: server.jwksUri, ...options });
}

/** A set where only k1 may verify; each other member has one flaw. */
function mixedSet(): JWK[] {
  return [
    { ...encryption.jwk, use: 'enc' },
    k1.jwk,
    { ...opsEncrypt.jwk, use: undefined, key_ops: ['encrypt'] },
    { kty: 'oct', kid: 'k-hmac', k: 'c2VjcmV0LXNlY3JldC1zZWNyZXQ' },
    { ...(privateOne.privateKey.export({ format: 'jwk' }) as JWK), kid: 'k-private', alg: 'ES256' },
  ];
}

describe('keys_refreshed reports the kids published, added and removed', () => {
  test('the first fetch adds every kid; a rotation reports the new kid as added and the old one as removed', async () => {
    const server = await jwksServer([k1.jwk]);
    const clock = testClock();
    const log = new EventLog();
    const verifier = verifierFor(server, { clock, onEvent: log.listener, jwks: { cooldown: 1_000 } });
    await verifier.verify(token(k1, server.issuer));
    expect(log.of('keys_refreshed')).toEqual([{ type: 'keys_refreshed', jwksUri: server.jwksUri, kids: ['k1'], added: ['k1'], removed: [] }]);

    server.setKeys([k2.jwk]);
    clock.advance(1_000);
    await verifier.verify(token(k2, server.issuer));
    expect(log.of('keys_refreshed')[1]).toEqual({ type: 'keys_refreshed', jwksUri: server.jwksUri, kids: ['k2'], added: ['k2'], removed: ['k1'] });
  });

  test('a refetch of an unchanged set reports nothing added or removed', async () => {
    const server = await jwksServer([k1.jwk]);
    const clock = testClock();
    const log = new EventLog();
    const verifier = verifierFor(server, { clock, onEvent: log.listener, jwks: { cooldown: 1_000 } });
    await verifier.verify(token(k1, server.issuer));
    clock.advance(1_000);
    await rejection(verifier.verify(mint(k1, { issuer: server.issuer, audience }, { header: { kid: 'k-unknown' } })));

    expect(log.of('keys_refreshed').map(({ added, removed }) => ({ added, removed }))).toEqual([
      { added: ['k1'], removed: [] },
      { added: [], removed: [] },
    ]);
  });
});

describe('keys_refresh_failed reports why a fetch failed and whether stale keys still serve', () => {
  test('a failing first fetch reports the failure code, the URL, a message and no stale keys', async () => {
    const server = await jwksServer([k1.jwk]);
    server.setMode('error');
    const log = new EventLog();
    await rejection(verifierFor(server, { onEvent: log.listener }).verify(token(k1, server.issuer)));

    expect(log.of('keys_refresh_failed')).toEqual([
      { type: 'keys_refresh_failed', jwksUri: server.jwksUri, failure: 'http_status', message: expect.stringContaining('HTTP 500'), staleKeysServing: false },
    ]);
  });
});

describe('key_ignored reports each JWKS member that may never verify, with the reason', () => {
  test('an encryption key, a key without verify in key_ops, a symmetric key and a private key are ignored; the signing key is used', async () => {
    const server = await jwksServer(mixedSet());
    const log = new EventLog();
    const verifier = verifierFor(server, { onEvent: log.listener });
    await expect(verifier.verify(token(k1, server.issuer))).resolves.toMatchObject({ subject: 'user-42' });

    expect(log.of('key_ignored')).toEqual([
      { type: 'key_ignored', jwksUri: server.jwksUri, kid: 'k-enc', reason: 'use_not_sig' },
      { type: 'key_ignored', jwksUri: server.jwksUri, kid: 'k-ops', reason: 'key_ops_without_verify' },
      { type: 'key_ignored', jwksUri: server.jwksUri, kid: 'k-hmac', reason: 'kty_unsupported' },
      { type: 'key_ignored', jwksUri: server.jwksUri, kid: 'k-private', reason: 'private_key' },
    ]);
    expect(log.of('keys_refreshed')).toEqual([expect.objectContaining({ kids: ['k1'] })]);
    // The ignored encryption key does not verify a token naming it.
    expect((await rejection(verifier.verify(token(encryption, server.issuer)))).reason).toBe('unknown_kid');
  });
});

describe('token_rejected reports every rejection once, with its reason code and status', () => {
  test('expired, malformed, foreign-issuer and under-scoped tokens each yield one event with their reason; a valid token yields none', async () => {
    const server = await jwksServer([k1.jwk]);
    const log = new EventLog();
    const verifier = verifierFor(server, { onEvent: log.listener });

    await verifier.verify(token(k1, server.issuer));
    await rejection(verifier.verify(token(k1, server.issuer, { iat: now() - 600, exp: now() - 300 })));
    await rejection(verifier.verify('not.a.jwt!'));
    await rejection(verifier.verify(token(k1, 'https://other.example')));
    await rejection(verifier.verify(token(k1, server.issuer), { scopes: ['admin'] }));

    expect(log.of('token_rejected')).toEqual([
      { type: 'token_rejected', reason: 'token_expired', status: 401, cause: undefined },
      { type: 'token_rejected', reason: 'token_malformed', status: 401, cause: undefined },
      { type: 'token_rejected', reason: 'issuer_mismatch', status: 401, detail: { claim: 'iss', actual: 'https://other.example', expected: [server.issuer] }, cause: undefined },
      { type: 'token_rejected', reason: 'insufficient_scope', status: 403, cause: undefined },
    ]);
  });

  test('a key source that is down is reported as jwks_unavailable with status 503', async () => {
    const server = await jwksServer([k1.jwk]);
    server.setMode('error');
    const log = new EventLog();
    await rejection(verifierFor(server, { onEvent: log.listener }).verify(token(k1, server.issuer)));

    expect(log.of('token_rejected')).toEqual([{ type: 'token_rejected', reason: 'jwks_unavailable', status: 503, cause: undefined }]);
  });
});

describe('a listener that throws does not change any outcome', () => {
  test('with a listener that throws on every event, valid tokens verify, bad ones keep their reasons, and key sets still refresh', async () => {
    const server = await jwksServer(mixedSet());
    const clock = testClock();
    const seen: Array<TokenwardEvent['type']> = [];
    const throwing = (event: TokenwardEvent): void => {
      seen.push(event.type);
      throw new Error('listener bug');
    };
    const verifier = verifierFor(server, { clock, jwks: { cooldown: 1_000 }, onEvent: throwing });

    // key_ignored and keys_refreshed both threw during this fetch.
    await expect(verifier.verify(token(k1, server.issuer))).resolves.toMatchObject({ subject: 'user-42' });
    expect((await rejection(verifier.verify(token(k1, server.issuer, { iat: now() - 600, exp: now() - 300 })))).reason).toBe('token_expired');
    expect((await rejection(verifier.verify(token(k1, server.issuer), { scopes: ['admin'] }))).status).toBe(403);

    server.setKeys([k1.jwk, k2.jwk]);
    clock.advance(1_000);
    await expect(verifier.verify(token(k2, server.issuer))).resolves.toMatchObject({ header: expect.objectContaining({ kid: 'k2' }) });

    const down = await jwksServer([k1.jwk]);
    down.setMode('error');
    const failing = verifierFor(down, { onEvent: throwing });
    expect(await rejection(failing.verify(token(k1, down.issuer)))).toMatchObject({ reason: 'jwks_unavailable', status: 503 });

    expect(new Set(seen)).toEqual(new Set(['key_ignored', 'keys_refreshed', 'keys_refresh_failed', 'token_rejected']));
  });
});
