/**
 * The DPoP replay store shared over a real redis-server: two verifiers stand for two instances,
 * each with its own Redis connection; a proof accepted by one is refused as a replay by the other;
 * Redis gone means the proof is refused with a 503, never accepted.
 */
import { createVerifier, type TokenRequest, type Verifier } from '@tokenward/core';
import { redisReplayStore } from '@tokenward/redis';
import { dpopClient, proof, type DpopClient } from '../../../test/support/dpop';
import { serveOneKey } from '../../../test/support/jwks-server';
import { rejection } from '../../../test/support/observe';
import { mint } from '../../../test/support/tokens';
import { ioredis, nodeRedis } from './support/clients';
import { startRedisServer, type RedisServer } from './support/redis-server';

const audience = 'https://api.example.com';
const origin = 'https://api.example.com';
const jwks = serveOneKey('ES256', 'k1');
let redis: RedisServer;
let client: DpopClient;
beforeAll(async () => {
  redis = await startRedisServer();
  client = await dpopClient('ES256');
});
afterAll(async () => {
  await redis.close();
});

const verifiers: Verifier[] = [];
afterEach(() => {
  for (const verifier of verifiers.splice(0)) verifier.close();
});

/** An instance: a verifier whose DPoP replay store is Redis, through its own connection. */
async function instance(connection?: object, prefix?: string): Promise<Verifier> {
  const replay = redisReplayStore({ redis: connection ?? (await nodeRedis(redis.url)), prefix });
  const verifier = createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, dpop: { replay, replayTimeout: 300 } });
  verifiers.push(verifier);
  return verifier;
}

async function dpopRequest(jti?: string): Promise<TokenRequest> {
  const token = mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims: { cnf: { jkt: client.jkt } } });
  const dpop = await proof(client, { method: 'GET', url: `${origin}/messages`, accessToken: token, jti });
  return { authorization: `DPoP ${token}`, dpop, method: 'GET', url: '/messages', origin };
}

describe('a proof is used once across the fleet', () => {
  test('accepted by one instance, refused as replayed by another and by itself', async () => {
    const [first, second] = [await instance(), await instance()];
    const request = await dpopRequest();
    await expect(first?.check(request)).resolves.toMatchObject({ binding: { jkt: client.jkt } });
    expect(await rejection(Promise.resolve().then(() => second?.check(request)))).toMatchObject({ reason: 'dpop_replayed', status: 401 });
    expect(await rejection(Promise.resolve().then(() => first?.check(request)))).toMatchObject({ reason: 'dpop_replayed' });
    // A fresh proof is accepted by either.
    await expect(second?.check(await dpopRequest())).resolves.toBeDefined();
  });

  test('through ioredis too, and the two clients share the keys', async () => {
    const viaIoredis = await instance(ioredis(redis.url));
    const viaNodeRedis = await instance();
    const request = await dpopRequest();
    await expect(viaIoredis.check(request)).resolves.toBeDefined();
    expect(await rejection(Promise.resolve().then(() => viaNodeRedis.check(request)))).toMatchObject({ reason: 'dpop_replayed' });
  });

  test('keys are the prefix and a fixed-size hash, and expire when the proof could no longer be accepted', async () => {
    const connection = await nodeRedis(redis.url);
    const prefix = `test:dpop:${Date.now()}:`;
    const store = redisReplayStore({ redis: connection, prefix });
    const expiresAt = Date.now() + 60_000;
    await expect(store.use('x'.repeat(10_000), expiresAt)).resolves.toBe(true);
    await expect(store.use('x'.repeat(10_000), expiresAt)).resolves.toBe(false);
    const keys = (await connection.sendCommand(['KEYS', `${prefix}*`])) as string[];
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^${prefix.replace(/[.:]/g, '\\$&')}[A-Za-z0-9_-]{43}$`));
    const ttl = Number(await connection.sendCommand(['PEXPIRETIME', keys[0] as string]));
    expect(Math.abs(ttl - expiresAt)).toBeLessThanOrEqual(50);
    await expect(store.use('short', Date.now() + 100)).resolves.toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(store.use('short', Date.now() + 100)).resolves.toBe(true);
  });
});

describe('fail closed', () => {
  test('Redis down: the proof is refused with a 503 (dpop_replay_unavailable), then accepted once Redis is back', async () => {
    const verifier = await instance();
    await redis.kill();
    try {
      const request = await dpopRequest();
      expect(await rejection(Promise.resolve().then(() => verifier.check(request)))).toMatchObject({ reason: 'dpop_replay_unavailable', status: 503 });
    } finally {
      await redis.start();
    }
    let accepted = false;
    const deadline = Date.now() + 5000;
    while (!accepted && Date.now() < deadline) {
      accepted = await Promise.resolve()
        .then(async () => verifier.check(await dpopRequest()))
        .then(() => true, () => false);
    }
    expect(accepted).toBe(true);
  });

  test('a reply that is neither OK nor nil refuses the proof', async () => {
    const odd = { sendCommand: async () => 'QUEUED', duplicate: async () => odd, close: async () => undefined };
    const verifier = await instance(odd);
    expect(await rejection(Promise.resolve().then(async () => verifier.check(await dpopRequest())))).toMatchObject({ reason: 'dpop_replay_unavailable', status: 503 });
  });
});
