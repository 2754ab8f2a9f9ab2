/**
 * The server's revocations streamed to a real redis-server (redisRevocations): what it publishes on
 * its feed reaches a @tokenward/redis reader too, every kind.
 */
import { RevocationList, type JwtClaims } from '@tokenward/core';
import { syncRevocations, type RevocationSync } from '@tokenward/redis';
import { createClient } from 'redis';
import { startRedisServer, type RedisServer } from '../../../scripts/redis-server.mjs';
import { redisRevocations } from '../src/index.js';
import { CLI, decodeJwt, login, post, revoke, startServer } from './support';

const claimsOf = (jwt: string) => decodeJwt(jwt).payload as JwtClaims;

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.close();
});

test('revoked tokens, logouts and ended sessions reach a reader of the stream', async () => {
  const events: Array<{ type: string }> = [];
  const streamed = await redisRevocations(redis.url, { maxTokenLifetime: 300, onEvent: (event) => events.push(event) });
  const client = createClient({ url: redis.url });
  client.on('error', () => undefined);
  await client.connect();
  const list = new RevocationList();
  let sync: RevocationSync | undefined;
  try {
    const { server } = await startServer({ onRevocation: streamed.onRevocation });
    sync = syncRevocations({ redis: client, list });
    await sync.ready;
    const revoked = await login(server, CLI);
    const session = await login(server, CLI);
    await revoke(server, CLI, { token: revoked.access_token, token_type_hint: 'access_token' });
    await post(`${server.url}/logout`, {}, { authorization: `Bearer ${session.access_token}` });
    const deadline = Date.now() + 3000;
    while (list.size < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(list.isRevoked(claimsOf(revoked.access_token))).toBe(true);
    const other = await login(server, CLI);
    expect(list.isRevoked(claimsOf(session.access_token))).toBe(true);
    expect(list.isRevoked(claimsOf(other.access_token))).toBe(false);
    await post(`${server.url}/logout-everywhere`, {}, { authorization: `Bearer ${other.access_token}` });
    while (list.size < 3 && Date.now() < deadline + 3000) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(list.isRevoked(claimsOf(other.access_token))).toBe(true);
    expect(events.filter((event) => event.type === 'revocation_streamed')).toHaveLength(3);
  } finally {
    sync?.stop();
    client.destroy();
    await streamed.close();
  }
});
