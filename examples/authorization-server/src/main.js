#!/usr/bin/env node
/**
 * Runs the example authorization server on its own:
 *
 *   node examples/authorization-server/src/main.js [--port 9000] [--data path/to/state.json]
 *
 * ADMIN_TOKEN in the environment enables the /admin API. REDIS_URL publishes every revocation to
 * the Redis stream tokenward:revocations too (./redis.js). State goes to
 * examples/authorization-server/.data/state.json unless --data says otherwise.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startAuthorizationServer } from './index.js';
import { redisRevocations } from './redis.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '9000' },
    data: { type: 'string', default: fileURLToPath(new URL('../.data/state.json', import.meta.url)) },
    'access-token-ttl': { type: 'string' },
  },
});
const onEvent = (event) => console.log('event', JSON.stringify(event));
const accessTokenTtl = values['access-token-ttl'] === undefined ? undefined : Number(values['access-token-ttl']);
// The stream keeps entries as long as the longest token they may revoke (the default TTL is 300 s).
const redis = process.env.REDIS_URL === undefined ? undefined : await redisRevocations(process.env.REDIS_URL, { onEvent, maxTokenLifetime: accessTokenTtl ?? 300 });
const server = await startAuthorizationServer({
  port: Number(values.port),
  dataFile: values.data,
  adminToken: process.env.ADMIN_TOKEN,
  ...(accessTokenTtl === undefined ? {} : { accessTokenTtl }),
  onEvent,
  onRevocation: redis?.onRevocation,
});
console.log(`authorization server: issuer ${server.issuer}`);
console.log(`  metadata ${server.issuer}/.well-known/openid-configuration`);
console.log(`  state    ${values.data}`);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    void server.close().then(() => redis?.close());
  });
}
