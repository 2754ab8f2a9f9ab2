// RFC 7662 token introspection under HTTP load: `pnpm bench:introspection` (builds first; about
// four minutes) or `node bench/introspection.mjs --smoke` (seconds: 1 round, Express only, short
// runs; checks the bench works, never for timing, and writes its page to the temp directory).
//
// Processes, all on 127.0.0.1: an introspection endpoint (this file with --authorization-server:
// plain node:http serving the issuer's metadata and POST /introspect, which knows a set of opaque
// tokens as active for the audience, answers any other as inactive and counts its calls, per
// introspecting client, at GET /calls); for each framework and scenario an unprotected app and a
// tokenward-protected app (this file with --app), each GET /me answering the subject; the load
// generator (autocannon) in this process. The two apps of a scenario run side by side and are
// loaded one after the other, in rotating order, round after round; each ratio is taken against
// the unprotected app of the same round. Server CPU is read from /proc (user + system, the whole
// process, 10 ms ticks) before and after each run, for the app and for the introspection server.
//
// Scenarios:
// - opaque-hit: one opaque token on every request; after the warm-up it is in the verifier's cache.
// - opaque-miss: a different active opaque token on every request, taken in order from a pool larger
//   than any server is sent in the scenario and than the cache (10,000), so that every request is
//   introspected; rateLimit raised to 1e9 calls a second, so that the throttle is not what is measured.
// - flood: a new random made-up token on every request, with the default rate limit (100 calls per
//   1,000 ms): what a flood of made-up tokens costs the authorization server, and the API.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const [mode, ...modeArgs] = process.argv.slice(2);
const smoke = process.argv.includes('--smoke');
const AUDIENCE = 'https://api.example.com';
const CLIENT_SECRET = 'bench-introspection-secret';
const DURATION = smoke ? 1 : Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = 1;
const ROUNDS = smoke ? 1 : Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 64;
const POOL = smoke ? 20_000 : 100_000;
const FRAMEWORKS = smoke ? ['express'] : ['express', 'fastify'];
const VARIANTS = ['none', 'tokenward'];
const SCENARIOS = {
  'opaque-hit': { label: 'opaque-hit (one token, cached)', rateCalls: undefined },
  'opaque-miss': { label: 'opaque-miss (distinct active tokens, rateLimit 1e9/s)', rateCalls: 1e9 },
  flood: { label: 'flood (random made-up tokens, default rateLimit 100/s)', rateCalls: undefined },
};
const log = (...parts) => console.log(...parts);

// ---------------------------------------------------------------- child: the introspection endpoint

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/** The client id of an RFC 6749 §2.3.1 Basic header with our secret, else undefined. */
function basicClient(header) {
  if (typeof header !== 'string' || !header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString();
  const colon = decoded.indexOf(':');
  const [id, secret] = [decoded.slice(0, colon), decoded.slice(colon + 1)].map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
  return colon > 0 && secret === CLIENT_SECRET ? id : undefined;
}

async function authorizationServer() {
  // The active tokens, one a line; the subject of line i is user-i.
  const active = new Map(readFileSync(process.env.TOKENS_FILE, 'utf8').split('\n').filter(Boolean).map((token, i) => [token, `user-${i}`]));
  const calls = { total: 0, active: 0, inactive: 0, byClient: {} };
  let issuer = '';
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/.well-known/openid-configuration') return send(res, 200, { issuer, jwks_uri: `${issuer}/jwks`, introspection_endpoint: `${issuer}/introspect` });
    if (req.method === 'GET' && req.url === '/jwks') return send(res, 200, { keys: [] });
    if (req.method === 'GET' && req.url === '/calls') return send(res, 200, calls);
    if (req.method !== 'POST' || req.url !== '/introspect') return send(res, 404, { error: 'not_found' });
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const client = basicClient(req.headers.authorization);
      if (client === undefined) return send(res, 401, { error: 'invalid_client' });
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      calls.total++;
      calls.byClient[client] = (calls.byClient[client] ?? 0) + 1;
      const subject = active.get(form.get('token') ?? '');
      if (subject === undefined) {
        calls.inactive++;
        return send(res, 200, { active: false });
      }
      calls.active++;
      const iat = Math.floor(Date.now() / 1000);
      send(res, 200, { active: true, iss: issuer, aud: AUDIENCE, exp: iat + 3600, iat, token_type: 'Bearer', scope: 'read:messages', sub: subject, client_id: 'bench-web-app' });
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${server.address().port}`;
  console.log(`READY ${server.address().port}`);
}

// ---------------------------------------------------------------- child: an app

async function app(framework, variant) {
  const { ISSUER: issuer, CLIENT_ID: clientId, RATE_CALLS: rateCalls } = process.env;
  const options = {
    issuer,
    audience: AUDIENCE,
    introspection: { clientId, clientSecret: CLIENT_SECRET, ...(rateCalls ? { rateLimit: { calls: Number(rateCalls), window: 1000 } } : {}) },
  };
  let port;
  if (framework === 'express') {
    const { default: express } = await import('express');
    const server = express();
    if (variant === 'tokenward') {
      const { tokenward } = await import('@tokenward/express');
      server.use(tokenward(options));
    }
    server.get('/me', (req, res) => res.json({ sub: req.auth?.subject ?? 'anonymous' }));
    port = await new Promise((resolve) => {
      const listening = server.listen(0, '127.0.0.1', () => resolve(listening.address().port));
    });
  } else if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify');
    const server = Fastify();
    if (variant === 'tokenward') {
      const { default: tokenward } = await import('@tokenward/fastify');
      await server.register(tokenward, options);
    }
    server.get('/me', async (req) => ({ sub: req.auth?.subject ?? 'anonymous' }));
    await server.listen({ port: 0, host: '127.0.0.1' });
    port = server.server.address().port;
  } else {
    throw new Error(`unknown framework ${framework}`);
  }
  console.log(`READY ${port}`);
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
}

// ---------------------------------------------------------------- parent: the run

const children = new Set();
let tmp;
function cleanUp() {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
}

/** This file in a child process with `args`; resolves once it prints READY <port>. */
function startChild(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], { env: { ...process.env, NODE_ENV: 'production', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    children.add(child);
    child.on('error', reject);
    child.on('exit', (code) => code !== 0 && code !== null && reject(new Error(`${args.join(' ')} exited with ${code}`)));
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /READY (\d+)/.exec(out);
      if (match) resolve({ child, url: `http://127.0.0.1:${match[1]}` });
    });
  });
}

/** CPU time (user + system) the process has used, in microseconds (clock ticks are 10 ms here). */
function cpuOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function load(url, nextToken, duration) {
  const { default: autocannon } = await import('autocannon');
  // autocannon builds each request just before it writes it: the count of builds is what was sent,
  // the answered requests and the up to one per connection cut off when the run stops.
  let sent = 0;
  const result = await autocannon({
    url: `${url}/me`,
    connections: CONNECTIONS,
    duration,
    requests: [{ method: 'GET', setupRequest: (req) => (sent++, { ...req, headers: { authorization: `Bearer ${nextToken()}` } }) }],
  });
  const status = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count]));
  const answered = Object.values(status).reduce((sum, n) => sum + n, 0);
  return { rps: result.requests.average, p99: result.latency.p99, sent, answered, status, seconds: result.duration, errors: result.errors + result.timeouts };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const sum = (values) => values.reduce((total, n) => total + n, 0);
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const pct = (share) => `${(100 * share).toFixed(share > 0 && share < 0.001 ? 2 : 1)} %`;
const version = (name) => {
  try {
    return JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
};

async function main() {
  for (const pkg of ['core', 'express', 'fastify']) {
    if (!existsSync(join(root, 'packages', pkg, 'dist', 'esm', 'index.js'))) throw new Error(`packages/${pkg} is not built: run \`pnpm bench:introspection\`, which builds first`);
  }
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      cleanUp();
      process.exit(130);
    });
  }
  const started = Date.now();
  const opaque = () => randomBytes(32).toString('base64url');
  // Line 0: the opaque-hit token; the rest: the opaque-miss pool. All active for the audience.
  const hitToken = opaque();
  const pool = Array.from({ length: POOL }, opaque);
  tmp = mkdtempSync(join(tmpdir(), 'tokenward-introspection-bench-'));
  writeFileSync(join(tmp, 'tokens'), `${[hitToken, ...pool].join('\n')}\n`);
  const as = await startChild(['--authorization-server'], { TOKENS_FILE: join(tmp, 'tokens') });
  const issuer = as.url;
  const callsBy = async (clientId) => (await (await fetch(`${issuer}/calls`)).json()).byClient[clientId] ?? 0;
  const settledCalls = async (clientId) => {
    let last = await callsBy(clientId);
    for (let waited = 0; waited < 5000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const now = await callsBy(clientId);
      if (now === last) return now;
      last = now;
    }
    return last;
  };
  log(`introspection endpoint ${issuer}/introspect knows ${fmt(POOL + 1)} active opaque tokens; autocannon ${version('autocannon')}, ${CONNECTIONS} connections, ${DURATION} s per run after a ${WARMUP} s warm-up, ${ROUNDS} round(s)`);

  const rows = [];
  // Where each server is in the pool: every run picks up where its last one stopped.
  const cursor = new Map();
  const wrapped = new Set();
  for (const framework of FRAMEWORKS) {
    for (const [scenario, { rateCalls }] of Object.entries(SCENARIOS)) {
      const clientId = `bench-${framework}-${scenario}`;
      const servers = [];
      const perVariant = Object.fromEntries(VARIANTS.map((v) => [v, []]));
      try {
        for (const variant of VARIANTS) {
          const env = { ISSUER: issuer, CLIENT_ID: clientId, ...(rateCalls === undefined ? {} : { RATE_CALLS: String(rateCalls) }) };
          servers.push({ variant, ...(await startChild(['--app', framework, variant], env)) });
        }
        const tokensFor = (url) => {
          if (scenario === 'opaque-hit') return () => hitToken;
          if (scenario === 'flood') return opaque;
          return () => {
            const i = cursor.get(url) ?? 0;
            cursor.set(url, i + 1);
            if (i >= pool.length) wrapped.add(`${framework}/${scenario}`);
            return pool[i % pool.length];
          };
        };
        for (const { url } of servers) await load(url, tokensFor(url), WARMUP);
        for (let round = 0; round < ROUNDS; round++) {
          const runs = {};
          for (let k = 0; k < servers.length; k++) {
            const { variant, child, url } = servers[(k + round) % servers.length];
            // Settled first, so that the tail of the previous run (or warm-up) is not counted in this one.
            const callsBefore = await settledCalls(clientId);
            const cpuBefore = cpuOf(child.pid);
            const asCpuBefore = cpuOf(as.child.pid);
            const result = await load(url, tokensFor(url), DURATION);
            // The requests cut off at the end are still being introspected: wait for the count to settle.
            const after = await settledCalls(clientId);
            const cpu = cpuOf(child.pid) - cpuBefore;
            const asCpu = cpuOf(as.child.pid) - asCpuBefore;
            // Only the loaded server's client introspects during its run; the other app is idle.
            const calls = after - callsBefore;
            if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${framework}/${variant} died during the run`);
            runs[variant] = { ...result, cpu, asCpu, calls };
          }
          if (!(runs.none.rps > 0)) throw new Error(`${framework}/${scenario}: the unprotected app answered nothing`);
          for (const variant of VARIANTS) perVariant[variant].push({ ...runs[variant], ratio: runs[variant].rps / runs.none.rps });
          log(`${framework} ${scenario} round ${round + 1}: ${VARIANTS.map((v) => `${v} ${fmt(runs[v].rps)} req/s`).join(', ')}, ${fmt(runs.tokenward.calls)} introspections`);
        }
      } finally {
        for (const { child } of servers) child.kill();
      }
      for (const variant of VARIANTS) {
        const runs = perVariant[variant];
        const answered = sum(runs.map((r) => r.answered));
        const ok = sum(runs.map((r) => sum(Object.entries(r.status).filter(([code]) => code.startsWith('2')).map(([, n]) => n))));
        const throttled = sum(runs.map((r) => r.status['503'] ?? 0));
        const calls = sum(runs.map((r) => r.calls));
        rows.push({
          framework,
          scenario,
          variant,
          rps: median(runs.map((r) => r.rps)),
          ratio: median(runs.map((r) => r.ratio)),
          ratioMin: Math.min(...runs.map((r) => r.ratio)),
          ratioMax: Math.max(...runs.map((r) => r.ratio)),
          p99: median(runs.map((r) => r.p99)),
          cpu: median(runs.map((r) => r.cpu / Math.max(1, r.sent))),
          asCpu: median(runs.map((r) => r.asCpu / Math.max(1, r.sent))),
          callsPer1000: (1000 * calls) / Math.max(1, sum(runs.map((r) => r.sent))),
          callsPerSecond: calls / sum(runs.map((r) => r.seconds)),
          throttled: throttled / Math.max(1, answered),
          otherRefused: (answered - ok - throttled) / Math.max(1, answered),
          errors: sum(runs.map((r) => r.errors)),
          answered,
        });
      }
    }
  }
  const seconds = (Date.now() - started) / 1000;
  report(rows, seconds, wrapped);
  as.child.kill();
}

function report(rows, seconds, wrapped) {
  const header = [
    '| framework | scenario | app | req/s | × unprotected (median) | range over rounds | p99 ms | server CPU µs/req | introspections per 1,000 req | introspections/s | 503 share | other non-2xx | introspection server CPU µs/req |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const table = [
    ...header,
    ...rows.map(
      (r) =>
        `| ${r.framework} | ${r.scenario} | ${r.variant === 'none' ? 'unprotected' : 'tokenward'} | ${fmt(r.rps)} | ${r.ratio.toFixed(2)} | ${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)} | ${r.p99} | ${r.cpu.toFixed(0)} | ${r.callsPer1000.toFixed(1)} | ${r.callsPerSecond.toFixed(1)} | ${pct(r.throttled)} | ${pct(r.otherRefused)}${r.errors > 0 ? ` (${r.errors} errors)` : ''} | ${r.asCpu.toFixed(1)} |`,
    ),
  ];
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1]?.trim() ?? cpu;
  } catch {
    // Not Linux: os.cpus() says it.
  }
  const lines = [
    `# Token introspection (RFC 7662) under load${smoke ? ' (smoke run: figures not meaningful)' : ''}`,
    '',
    `Generated by \`${smoke ? 'node bench/introspection.mjs --smoke' : 'pnpm bench:introspection'}\` (bench/introspection.mjs) on ${new Date().toISOString().slice(0, 10)}, in ${seconds.toFixed(0)} s. The figures come from one run on this machine: read them as this machine's, and the ratios and counts as the point.`,
    '',
    `Machine: ${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB; Node ${process.version}, ${process.platform}; express ${version('express')}, fastify ${version('fastify')}.`,
    `Load: autocannon ${version('autocannon')} in the parent process, ${CONNECTIONS} connections, ${DURATION} s per run after a ${WARMUP} s warm-up per server, ${ROUNDS} interleaved round(s) (the unprotected and the tokenward app of a scenario loaded one after the other, order rotating); req/s, ratio, p99 and CPU are medians over the rounds, the counts and shares are totals over the rounds. The load generator, the app and the introspection server share the machine's ${cpus().length} cores.`,
    '',
    'Setup, all on 127.0.0.1: an introspection endpoint in its own process (plain node:http: issuer metadata with `introspection_endpoint`, POST /introspect with client_secret_basic, a count of calls per client); for each framework and scenario an unprotected app and a tokenward-protected app, each in its own process, GET /me answering the subject. Tokens are opaque (32 random bytes, base64url), so tokenward introspects them (`tokens: \'opaque\'`, the default); the cache is the default (10,000 active, 1,000 inactive answers).',
    '',
    `- **opaque-hit**: one active token on every request; after the warm-up it is in the cache, so no request is introspected.`,
    `- **opaque-miss**: a different active token on every request, in order from a pool of ${fmt(POOL)} (more than any server is sent in the scenario, and than the cache holds), so that every request is introspected; \`rateLimit: { calls: 1e9, window: 1000 }\` so that the throttle is not what is measured.`,
    '- **flood**: a new random made-up token on every request, with the default rate limit (100 calls per 1,000 ms, fixed window): the introspection calls a random-token flood makes the authorization server answer, and what the API answers meanwhile (503 introspection_throttled beyond the cap; 401 for the made-up tokens that were introspected).',
    '',
    'Per request means per request sent (answered, or cut off by the end of the run: at most one per connection, still worked on by the server): the introspection counts and the CPU are read once the introspection server\'s count for that app has settled after the run. Server CPU: user + system time of the whole app process (main thread and every other) over the run, from /proc (10 ms ticks); the same for the introspection server in the last column. The 503 and other non-2xx shares are of the answered requests.',
    '',
    ...table,
    '',
    ...(wrapped.size > 0 ? [`**Note:** the opaque-miss pool wrapped for ${[...wrapped].join(', ')}: tokens came round again (still more than the cache holds, in order, so no hit).`, ''] : []),
  ];
  const file = smoke ? join(tmpdir(), 'INTROSPECTION.smoke.md') : join(here, 'INTROSPECTION.md');
  writeFileSync(file, lines.join('\n'));
  log();
  log(table.join('\n'));
  log();
  log(`wrote ${file}`);
}

if (mode === '--authorization-server') await authorizationServer();
else if (mode === '--app') await app(...modeArgs);
else await main();
