/**
 * TokenwardModule: forRoot and forRootAsync build one verifier for the application, global and
 * injectable under TOKENWARD_VERIFIER; a verifier the module created is closed with the app, one
 * passed in is not. Real Nest apps against a real JWKS server.
 */
import 'reflect-metadata';
import { Controller, Get, Inject, Injectable, Module, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createVerifier, TOKENWARD_VERIFIER, TokenwardGuard, TokenwardModule, type Verifier } from '@tokenward/nest';
import { serveOneKey } from '../../../test/support/jwks-server';
import { mint } from '../../../test/support/tokens';
import { bearer, closeAll, get, start } from './support';
import { withDpop } from '../../../test/support/challenges';

const audience = 'https://api.example.com';
const jwks = serveOneKey('ES256', 'k1');
afterEach(closeAll);

const token = () => mint(jwks.key, { issuer: jwks.server.issuer, audience });
/** check() answers a cached token (one verified twice) without a promise: a way to see the verifier's cache. */
async function cached(verifier: Verifier, jwt: string): Promise<boolean> {
  const outcome = verifier.check({ authorization: `Bearer ${jwt}` });
  if (!(outcome instanceof Promise)) return true;
  await outcome;
  return false;
}

@Controller('me')
@UseGuards(TokenwardGuard)
class MeController {
  constructor(@Inject(TOKENWARD_VERIFIER) private readonly verifier: Verifier) {}

  @Get()
  me() {
    return { realm: this.verifier.realm };
  }
}

// A configuration provider, as @nestjs/config's ConfigService would be.
@Injectable()
class Settings {
  issuer = '';
  readonly audience = audience;
  readonly realm = 'settings';
}

@Module({ providers: [Settings], exports: [Settings] })
class SettingsModule {}

// A feature module that neither imports TokenwardModule nor provides the guard: the module is global.
@Module({ controllers: [MeController] })
class FeatureModule {}

describe('TokenwardModule.forRoot', () => {
  test('takes verifier options and provides the verifier under TOKENWARD_VERIFIER', async () => {
    const { app, base } = await start({ imports: [TokenwardModule.forRoot({ issuer: jwks.server.issuer, audience, realm: 'reports' })], controllers: [MeController] });
    expect(await get(base, '/me', bearer(token()))).toMatchObject({ status: 200, body: { realm: 'reports' } });
    expect((await get(base, '/me')).header('www-authenticate')).toBe(withDpop('Bearer realm="reports"', 'reports'));
    expect(app.get<Verifier>(TOKENWARD_VERIFIER).realm).toBe('reports');
  });

  test('is global: a feature module uses the guard and the verifier without importing it', async () => {
    const { base } = await start({ imports: [TokenwardModule.forRoot({ issuer: jwks.server.issuer, audience }), FeatureModule] });
    expect((await get(base, '/me')).status).toBe(401);
    expect(await get(base, '/me', bearer(token()))).toMatchObject({ status: 200, body: { realm: 'api' } });
  });

  test('gives each application built from it its own verifier, closed when the app closes', async () => {
    const tokenward = TokenwardModule.forRoot({ issuer: jwks.server.issuer, audience });
    const first = await start({ imports: [tokenward], controllers: [MeController] });
    const second = await start({ imports: [tokenward], controllers: [MeController] });
    const verifier = first.app.get<Verifier>(TOKENWARD_VERIFIER);
    expect(second.app.get<Verifier>(TOKENWARD_VERIFIER)).not.toBe(verifier);

    const jwt = token();
    // Twice: a token is stored in the cache on its second verification.
    for (let i = 0; i < 2; i++) expect((await get(first.base, '/me', bearer(jwt))).status).toBe(200);
    expect(await cached(verifier, jwt)).toBe(true);
    await first.app.close();
    expect(await cached(verifier, jwt)).toBe(false);
  });

  test('uses a verifier passed in as is, and leaves it open when the app closes', async () => {
    const verifier = createVerifier({ issuer: jwks.server.issuer, audience });
    const { app, base } = await start({ imports: [TokenwardModule.forRoot({ verifier })], controllers: [MeController] });
    expect(app.get<Verifier>(TOKENWARD_VERIFIER)).toBe(verifier);
    const jwt = token();
    for (let i = 0; i < 2; i++) expect((await get(base, '/me', bearer(jwt))).status).toBe(200);
    await app.close();
    expect(await cached(verifier, jwt)).toBe(true);
  });

  test('refuses bad options when the app is built, not at the first request', async () => {
    const building = Test.createTestingModule({ imports: [TokenwardModule.forRoot({ issuer: jwks.server.issuer, audience: [] })] }).compile();
    await expect(building).rejects.toThrow('tokenward: audience is required');
  });
});

describe('failFast', () => {
  test('the app waits for the keys when it starts, and fails with what is wrong', async () => {
    const before = jwks.server.jwksRequests;
    await start({ imports: [TokenwardModule.forRoot({ issuer: jwks.server.issuer, audience, failFast: true })], controllers: [MeController] });
    expect(jwks.server.jwksRequests).toBe(before + 1);
    const building = Test.createTestingModule({
      imports: [TokenwardModule.forRoot({ issuer: jwks.server.issuer, audience, jwksUri: `${jwks.server.issuer}/no-such-jwks.json`, failFast: true })],
      controllers: [MeController],
    }).compile();
    const app = (await building).createNestApplication({ logger: false });
    await expect(app.init()).rejects.toMatchObject({ name: 'TokenwardSetupError', failure: 'http_status' });
    await app.close();
  });
});

describe('TokenwardModule.forRootAsync', () => {
  test('builds the options with useFactory from providers named in inject, from imported modules', async () => {
    const tokenward = TokenwardModule.forRootAsync({
      imports: [SettingsModule],
      inject: [Settings],
      useFactory: async (settings: Settings) => ({ issuer: jwks.server.issuer, audience: settings.audience, realm: settings.realm }),
    });
    const { app, base } = await start({ imports: [tokenward], controllers: [MeController] });
    expect(await get(base, '/me', bearer(token()))).toMatchObject({ status: 200, body: { realm: 'settings' } });
    expect((await get(base, '/me')).header('www-authenticate')).toBe(withDpop('Bearer realm="settings"', 'settings'));
    expect(app.get<Verifier>(TOKENWARD_VERIFIER).realm).toBe('settings');
  });

  test('closes the verifier it created when the app closes', async () => {
    const { app, base } = await start({ imports: [TokenwardModule.forRootAsync({ useFactory: () => ({ issuer: jwks.server.issuer, audience }) })], controllers: [MeController] });
    const verifier = app.get<Verifier>(TOKENWARD_VERIFIER);
    const jwt = token();
    for (let i = 0; i < 2; i++) expect((await get(base, '/me', bearer(jwt))).status).toBe(200);
    await app.close();
    expect(await cached(verifier, jwt)).toBe(false);
  });

  test('accepts a verifier from the factory and leaves it open', async () => {
    const verifier = createVerifier({ issuer: jwks.server.issuer, audience });
    const { app, base } = await start({ imports: [TokenwardModule.forRootAsync({ useFactory: () => ({ verifier }) })], controllers: [MeController] });
    expect(app.get<Verifier>(TOKENWARD_VERIFIER)).toBe(verifier);
    const jwt = token();
    for (let i = 0; i < 2; i++) expect((await get(base, '/me', bearer(jwt))).status).toBe(200);
    await app.close();
    expect(await cached(verifier, jwt)).toBe(true);
  });
});
