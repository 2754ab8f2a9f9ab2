/**
 * The built packages (dist/) load and work from both an ESM `import` and a CommonJS `require`,
 * in a separate Node process resolving them by name as a consumer would. Run after `pnpm build`.
 */
import { builtPackages } from './support/built';
import { withDpop } from './support/challenges';

const built = builtPackages(['core', 'express', 'fastify', 'nest', 'redis', 'cli']);

// The child verifies a real token against the real JWKS server, then prints the subject.
const coreProgram = (load: string) => `
  ${load}
  const verifier = createVerifier({ issuer: process.env.ISSUER, audience: process.env.AUDIENCE });
  verifier.verify(process.env.TOKEN).then((t) => console.log(t.subject), (e) => { console.error(e.reason); process.exit(1); });
`;

// The child serves an Express app protected by tokenward and calls it with and without the token.
const expressProgram = (load: string) => `
  ${load}
  const app = express();
  app.use(tokenward({ issuer: process.env.ISSUER, audience: process.env.AUDIENCE }));
  app.get('/', (req, res) => res.json({ user: req.auth.subject }));
  const server = app.listen(0, '127.0.0.1', async () => {
    const url = 'http://127.0.0.1:' + server.address().port + '/';
    const ok = await fetch(url, { headers: { authorization: 'Bearer ' + process.env.TOKEN } });
    const denied = await fetch(url);
    console.log((await ok.json()).user, denied.status, denied.headers.get('www-authenticate'));
    server.close();
  });
`;

// The child registers the Fastify plugin and injects a request with and without the token.
const fastifyProgram = (load: string) => `
  ${load}
  const app = Fastify();
  app.register(tokenward, { issuer: process.env.ISSUER, audience: process.env.AUDIENCE });
  app.get('/', async (req) => ({ user: req.auth.subject }));
  (async () => {
    const ok = await app.inject({ url: '/', headers: { authorization: 'Bearer ' + process.env.TOKEN } });
    const denied = await app.inject({ url: '/' });
    console.log(ok.json().user, denied.statusCode, denied.headers['www-authenticate']);
    await app.close();
  })();
`;

// The child builds a Nest app with the module and the global guard, without decorator syntax.
const nestProgram = (load: string) => `
  ${load}
  class Ctl { get(auth) { return { user: auth.subject }; } }
  Auth()(Ctl.prototype, 'get', 0);
  Get()(Ctl.prototype, 'get', Object.getOwnPropertyDescriptor(Ctl.prototype, 'get'));
  Controller()(Ctl);
  class App {}
  Module({ imports: [TokenwardModule.forRoot({ issuer: process.env.ISSUER, audience: process.env.AUDIENCE })], controllers: [Ctl], providers: [{ provide: APP_GUARD, useClass: TokenwardGuard }] })(App);
  (async () => {
    const app = await NestFactory.create(App, { logger: false });
    await app.listen(0, '127.0.0.1');
    const url = 'http://127.0.0.1:' + app.getHttpServer().address().port + '/';
    const ok = await fetch(url, { headers: { authorization: 'Bearer ' + process.env.TOKEN } });
    const denied = await fetch(url);
    console.log((await ok.json()).user, denied.status, denied.headers.get('www-authenticate'));
    await app.close();
  })();
`;
// No Redis server here: the exports load, and a client of the wrong kind is refused with a TypeError.
const redisProgram = (load: string) => `
  (async () => {
    ${load}
    let refused = 'accepted';
    try { redis.syncRevocations({ redis: {}, list: new RevocationList() }); } catch (error) { refused = error.constructor.name; }
    console.log(typeof redis.syncRevocations, typeof redis.revocationPublisher, typeof redis.redisReplayStore, refused);
  })();
`;
// The command run in-process on the child's TOKEN: its JSON report, and the exit code.
const cliProgram = (load: string) => `
  (async () => {
    ${load}
    let out = '';
    const code = await run(['inspect', process.env.TOKEN, '--json'], { stdout: (t) => (out += t), stderr: () => undefined, stdin: async () => '', now: Date.now });
    console.log(JSON.parse(out).claims.sub, code);
  })();
`;
const nestImports = "Controller, Get, Module } = require('@nestjs/common'); const { NestFactory, APP_GUARD } = require('@nestjs/core'); const { Auth, TokenwardGuard, TokenwardModule } = require('@tokenward/nest');";

const cases = [
  ['core', 'CommonJS', coreProgram("const { createVerifier } = require('@tokenward/core');")],
  ['core', 'ESM', coreProgram("const { createVerifier } = await import('@tokenward/core');")],
  ['express', 'CommonJS', expressProgram("const express = require('express'); const { tokenward } = require('@tokenward/express');")],
  ['express', 'ESM', expressProgram("const { default: express } = await import('express'); const { tokenward } = await import('@tokenward/express');")],
  ['fastify', 'CommonJS', fastifyProgram("const Fastify = require('fastify'); const tokenward = require('@tokenward/fastify');")],
  ['fastify', 'ESM', fastifyProgram("const { default: Fastify } = await import('fastify'); const { default: tokenward } = await import('@tokenward/fastify');")],
  ['nest', 'CommonJS', nestProgram(`require('reflect-metadata'); const { ${nestImports}`)],
  ['nest', 'ESM', nestProgram(`await import('reflect-metadata'); const { ${nestImports.replace(/require\(/g, 'await import(')}`)],
  ['redis', 'CommonJS', redisProgram("const { RevocationList } = require('@tokenward/core'); const redis = require('@tokenward/redis');")],
  ['redis', 'ESM', redisProgram("const { RevocationList } = await import('@tokenward/core'); const redis = await import('@tokenward/redis');")],
  ['cli', 'CommonJS', cliProgram("const { run } = require('@tokenward/cli');")],
  ['cli', 'ESM', cliProgram("const { run } = await import('@tokenward/cli');")],
] as const;

describe('the built packages', () => {
  test.each(cases)('@tokenward/%s works from %s', async (pkg, format, program) => {
    const stdout = await built.run(pkg, format, program);
    const expected = { core: 'user-42', redis: 'function function function TypeError', cli: 'user-42 0' }[pkg as string] ?? `user-42 401 ${withDpop('Bearer realm="api"')}`;
    expect(stdout.trim()).toBe(expected);
  });
});
