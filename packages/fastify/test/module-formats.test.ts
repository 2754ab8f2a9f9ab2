/**
 * The built package (dist/) in a separate Node process, resolved by name as a consumer would:
 * it loads from CommonJS `require` and ESM `import`, protects a real Fastify app, and an app that
 * served a request and was closed leaves nothing that keeps the process alive.
 * Needs `pnpm build` (or build-package.mjs in packages/core and packages/fastify) first.
 */
import { builtPackages } from '../../../test/support/built';
import { withDpop } from '../../../test/support/challenges';

const built = builtPackages(['core', 'fastify']);

// The child serves a Fastify app protected by the plugin, calls it with and without the token,
// closes it, and reports how long the process lived on after the close: Fastify keeps sockets
// alive 72 s and fetch 4 s, so a handle left open by the app or the verifier shows as seconds.
const program = (load: string) => `
  ${load}
  (async () => {
    const app = Fastify();
    await app.register(plugin, { issuer: process.env.ISSUER, audience: process.env.AUDIENCE });
    app.get('/', async (req) => ({ user: req.auth.subject }));
    app.get('/health', { config: { public: true } }, async () => ({ ok: true }));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const ok = await fetch(url, { headers: { authorization: 'Bearer ' + process.env.TOKEN } });
    const denied = await fetch(url);
    const health = await fetch(url + '/health');
    const exports = [typeof named.tokenward, typeof named.createVerifier, typeof named.RevocationList, typeof named.TokenwardError, typeof named.isTokenwardError, typeof named.respond];
    console.log(JSON.stringify({ user: (await ok.json()).user, denied: denied.status, challenge: denied.headers.get('www-authenticate'), health: health.status, exports }));
    await app.close();
    const closedAt = Date.now();
    process.on('exit', () => console.log(JSON.stringify({ livedAfterClose: Date.now() - closedAt })));
  })().catch((error) => { console.error(error); process.exit(1); });
`;

const formats = [
  // A CommonJS consumer registers the module object itself, as fastify allows, and the named export.
  ['CommonJS', "const Fastify = require('fastify'); const named = require('@tokenward/fastify'); const plugin = named;"],
  ['ESM', "const { default: Fastify } = await import('fastify'); const named = await import('@tokenward/fastify'); const plugin = named.default;"],
] as const;

describe('the built @tokenward/fastify', () => {
  test.each(formats)('works from %s and leaves no open handle after app.close()', async (format, load) => {
    const stdout = await built.run('fastify', format, program(load));
    const [answers, lifetime] = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(answers).toEqual({ user: 'user-42', denied: 401, challenge: withDpop('Bearer realm="api"'), health: 200, exports: Array(6).fill('function') });
    expect(lifetime?.livedAfterClose).toBeLessThan(1000);
  });
});
