// The release check: what a user gets from npm, tried as a user would. Packs every package as
// `pnpm publish` would (workspace: ranges replaced by versions), checks what each tarball holds
// and declares, installs the tarballs with npm into one fresh project (no "type": CommonJS by
// default, as `npm init` makes it) beside the frameworks, type-checks the consumer files of
// test/consumers there (ESM .mts, CommonJS .cts, TypeScript NodeNext), and runs the quick starts
// of the README and of packages/core/README.md as pasted, against a local issuer (discovery and
// JWKS on 127.0.0.1), expecting 200, 401, 403 where a user would. The only edits to a snippet are
// the issuer placeholder and the port; each must be found, so a README change that breaks a quick
// start breaks this check. Run by CI after the tests (`npx --yes pnpm@10 release:check`).
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['core', 'express', 'fastify', 'nest', 'redis', 'cli'];
const placeholder = 'https://auth.example.com/';
const audience = 'https://api.example.com';
const work = mkdtempSync(join(tmpdir(), 'tokenward-release-'));
const problems = [];
const started = Date.now();

function fail(what) {
  problems.push(what);
  console.error(`  FAIL ${what}`);
}
function step(what) {
  console.log(`release:check ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
function run(command, args, cwd) {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}
// pnpm as this script was started with (`pnpm release:check` sets npm_execpath), else through npx.
function pnpm(args, cwd) {
  const execpath = process.env.npm_execpath ?? '';
  return /pnpm/.test(execpath) ? run(process.execPath, [execpath, ...args], cwd) : run('npx', ['--yes', 'pnpm@10', ...args], cwd);
}

// 1. Pack, and check each tarball's files and manifest.
step('packing');
const manifests = Object.fromEntries(packages.map((name) => [name, JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'))]));
const tarballs = {};
for (const name of packages) {
  const before = new Set(readdirSync(work));
  pnpm(['pack', '--pack-destination', work], join(root, 'packages', name));
  const made = readdirSync(work).filter((file) => file.endsWith('.tgz') && !before.has(file));
  if (made.length !== 1) throw new Error(`pnpm pack in packages/${name} made ${made.length} tarballs`);
  tarballs[name] = join(work, made[0]);
  checkTarball(name, tarballs[name]);
}

function checkTarball(name, tarball) {
  const files = run('tar', ['-tzf', tarball]).split('\n').filter(Boolean).map((file) => file.replace(/^package\//, ''));
  for (const required of ['package.json', 'README.md', 'LICENSE', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/package.json']) {
    if (!files.includes(required)) fail(`${name}: the tarball lacks ${required}`);
  }
  const stray = files.filter((file) => !/^(package\.json|README\.md|LICENSE|dist\/.+)$/.test(file));
  if (stray.length > 0) fail(`${name}: the tarball holds files outside dist: ${stray.join(', ')}`);
  // A build left over from a removed source file would ship: every module must have its source.
  const sources = new Set(listSources(join(root, 'packages', name, 'src')));
  for (const file of files) {
    const module = /^dist\/(?:esm|cjs)\/(.+)\.js$/.exec(file)?.[1];
    if (module !== undefined && !sources.has(module)) fail(`${name}: ${file} has no source (a stale build?)`);
  }
  const manifest = JSON.parse(run('tar', ['-xOzf', tarball, 'package/package.json']));
  if (JSON.stringify(manifest).includes('workspace:')) fail(`${name}: the packed manifest still has a workspace: range`);
  for (const field of ['name', 'version', 'description', 'license', 'repository', 'homepage', 'bugs', 'keywords', 'engines', 'exports', 'types']) {
    if (manifest[field] === undefined) fail(`${name}: the manifest has no ${field}`);
  }
  if (manifest.license !== 'MIT' || !readFileSync(join(root, 'packages', name, 'LICENSE'), 'utf8').startsWith('MIT License')) fail(`${name}: license`);
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) {
    if (manifest.scripts?.[hook] !== undefined) fail(`${name}: the manifest runs a ${hook} script on users' machines`);
  }
  if (manifest.version !== manifests.core.version) fail(`${name}: version ${manifest.version}, core is ${manifests.core.version} (released together, CHANGELOG.md)`);
  const core = manifest.dependencies?.['@tokenward/core'];
  if (name !== 'core' && core !== `^${manifests.core.version}`) fail(`${name}: depends on @tokenward/core ${core}, expected ^${manifests.core.version}`);
}

function listSources(dir, prefix = '') {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listSources(join(dir, entry.name), `${prefix}${entry.name}/`) : entry.name.endsWith('.ts') ? [`${prefix}${entry.name.replace(/\.ts$/, '')}`] : [],
  );
}

// 2. A fresh npm project with the tarballs and the frameworks at the versions the repository tests.
step('installing the tarballs with npm into a fresh project');
const project = join(work, 'consumer');
const dev = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies;
const at = (pkg) => `${pkg}@${dev[pkg]}`;
mkdirSync(project);
writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2));
const npm = ['--no-audit', '--no-fund', '--loglevel=error', '--prefer-offline'];
const redisClient = `redis@${manifests.redis.devDependencies.redis}`;
run('npm', ['install', ...npm, ...packages.map((name) => tarballs[name]), at('express'), at('fastify'), at('@nestjs/common'), at('@nestjs/core'), at('@nestjs/platform-express'), at('reflect-metadata'), at('rxjs'), redisClient], project);
run('npm', ['install', ...npm, '-D', at('typescript'), at('@types/express'), at('@types/node')], project);

// The CLI's bin, as npm linked it.
step('running the tokenward bin from the tarball');
{
  const decoded = run(join(project, 'node_modules', '.bin', 'tokenward'), ['inspect', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJyZWxlYXNlIn0.c2ln', '--json'], project);
  if (JSON.parse(decoded).claims?.sub !== 'release') fail(`tokenward inspect from the tarball printed: ${decoded}`);
}

// 3. Types from the tarballs: the consumer files, each module kind, strict NodeNext.
step('type-checking the consumer files against the tarballs');
const consumers = join(root, 'test', 'consumers');
copyFileSync(join(consumers, 'express', 'app.ts'), join(project, 'express-esm.mts'));
copyFileSync(join(consumers, 'express', 'app-commonjs.cts'), join(project, 'express-cjs.cts'));
copyFileSync(join(consumers, 'fastify', 'app.ts'), join(project, 'fastify-esm.mts'));
copyFileSync(join(consumers, 'nest', 'app.ts'), join(project, 'nest-esm.mts'));
// @tokenward/redis with node-redis, from each module kind.
const redisConsumer = (load) => `${load}
const redis = createClient({ url: 'redis://127.0.0.1:6379' });
const sync = syncRevocations({ redis, list: new RevocationList(), onEvent: (event: RevocationSyncEvent) => void event.type });
const published: Promise<string> = revocationPublisher({ redis, maxTokenLifetime: 600 }).revokeSubject('user-1');
const used = redisReplayStore({ redis }).use('proof', Date.now() + 1000);
export const checks = [sync.ready, published, used];
`;
const redisImports = "import { createClient } from 'redis';\nimport { RevocationList } from '@tokenward/core';\nimport { redisReplayStore, revocationPublisher, syncRevocations, type RevocationSyncEvent } from '@tokenward/redis';";
// The same source as ESM and as CommonJS (NodeNext compiles the imports of a .cts to require()).
writeFileSync(join(project, 'redis-esm.mts'), redisConsumer(redisImports));
writeFileSync(join(project, 'redis-cjs.cts'), redisConsumer(redisImports));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
writeFileSync(join(project, 'nest-quickstart.ts'), edit(quickStart(readme, '### NestJS'), 'NestJS'));
writeFileSync(
  join(project, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, types: ['node'], experimentalDecorators: true, emitDecoratorMetadata: true, outDir: 'out' },
    include: ['*.ts', '*.mts', '*.cts'],
  }),
);
try {
  run(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], project);
} catch (error) {
  fail(`tsc in the consumer project:\n${error.stdout}${error.stderr}`);
}

// 4. The quick starts, run as pasted against a local issuer.
const { publicKey, privateKey } = await generateKeyPair('RS256');
const jwk = { ...(await exportJWK(publicKey)), kid: 'release-check', alg: 'RS256', use: 'sig' };
const issuerServer = createServer((req, res) => {
  const body = req.url === '/.well-known/openid-configuration' ? { issuer, jwks_uri: `${issuer}jwks` } : req.url === '/jwks' ? { keys: [jwk] } : undefined;
  res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(body ?? {}));
});
await new Promise((resolve) => issuerServer.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${issuerServer.address().port}/`;
const token = (scope) =>
  new SignJWT({ scope, client_id: 'release-check' })
    .setProtectedHeader({ alg: 'RS256', kid: 'release-check', typ: 'at+jwt' })
    .setIssuer(issuer)
    .setAudience(audience)
    .setSubject('user-1')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey);
const tokens = { good: await token('read:messages'), weak: await token('profile') };

const quickStarts = [
  { name: 'README Express (ESM)', file: 'express.mjs', code: edit(quickStart(readme, '### Express'), 'Express'), api: '/messages', health: '/health' },
  { name: 'README Express (CommonJS)', file: 'express.cjs', code: toCommonJs(edit(quickStart(readme, '### Express'), 'Express')), api: '/messages', health: '/health' },
  { name: 'README Fastify (ESM)', file: 'fastify.mjs', code: edit(quickStart(readme, '### Fastify'), 'Fastify'), api: '/messages', health: '/health' },
  { name: 'README NestJS (TypeScript, compiled)', file: 'out/nest-quickstart.js', api: '/messages', health: '/messages/health' },
  { name: 'packages/core README (node:http)', file: 'core.mjs', code: edit(quickStart(readFileSync(join(root, 'packages', 'core', 'README.md'), 'utf8'), '```sh', 1), 'core'), api: '/' },
];
for (const quick of quickStarts) {
  step(`running ${quick.name}`);
  if (quick.code !== undefined) writeFileSync(join(project, quick.file), quick.code);
  await tryQuickStart(quick);
}

step('running README Without a framework');
{
  // The snippet's `jwt` is the user's token; its verify() throws a TokenwardError when it fails.
  writeFileSync(join(project, 'bare.mjs'), `const jwt = process.env.TOKEN;\n${edit(quickStart(readme, '### Without a framework'), 'Without a framework', false)}`);
  const good = await runToEnd('bare.mjs', { TOKEN: tokens.good });
  if (good.code !== 0) fail(`Without a framework: exit ${good.code} for a good token:\n${good.output}`);
  const weak = await runToEnd('bare.mjs', { TOKEN: tokens.weak });
  if (weak.code === 0 || !weak.output.includes('insufficient_scope')) fail(`Without a framework: a token without the scope gave exit ${weak.code}:\n${weak.output}`);
}

issuerServer.close();
if (problems.length === 0) rmSync(work, { recursive: true, force: true });
step(problems.length === 0 ? 'passed' : `failed: ${problems.length} problem(s); the project is in ${work}`);
process.exit(problems.length === 0 ? 0 : 1);

/** The first code block after the line starting with `heading` (skipping `skip` blocks). */
function quickStart(markdown, heading, skip = 0) {
  const lines = markdown.split('\n');
  let at = lines.findIndex((line) => line.startsWith(heading));
  if (at < 0) throw new Error(`no "${heading}" in the README`);
  for (let block = 0; ; block++) {
    const open = lines.findIndex((line, i) => i >= at && /^```(js|ts|sh)$/.test(line));
    const close = lines.findIndex((line, i) => i > open && line === '```');
    if (open < 0 || close < 0) throw new Error(`no code block after "${heading}"`);
    if (block === skip) return lines.slice(open + 1, close).join('\n') + '\n';
    at = close + 1;
  }
}

/** The issuer placeholder becomes the local issuer, port 3000 the port given in PORT. */
function edit(code, name, listens = true) {
  if (!code.includes(`'${placeholder}'`)) fail(`${name}: the quick start no longer names the issuer ${placeholder}`);
  let edited = code.replaceAll(`'${placeholder}'`, 'String(process.env.ISSUER)');
  if (listens) {
    const ported = edited.replace(/listen\(3000\)/, 'listen(Number(process.env.PORT))').replace(/listen\(\{ port: 3000 \}\)/, 'listen({ port: Number(process.env.PORT), host: "127.0.0.1" })');
    if (ported === edited) fail(`${name}: the quick start no longer listens on port 3000`);
    edited = ported;
  }
  return edited;
}

/** The README's Express quick start written with require(), as its comment says it can be. */
function toCommonJs(code) {
  const converted = code
    .replace(/^import (\w+) from '([^']+)';$/gm, "const $1 = require('$2');")
    .replace(/^import \{([^}]+)\} from '([^']+)';$/gm, "const {$1} = require('$2');");
  if (/^import /m.test(converted)) fail('Express (CommonJS): an import the conversion does not know');
  return converted;
}

async function tryQuickStart({ name, file, api, health }) {
  const port = await freePort();
  const child = spawn(process.execPath, [file], { cwd: project, env: { ...process.env, ISSUER: issuer, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const base = `http://127.0.0.1:${port}`;
  try {
    if (!(await listening(base, exited))) return fail(`${name}: never listened on ${port}:\n${output}`);
    const expect = async (what, path, authorization, status, check) => {
      const response = await fetch(base + path, { headers: authorization ? { authorization } : {} });
      const body = await response.text();
      if (response.status !== status || (check && !check(response, body))) fail(`${name}: ${what}: ${response.status} ${body}`);
    };
    if (health) await expect('the public route', health, undefined, 200, (_, body) => body === 'ok');
    await expect('no token', api, undefined, 401, (response) => /^Bearer\b/.test(response.headers.get('www-authenticate') ?? ''));
    await expect('a token without the scope', api, `Bearer ${tokens.weak}`, 403, (response) => (response.headers.get('www-authenticate') ?? '').includes('error="insufficient_scope"'));
    await expect('a forged token', api, `Bearer ${tokens.good.slice(0, -4)}AAAA`, 401, (_, body) => body.includes('invalid_token'));
    await expect('a good token', api, `Bearer ${tokens.good}`, 200, (_, body) => JSON.parse(body).user === 'user-1');
  } finally {
    child.kill();
    await exited;
  }
}

async function listening(base, exited) {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 200 && !gone; i++) {
    try {
      await fetch(base, { signal: AbortSignal.timeout(1000) });
      return true;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return false;
}

function runToEnd(file, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd: project, env: { ...process.env, ISSUER: issuer, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}
