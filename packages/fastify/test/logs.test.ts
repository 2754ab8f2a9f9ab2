/**
 * Rejections logged through Fastify's own logger (`request.log`, pino): the reason and the
 * developer's detail under `tokenward`, with the request id, never the token; the level from
 * `rejectionLogLevel`.
 */
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import tokenward from '@tokenward/fastify';
import { serveOneKey } from '../../../test/support/jwks-server';
import { mint, now } from '../../../test/support/tokens';

const audience = 'https://api.example.com';
const jwks = serveOneKey('ES256', 'k1');

async function app(rejectionLogLevel?: 'warn' | false) {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line !== '') lines.push(JSON.parse(line));
      done();
    },
  });
  const fastify = Fastify({ logger: { level: 'info', stream } });
  await fastify.register(tokenward, { issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, ...(rejectionLogLevel === undefined ? {} : { rejectionLogLevel }) });
  fastify.get('/me', async () => ({ ok: true }));
  const base = await fastify.listen({ port: 0, host: '127.0.0.1' });
  // A real request over loopback (Fastify's inject loads an ESM-only module that jest cannot).
  const inject = async ({ url, headers = {} }: { url: string; headers?: Record<string, string> }) => ({ statusCode: (await fetch(`${base}${url}`, { headers })).status });
  return { fastify: Object.assign(fastify, { inject }), rejections: () => lines.filter((line) => line.msg === 'tokenward: token rejected') };
}

test('a rejection is logged at info with its reason and detail and the request id, never the token', async () => {
  const { fastify, rejections } = await app();
  try {
    const expired = mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims: { exp: now() - 3600, iat: now() - 3700 } });
    expect((await fastify.inject({ url: '/me', headers: { authorization: `Bearer ${expired}` } })).statusCode).toBe(401);
    // Issued before the key set was fetched: a kid it does not name is refused (a newer iat would be a 503 key_pending).
    const unknownKid = mint({ ...jwks.key, kid: 'k9' }, { issuer: jwks.server.issuer, audience }, { claims: { iat: now() - 60 } });
    expect((await fastify.inject({ url: '/me', headers: { authorization: `Bearer ${unknownKid}` } })).statusCode).toBe(401);
    expect((await fastify.inject({ url: '/me', headers: { authorization: `Bearer ${mint(jwks.key, { issuer: jwks.server.issuer, audience })}` } })).statusCode).toBe(200);
    const logged = rejections();
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ level: 30, reqId: expect.any(String), tokenward: { reason: 'token_expired', status: 401, code: 'invalid_token' } });
    expect(logged[1]).toMatchObject({ tokenward: { reason: 'unknown_kid', kid: 'k9' } });
    expect(JSON.stringify(logged)).not.toContain(expired.split('.')[2]);
  } finally {
    await fastify.close();
  }
});

test('rejectionLogLevel chooses the level; false logs nothing', async () => {
  const warn = await app('warn');
  await warn.fastify.inject({ url: '/me' });
  expect(warn.rejections().map((line) => line.level)).toEqual([40]);
  await warn.fastify.close();
  const none = await app(false);
  await none.fastify.inject({ url: '/me' });
  expect(none.rejections()).toEqual([]);
  await none.fastify.close();
});
