/**
 * The revocation stream against a real redis-server: what the publisher writes reaches every
 * reader's RevocationList, a late reader catches up from the start, a reader cut off by a Redis
 * crash catches up after it, a publication made while Redis is down is retried until it lands,
 * the stream stays bounded, and entries that are not revocations are skipped with an event.
 */
import { RevocationList } from '@tokenward/core';
import { DEFAULT_STREAM, revocationPublisher, syncRevocations, type RevocationSyncEvent } from '@tokenward/redis';
import { eventsOf, eventually, ioredis, nodeRedis, track } from './support/clients';
import { startRedisServer, type RedisServer } from './support/redis-server';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.close();
});

const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown>) => ({ iss: 'https://as', iat: now() - 10, exp: now() + 300, jti: 'other', sub: 'user-7', ...extra });
let streamCount = 0;
/** A stream of its own per test, so that tests do not see each other's entries. */
const freshStream = () => `test:revocations:${++streamCount}:${Date.now()}`;

async function reader(stream: string, options: { events?: RevocationSyncEvent[]; issuer?: string; client?: object } = {}) {
  const list = new RevocationList();
  const events = options.events ?? [];
  const sync = track(syncRevocations({ redis: options.client ?? (await nodeRedis(redis.url)), list, stream, issuer: options.issuer, block: 1000, backoff: { min: 20, max: 200 }, onEvent: (e) => events.push(e) }));
  return { list, sync, events };
}

describe('publish and sync', () => {
  test('each kind reaches every reader: by jti, subject, client and session', async () => {
    const stream = freshStream();
    const readers = [await reader(stream), await reader(stream), await reader(stream)];
    await Promise.all(readers.map((r) => r.sync.ready));
    const publisher = revocationPublisher({ redis: await nodeRedis(redis.url), stream });
    await publisher.revoke({ jti: 'leaked', expiresAt: now() + 300 });
    await publisher.revokeSubject('user-42');
    await publisher.revokeClient('job');
    await publisher.revokeSession('session-1');
    for (const { list } of readers) {
      await eventually(() => list.size === 4, 2000, 'four entries');
      expect(list.isRevoked(claims({ jti: 'leaked' }))).toBe(true);
      expect(list.isRevoked(claims({ sub: 'user-42' }))).toBe(true);
      expect(list.isRevoked(claims({ client_id: 'job' }))).toBe(true);
      expect(list.isRevoked(claims({ sid: 'session-1' }))).toBe(true);
      expect(list.isRevoked(claims({}))).toBe(false);
      // Issued after the revocation: not revoked.
      expect(list.isRevoked(claims({ sub: 'user-42', iat: now() + 2 }))).toBe(false);
    }
  });

  test('an issuer given to the publisher scopes the entry to that issuer’s tokens', async () => {
    const stream = freshStream();
    const { list, sync } = await reader(stream);
    await sync.ready;
    await revocationPublisher({ redis: await nodeRedis(redis.url), stream }).revokeSubject('user-42', { issuer: 'https://as' });
    await eventually(() => list.size === 1);
    expect(list.isRevoked(claims({ sub: 'user-42' }))).toBe(true);
    expect(list.isRevoked(claims({ sub: 'user-42', iss: 'https://other-as' }))).toBe(false);
  });

  test('a reader started late catches up from the start of the stream before it is ready', async () => {
    const stream = freshStream();
    const publisher = revocationPublisher({ redis: await nodeRedis(redis.url), stream });
    for (let i = 0; i < 2500; i++) await publisher.revoke({ jti: `jti-${i}`, expiresAt: now() + 300 });
    const events: RevocationSyncEvent[] = [];
    const { list, sync } = await reader(stream, { events });
    await expect(sync.ready).resolves.toBe(true);
    // Read in pages of 1000 without blocking, all of it before ready.
    expect(list.size).toBe(2500);
    expect(eventsOf(events, 'revocation_sync_caught_up')).toEqual([{ type: 'revocation_sync_caught_up', stream, lastId: sync.lastId, applied: 2500 }]);
    expect(sync.synced).toBe(true);
  });

  test('an empty or missing stream is caught up at once; stop() ends the reader and a later ready is false', async () => {
    const { sync } = await reader(freshStream());
    await expect(sync.ready).resolves.toBe(true);
    sync.stop();
    expect(sync.synced).toBe(false);
    const stopped = await reader(freshStream());
    stopped.sync.stop();
    await expect(stopped.sync.ready).resolves.toBe(false);
  });

  test('the default stream key is tokenward:revocations', () => {
    expect(DEFAULT_STREAM).toBe('tokenward:revocations');
  });
});

describe('entries that are not revocations', () => {
  test('are skipped with an event naming why; the valid ones around them apply; the reader goes on', async () => {
    const stream = freshStream();
    const client = await nodeRedis(redis.url);
    const events: RevocationSyncEvent[] = [];
    const { list, sync } = await reader(stream, { events });
    await sync.ready;
    const add = (...fields: string[]) => client.sendCommand(['XADD', stream, '*', ...fields]);
    await add('other', 'x');
    await add('revocation', '{not json');
    await add('revocation', JSON.stringify({ type: 'token', jti: 'x'.repeat(5000), exp: now() + 300 }));
    await add('revocation', JSON.stringify({ type: 'token', jti: '', exp: now() + 300 }));
    await add('revocation', JSON.stringify({ type: 'subject', sub: 'user-42', before: now(), iss: 42 }));
    await add('revocation', JSON.stringify({ type: 'device', id: 'x', before: now() }));
    await add('revocation', 'null');
    await add('revocation', JSON.stringify({ type: 'token', jti: 'good', exp: now() + 300 }));
    await eventually(() => list.size === 1, 2000, 'the valid entry');
    expect(list.isRevoked(claims({ jti: 'good' }))).toBe(true);
    const reasons = eventsOf(events, 'revocation_ignored').map((e) => (e as { reason: string }).reason);
    expect(reasons).toEqual(['field_missing', 'not_json', 'too_large', 'entry_invalid', 'entry_invalid', 'type_unknown', 'entry_invalid']);
    await revocationPublisher({ redis: client, stream }).revoke({ jti: 'after', expiresAt: now() + 300 });
    await eventually(() => list.isRevoked(claims({ jti: 'after' })), 2000, 'the entry after them');
  });

  test('a key that is not a stream makes reads fail, reported and retried; the list is kept', async () => {
    const stream = freshStream();
    const client = await nodeRedis(redis.url);
    await client.sendCommand(['SET', stream, 'not a stream']);
    const events: RevocationSyncEvent[] = [];
    const { list } = await reader(stream, { events });
    list.revoke({ jti: 'known', expiresAt: now() + 300 });
    await eventually(() => eventsOf(events, 'revocation_sync_failed').length >= 2, 3000, 'two failed reads');
    expect(eventsOf(events, 'revocation_sync_failed')[0]).toMatchObject({ attempt: 1, retryIn: 20, error: expect.stringMatching(/WRONGTYPE/) });
    expect(list.isRevoked(claims({ jti: 'known' }))).toBe(true);
  });
});

describe('trimming', () => {
  test('each publication trims entries older than the longest token lifetime plus 5 minutes', async () => {
    const stream = freshStream();
    const client = await nodeRedis(redis.url);
    // 1000 entries added six minutes and a bit ago (explicit ids carry their time).
    const then = Date.now() - 361_000;
    for (let i = 0; i < 1000; i++) await client.sendCommand(['XADD', stream, `${then}-${i}`, 'revocation', JSON.stringify({ type: 'token', jti: `old-${i}`, exp: now() })]);
    expect(await client.sendCommand(['XLEN', stream])).toBe(1000);
    await revocationPublisher({ redis: client, stream, maxTokenLifetime: 60 }).revoke({ jti: 'new', expiresAt: now() + 60 });
    // `MINID ~` drops whole nodes of the stream (100 entries each by default): at most one is left.
    expect(Number(await client.sendCommand(['XLEN', stream]))).toBeLessThanOrEqual(101);
    const { list, sync } = await reader(stream);
    await sync.ready;
    expect(list.isRevoked(claims({ jti: 'new' }))).toBe(true);
  });

  test('a token living longer than maxTokenLifetime, or an entry readers would skip, is refused by the publisher', async () => {
    const publisher = revocationPublisher({ redis: await nodeRedis(redis.url), stream: freshStream(), maxTokenLifetime: 60 });
    await expect(publisher.revoke({ jti: 'long', expiresAt: now() + 3600 })).rejects.toThrow(RangeError);
    await expect(publisher.revokeSubject('x'.repeat(5000))).rejects.toThrow(/limited to 4096 bytes/);
    await expect(publisher.revokeSubject('user-1', { before: now() + 3600 })).rejects.toThrow(/in the future/);
    await expect(publisher.revokeSubject('user-1', { before: now() + 60 })).resolves.toMatch(/^\d+-\d+$/);
    await expect(publisher.revokeSubject('')).rejects.toThrow(TypeError);
  });
});

describe('Redis restarts', () => {
  test('published while Redis is down: retried until it lands; a reader cut off catches up after; the list served meanwhile', async () => {
    const stream = freshStream();
    const events: RevocationSyncEvent[] = [];
    const { list, sync } = await reader(stream, { events });
    await sync.ready;
    const publisher = revocationPublisher({ redis: await nodeRedis(redis.url), stream, retryFor: 10_000 });
    await publisher.revoke({ jti: 'before-crash', expiresAt: now() + 300 });
    await eventually(() => list.isRevoked(claims({ jti: 'before-crash' })));

    await redis.kill();
    const during = publisher.revokeSubject('user-42');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Verification goes on with what the list has.
    expect(list.isRevoked(claims({ jti: 'before-crash' }))).toBe(true);
    expect(sync.synced).toBe(false);
    await redis.start();
    await expect(during).resolves.toMatch(/^\d+-\d+$/);
    await eventually(() => list.isRevoked(claims({ sub: 'user-42' })), 5000, 'the revocation published during the outage');
    expect(eventsOf(events, 'revocation_sync_failed').length).toBeGreaterThan(0);
    // Caught up once at start and once after the reconnect.
    await eventually(() => eventsOf(events, 'revocation_sync_caught_up').length >= 2 && sync.synced, 5000, 'caught up again');
  });

  test('a publication that cannot land within retryFor rejects, saying why', async () => {
    const client = await nodeRedis(redis.url);
    const publisher = revocationPublisher({ redis: client, stream: freshStream(), retryFor: 300 });
    await redis.kill();
    try {
      await expect(publisher.revoke({ jti: 'lost', expiresAt: now() + 300 })).rejects.toThrow(/could not publish the revocation to Redis within 300 ms/);
    } finally {
      await redis.start();
    }
  });
});

describe('Redis unreachable when the reader starts', () => {
  test('the reader reports the failed connection, and stop() leaves no connection attempt behind', async () => {
    const client = await nodeRedis(redis.url);
    const events: RevocationSyncEvent[] = [];
    await redis.kill();
    try {
      const { sync } = await reader(freshStream(), { client, events });
      await eventually(() => eventsOf(events, 'revocation_sync_failed').length > 0, 8000, 'a failed connection reported');
      expect(eventsOf(events, 'revocation_sync_failed')[0]).toMatchObject({ error: expect.stringMatching(/connect/) });
      expect(sync.synced).toBe(false);
      sync.stop();
      await expect(sync.ready).resolves.toBe(false);
    } finally {
      await redis.start();
    }
  });
});

describe('ioredis', () => {
  test('with a keyPrefix: the reader reads its prefixed stream (the reply names the prefixed key)', async () => {
    const stream = freshStream();
    const prefixed = () => {
      const client = ioredis(redis.url);
      client.options.keyPrefix = 'app:';
      return client;
    };
    const { list, sync } = await reader(stream, { client: prefixed() });
    await sync.ready;
    await revocationPublisher({ redis: prefixed(), stream }).revoke({ jti: 'prefixed', expiresAt: now() + 300 });
    await eventually(() => list.isRevoked(claims({ jti: 'prefixed' })), 3000, 'the prefixed entry');
    const plain = await nodeRedis(redis.url);
    expect(await plain.sendCommand(['XLEN', `app:${stream}`])).toBe(1);
  });

  test('the same stream through ioredis clients: publish, sync, catch up', async () => {
    const stream = freshStream();
    const publisher = revocationPublisher({ redis: ioredis(redis.url), stream });
    await publisher.revoke({ jti: 'early', expiresAt: now() + 300 });
    const { list, sync } = await reader(stream, { client: ioredis(redis.url) });
    await expect(sync.ready).resolves.toBe(true);
    expect(list.isRevoked(claims({ jti: 'early' }))).toBe(true);
    await publisher.revokeSession('s-9');
    await eventually(() => list.isRevoked(claims({ sid: 's-9' })), 2000, 'the session entry');
  });

  test('a client of neither kind is a TypeError naming the option', () => {
    expect(() => syncRevocations({ redis: {}, list: new RevocationList() })).toThrow(/redis must be a Redis client/);
    expect(() => revocationPublisher({ redis: { call: 1 } })).toThrow(TypeError);
  });
});
