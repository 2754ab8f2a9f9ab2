/**
 * The built package (dist/) in a separate Node process, resolved by name as a consumer would: it
 * loads from CommonJS `require` and ESM `import`, protects a real Nest app on each platform
 * (decorators applied as plain calls, since the child runs untranspiled JavaScript), and an app
 * that served requests and was closed leaves nothing that keeps the process alive.
 * Needs `pnpm build` (or build-package.mjs in packages/core and packages/nest) first.
 */
import { builtPackages } from '../../../test/support/built';
import { withDpop } from '../../../test/support/challenges';

const built = builtPackages(['core', 'nest']);

const exported = ['TokenwardModule', 'TokenwardGuard', 'Scopes', 'AnyScope', 'Public', 'OptionalAuth', 'Auth', 'createVerifier', 'RevocationList', 'TokenwardError', 'isTokenwardError'];

// The child serves a Nest app (global guard, one public and one scoped handler), calls it, closes
// it, and reports how long the process lived on after the close: a handle left open by the app
// or the verifier shows as seconds.
const program = (load: string, platform: 'Express' | 'Fastify') => `
  ${load}
  (async () => {
    const { Controller, Get, Module } = common;
    const { NestFactory, APP_GUARD } = core;
    const { Auth, Public, Scopes, TokenwardGuard, TokenwardModule } = nest;
    class Ctl {
      me(auth) { return { user: auth.subject }; }
      health() { return { ok: true }; }
      admin() { return {}; }
    }
    const method = (name) => Object.getOwnPropertyDescriptor(Ctl.prototype, name);
    Auth()(Ctl.prototype, 'me', 0);
    Get('me')(Ctl.prototype, 'me', method('me'));
    Public()(Ctl.prototype, 'health', method('health'));
    Get('health')(Ctl.prototype, 'health', method('health'));
    Scopes('admin')(Ctl.prototype, 'admin', method('admin'));
    Get('admin')(Ctl.prototype, 'admin', method('admin'));
    Controller()(Ctl);
    class App {}
    Module({
      imports: [TokenwardModule.forRoot({ issuer: process.env.ISSUER, audience: process.env.AUDIENCE })],
      controllers: [Ctl],
      providers: [{ provide: APP_GUARD, useClass: TokenwardGuard }],
    })(App);
    const app = await NestFactory.create(App, ${platform === 'Fastify' ? 'new fastify.FastifyAdapter()' : 'new express.ExpressAdapter()'}, { logger: false });
    await app.listen(0, '127.0.0.1');
    const url = 'http://127.0.0.1:' + app.getHttpServer().address().port;
    const authorization = 'Bearer ' + process.env.TOKEN;
    const ok = await fetch(url + '/me', { headers: { authorization } });
    const denied = await fetch(url + '/me');
    const forbidden = await fetch(url + '/admin', { headers: { authorization } });
    const health = await fetch(url + '/health');
    console.log(JSON.stringify({
      user: (await ok.json()).user,
      denied: [denied.status, denied.headers.get('www-authenticate'), await denied.json()],
      forbidden: [forbidden.status, forbidden.headers.get('www-authenticate')],
      health: health.status,
      exports: ${JSON.stringify(exported)}.map((name) => typeof nest[name]),
    }));
    await app.close();
    const closedAt = Date.now();
    process.on('exit', () => console.log(JSON.stringify({ livedAfterClose: Date.now() - closedAt })));
  })().catch((error) => { console.error(error); process.exit(1); });
`;

const load = {
  CommonJS: `require('reflect-metadata');
    const common = require('@nestjs/common'); const core = require('@nestjs/core');
    const express = require('@nestjs/platform-express'); const fastify = require('@nestjs/platform-fastify');
    const nest = require('@tokenward/nest');`,
  ESM: `await import('reflect-metadata');
    const common = await import('@nestjs/common'); const core = await import('@nestjs/core');
    const express = await import('@nestjs/platform-express'); const fastify = await import('@nestjs/platform-fastify');
    const nest = await import('@tokenward/nest');`,
};

describe('the built @tokenward/nest', () => {
  test.each([
    ['CommonJS', 'Express'],
    ['CommonJS', 'Fastify'],
    ['ESM', 'Express'],
    ['ESM', 'Fastify'],
  ] as const)('works from %s on the %s platform and leaves no open handle after app.close()', async (format, platform) => {
    const stdout = await built.run('nest', format, program(load[format], platform));
    const [answers, lifetime] = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(answers).toEqual({
      user: 'user-42',
      denied: [401, withDpop('Bearer realm="api"'), { error: 'unauthorized', error_description: 'Bearer access token required' }],
      forbidden: [403, withDpop('Bearer realm="api", error="insufficient_scope", error_description="Token lacks the required scope", scope="admin"')],
      health: 200,
      exports: exported.map(() => 'function'),
    });
    expect(lifetime?.livedAfterClose).toBeLessThan(1000);
  });
});
