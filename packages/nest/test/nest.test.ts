import 'reflect-metadata';
import { Controller, Get, Injectable, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import request from 'supertest';
import { AnyScope, Auth, Scopes, TOKENWARD_VERIFIER, TokenwardGuard, TokenwardModule, type AccessToken, type Verifier } from '@tokenward/nest';
import { createVerifier } from '@tokenward/core';
import { makeKey, type TestKey } from '../../../test/support/keys';
import { startJwksServer, type JwksServer } from '../../../test/support/jwks-server';
import { mint } from '../../../test/support/tokens';

const audience = 'https://api.example.com';
let key: TestKey;
let jwks: JwksServer;
beforeAll(async () => {
  key = makeKey('ES256', 'k1');
  jwks = await startJwksServer([key.jwk]);
});
afterAll(() => jwks.close());

const token = (scope: string) => mint(key, { issuer: jwks.issuer, audience }, { claims: { scope } });

// Guarded per controller (not globally): class-level scopes and handler-level scopes both apply.
@Controller('reports')
@UseGuards(TokenwardGuard)
@Scopes('reports')
class ReportsController {
  @Get()
  list(@Auth() auth: AccessToken) {
    return { user: auth.subject };
  }

  @Get('export')
  @Scopes('export')
  export() {
    return { ok: true };
  }

  @Get('any')
  @AnyScope('admin', 'auditor')
  any() {
    return { ok: true };
  }
}

@Controller('open')
class OpenController {
  @Get()
  open() {
    return { ok: true };
  }
}

@Injectable()
class Settings {
  issuer = '';
  readonly audience = audience;
}

function appModule(tokenward: ReturnType<typeof TokenwardModule.forRoot>) {
  @Module({ imports: [tokenward], controllers: [ReportsController, OpenController] })
  class AppModule {}
  return AppModule;
}

const platforms = [
  ['Express', () => new ExpressAdapter()],
  ['Fastify', () => new FastifyAdapter()],
] as const;

describe.each(platforms)('on the %s platform', (_name, adapter) => {
  async function start(module: new () => unknown) {
    const app = await NestFactory.create(module, adapter(), { logger: false });
    await app.init();
    const instance = app.getHttpAdapter().getInstance() as { ready?: () => Promise<unknown> };
    await instance.ready?.();
    return app;
  }

  test('@UseGuards on a controller protects it and leaves other controllers alone', async () => {
    const app = await start(appModule(TokenwardModule.forRoot({ issuer: jwks.issuer, audience })));
    try {
      const server = app.getHttpServer();
      await request(server).get('/open').expect(200, { ok: true });
      const res = await request(server).get('/reports').expect(401);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
      await request(server).get('/reports').set('Authorization', `Bearer ${token('reports')}`).expect(200, { user: 'user-42' });
    } finally {
      await app.close();
    }
  });

  test('class and handler @Scopes combine: both must hold', async () => {
    const app = await start(appModule(TokenwardModule.forRoot({ issuer: jwks.issuer, audience })));
    try {
      const server = app.getHttpServer();
      const onlyClass = await request(server).get('/reports/export').set('Authorization', `Bearer ${token('reports')}`).expect(403);
      expect(onlyClass.headers['www-authenticate']).toContain('scope="export"');
      expect(onlyClass.body).toEqual({ error: 'insufficient_scope', error_description: 'Token lacks the required scope' });
      const onlyHandler = await request(server).get('/reports/export').set('Authorization', `Bearer ${token('export')}`).expect(403);
      expect(onlyHandler.headers['www-authenticate']).toContain('scope="reports"');
      await request(server).get('/reports/export').set('Authorization', `Bearer ${token('reports export')}`).expect(200);
    } finally {
      await app.close();
    }
  });

  test('@AnyScope on a handler combines with the class @Scopes', async () => {
    const app = await start(appModule(TokenwardModule.forRoot({ issuer: jwks.issuer, audience })));
    try {
      const server = app.getHttpServer();
      await request(server).get('/reports/any').set('Authorization', `Bearer ${token('reports auditor')}`).expect(200);
      await request(server).get('/reports/any').set('Authorization', `Bearer ${token('auditor')}`).expect(403);
      const res = await request(server).get('/reports/any').set('Authorization', `Bearer ${token('reports')}`).expect(403);
      expect(res.headers['www-authenticate']).toContain('scope="admin auditor"');
    } finally {
      await app.close();
    }
  });

  test('forRootAsync builds the options with an injected provider', async () => {
    @Module({ providers: [Settings], exports: [Settings] })
    class SettingsModule {}
    const tokenward = TokenwardModule.forRootAsync({
      imports: [SettingsModule],
      inject: [Settings],
      useFactory: (settings: Settings) => ({ issuer: jwks.issuer, audience: settings.audience }),
    });
    const app = await start(appModule(tokenward));
    try {
      await request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${token('reports')}`).expect(200);
      expect(typeof app.get<Verifier>(TOKENWARD_VERIFIER).verify).toBe('function');
    } finally {
      await app.close();
    }
  });

  test('a verifier passed in is used as is and left open when the app closes', async () => {
    const verifier = createVerifier({ issuer: jwks.issuer, audience });
    const app = await start(appModule(TokenwardModule.forRoot({ verifier })));
    const jwt = token('reports');
    await request(app.getHttpServer()).get('/reports').set('Authorization', `Bearer ${jwt}`).expect(200);
    await app.close();
    expect(app.get<Verifier>(TOKENWARD_VERIFIER)).toBe(verifier);
    await expect(verifier.verify(jwt)).resolves.toMatchObject({ subject: 'user-42' });
  });
});
