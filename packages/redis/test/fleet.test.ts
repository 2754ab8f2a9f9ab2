/**
 * A fleet of separate processes (test/fixtures/instance.mjs: node:http + @tokenward/core +
 * @tokenward/redis, from dist/) against a real redis-server: a revocation published once is
 * refused by every instance; an instance started later refuses it from the start; a revocation
 * published while Redis is down lands when it is back and reaches every instance.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { revocationPublisher, type RevocationPublisher } from '@tokenward/redis';
import { assertBuilt } from '../../../test/support/built';
import { figure } from '../../../test/support/figures';
import { serveOneKey } from '../../../test/support/jwks-server';
import { mint } from '../../../test/support/tokens';
import { nodeRedis } from './support/clients';
import { startRedisServer, type RedisServer } from './support/redis-server';

const audience = 'https://api.example.com';
const stream = 'fleet:revocations';
const jwks = serveOneKey('ES256', 'k1');
let redis: RedisServer;
let publisher: RevocationPublisher;
const children: ChildProcess[] = [];

beforeAll(async () => {
  assertBuilt(['core', 'redis']);
  redis = await startRedisServer();
});
afterEach(async () => {
  await Promise.all(children.splice(0).map(stopInstance));
});
afterAll(async () => {
  await redis.close();
});

interface Instance {
  url: string;
  child: ChildProcess;
}

async function startInstance(): Promise<Instance> {
  const child = fork(join(__dirname, 'fixtures', 'instance.mjs'), {
    env: { ...process.env, REDIS_URL: redis.url, ISSUER: jwks.server.issuer, AUDIENCE: audience, JWKS_URI: jwks.server.jwksUri, STREAM: stream },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the instance did not report ready within 10 s')), 10_000);
    child.on('message', (message: { ready?: boolean; url?: string }) => {
      if (message.ready === true && message.url !== undefined) {
        clearTimeout(timer);
        resolve(message.url);
      }
    });
    child.once('exit', (code) => reject(new Error(`the instance exited with ${String(code)}`)));
  });
  return { url, child };
}

async function stopInstance(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || !child.connected) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send('stop');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

async function status(instance: Instance, token: string): Promise<{ status: number; reason?: string }> {
  const response = await fetch(`${instance.url}/messages`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { reason?: string };
  return { status: response.status, reason: body.reason };
}

/** Milliseconds until every instance refuses `token` as revoked; fails after `ms`. */
async function refusedByAll(instances: Instance[], token: string, since: number, ms = 2000): Promise<number[]> {
  return Promise.all(
    instances.map(async (instance) => {
      for (;;) {
        const answer = await status(instance, token);
        if (answer.status === 401 && answer.reason === 'token_revoked') return Date.now() - since;
        if (Date.now() - since > ms) throw new Error(`${instance.url} still answers ${answer.status} after ${ms} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }),
  );
}

const token = (sub: string) => mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims: { sub } });

test('a revocation published once is refused by every instance within a second; an instance started later refuses it at once', async () => {
  publisher = revocationPublisher({ redis: await nodeRedis(redis.url), stream });
  const fleet = await Promise.all([startInstance(), startInstance(), startInstance()]);
  const alice = token('user-alice');
  const bob = token('user-bob');
  for (const instance of fleet) expect(await status(instance, alice)).toEqual({ status: 200, reason: undefined });

  const publishedAt = Date.now();
  await publisher.revokeSubject('user-alice');
  const delays = await refusedByAll(fleet, alice, publishedAt, 1000);
  figure(`fleet: revocation refused by 3 instance processes after ${delays.join(', ')} ms`);
  for (const instance of fleet) expect(await status(instance, bob)).toMatchObject({ status: 200 });

  const late = await startInstance();
  expect(await status(late, alice)).toEqual({ status: 401, reason: 'token_revoked' });
  expect(await status(late, bob)).toMatchObject({ status: 200 });
});

test('Redis crashes: instances serve with what they have; a revocation published meanwhile lands when Redis is back and reaches every instance', async () => {
  publisher = revocationPublisher({ redis: await nodeRedis(redis.url), stream, retryFor: 20_000 });
  const fleet = await Promise.all([startInstance(), startInstance()]);
  const carol = token('user-carol');
  const dave = token('user-dave');
  await publisher.revokeSubject('user-carol');
  await refusedByAll(fleet, carol, Date.now());

  await redis.kill();
  const during = publisher.revokeSubject('user-dave');
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const instance of fleet) {
    // Verification goes on: the list kept carol's revocation, dave is still accepted.
    expect(await status(instance, carol)).toEqual({ status: 401, reason: 'token_revoked' });
    expect(await status(instance, dave)).toMatchObject({ status: 200 });
  }
  await redis.start();
  await expect(during).resolves.toMatch(/^\d+-\d+$/);
  await refusedByAll(fleet, dave, Date.now(), 5000);
});
