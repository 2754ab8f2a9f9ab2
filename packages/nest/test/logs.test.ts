/**
 * Rejections logged through Nest's own Logger (context 'Tokenward') on both platforms: the
 * reason and the developer's detail, never the token; the level from `rejectionLogLevel`.
 */
import 'reflect-metadata';
import { Controller, Get, UseGuards, type LoggerService } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { TokenwardGuard, TokenwardModule, type RejectionLogLevel } from '@tokenward/nest';
import { serveOneKey } from '../../../test/support/jwks-server';
import { mint, now } from '../../../test/support/tokens';
import { platforms } from './support';

const audience = 'https://api.example.com';
const jwks = serveOneKey('ES256', 'k1');

@Controller('me')
@UseGuards(TokenwardGuard)
class MeController {
  @Get()
  me() {
    return { ok: true };
  }
}

interface Logged {
  level: string;
  message: unknown;
  context: unknown;
}

async function app(platform: (typeof platforms)[number], rejectionLogLevel?: RejectionLogLevel) {
  const logged: Logged[] = [];
  const record = (level: string) => (message: unknown, context?: unknown) => void logged.push({ level, message, context });
  const logger: LoggerService = { log: record('log'), warn: record('warn'), error: record('error'), debug: record('debug'), verbose: record('verbose'), fatal: record('fatal') };
  const moduleRef = await Test.createTestingModule({
    imports: [TokenwardModule.forRoot({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, ...(rejectionLogLevel === undefined ? {} : { rejectionLogLevel }) })],
    controllers: [MeController],
  }).compile();
  const nest = moduleRef.createNestApplication(platform === 'Express' ? new ExpressAdapter() : new FastifyAdapter(), { logger });
  await nest.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(nest.getHttpServer().address() as AddressInfo).port}`;
  return { nest, base, rejections: () => logged.filter((entry) => entry.context === 'Tokenward') };
}

describe.each(platforms)('on %s', (platform) => {
  test('a rejection is logged with its reason and detail, never the token; a valid request logs nothing', async () => {
    const { nest, base, rejections } = await app(platform);
    try {
      const expired = mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims: { exp: now() - 3600, iat: now() - 3700 } });
      expect((await fetch(`${base}/me`, { headers: { authorization: `Bearer ${expired}` } })).status).toBe(401);
      const wrong = mint(jwks.key, { issuer: jwks.server.issuer, audience: 'https://other.example.com' });
      expect((await fetch(`${base}/me`, { headers: { authorization: `Bearer ${wrong}` } })).status).toBe(401);
      expect((await fetch(`${base}/me`, { headers: { authorization: `Bearer ${mint(jwks.key, { issuer: jwks.server.issuer, audience })}` } })).status).toBe(200);
      expect(rejections()).toEqual([
        { level: 'log', context: 'Tokenward', message: { message: 'token rejected', reason: 'token_expired', status: 401, code: 'invalid_token' } },
        { level: 'log', context: 'Tokenward', message: expect.objectContaining({ reason: 'audience_mismatch', claim: 'aud', actual: 'https://other.example.com', expected: [audience] }) },
      ]);
      expect(JSON.stringify(rejections())).not.toContain(expired.split('.')[2]);
    } finally {
      await nest.close();
    }
  });

  test('rejectionLogLevel chooses the level; false logs nothing', async () => {
    for (const [level, expected] of [['warn', ['warn']], [false, []]] as const) {
      const { nest, base, rejections } = await app(platform, level);
      try {
        await fetch(`${base}/me`);
        expect(rejections().map((entry) => entry.level)).toEqual(expected);
      } finally {
        await nest.close();
      }
    }
  });
});
