// tokenward side by side with its peers, in one run: `pnpm bench` (full, ~20 min with 9 rounds) or
// `pnpm bench:smoke` (seconds; CI runs it to check the benchmark works, never for timing).
//
// Micro: verifies per second in this process, RS256/PS256/ES256/EdDSA, for one repeated token and
// for 20,000 distinct tokens, against jose.jwtVerify with the same checks and a bare node:crypto
// signature verify of the same bytes (the floor of the work); rounds interleave the three.
// HTTP: each server in its own process (server.mjs), the load generator (wrk, else autocannon) in
// another, all on 127.0.0.1, fixed duration and connections. All servers of one framework and
// scenario run side by side and are loaded one after another in rotating order, round after
// round; each ratio is taken against the unprotected app of the same round, and the table gives
// the median and the range. Every scenario has the floor beside the unprotected app: the
// unprotected app plus one bare node:crypto RS256 verify of the token, inline, key imported once
// (and, for DPoP, one of the proof), so that every figure is also a ratio × floor in the same
// rounds, and the no-op gauge (the same layers doing nothing), × which the repeated-token figures
// are read. The DPoP scenario sends distinct DPoP-bound tokens, each request with a fresh proof.
// Writes RESULTS.md and results.svg next to this file.
import { spawn, spawnSync } from 'node:child_process';
import { constants, createHash, generateKeyPairSync, randomUUID, sign, verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import * as jose from 'jose';
import { createVerifier } from '@tokenward/core';
import { spawnServer } from './spawn-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',');
const scenarioFilter = args.find((a) => a.startsWith('--scenario='))?.slice(11).split(',');
const variantFilter = args.find((a) => a.startsWith('--variants='))?.slice(11).split(',');
// The load generator: wrk when it is installed (C, one thread: it leaves more of a small machine
// to the server under test than autocannon, whose JavaScript needs about a core of its own to
// keep a Fastify server busy), else autocannon. BENCH_LOAD=autocannon|wrk chooses.
const LOAD = process.env.BENCH_LOAD ?? (spawnSync('wrk', ['--version']).error === undefined ? 'wrk' : 'autocannon');
// A slice (--only, --scenario, --variants, --micro, --http) writes RESULTS.partial.md, never the
// committed RESULTS.md.
const partial = Boolean(only || scenarioFilter || variantFilter || args.includes('--micro') || args.includes('--http'));
const outName = smoke ? `smoke.${LOAD}` : partial ? 'partial' : undefined;
/** Where this run writes `stem.ext`: RESULTS.md, or RESULTS.partial.md for a slice, and so on. */
const output = (stem, ext) => (outName ? `${stem}.${outName}.${ext}` : `${stem}.${ext}`);
const DURATION = smoke ? 1 : Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = smoke ? 1 : Number(process.env.BENCH_ROUNDS ?? 9);
const DISTINCT = smoke ? 300 : 20_000;
// DPoP: bound tokens (more than the verified-token cache holds, so that no run gets cache help),
// and requests prepared per server and round, each with a fresh proof (a proof is accepted once).
const DPOP_TOKENS = smoke ? 300 : 12_000;
const DPOP_REQUESTS_PER_RUN = smoke ? 6_000 : 40_000;
const MICRO_ROUNDS = smoke ? 1 : 5;
const CONNECTIONS = 64;
const audience = 'https://api.example.com';
const log = (...parts) => console.log(...parts);
const PEER_LABEL = {
  none: 'unprotected',
  layers: 'unprotected + no-op middleware (the same layers)',
  tokenward: 'tokenward',
  'tokenward-inline': 'tokenward, signatureWork: inline',
  'tokenward-nocache': 'tokenward, tokenCache: false',
  'tokenward-base': 'tokenward, base tree (TOKENWARD_BASE)',
  'express-oauth2-jwt-bearer': 'express-oauth2-jwt-bearer',
  'express-jwt': 'express-jwt + jwks-rsa',
  'fastify-jwt': '@fastify/jwt + get-jwks',
  'passport-jwt': '@nestjs/passport + passport-jwt + jwks-rsa',
  floor: 'floor: unprotected + bare node:crypto verify of the token (and proof)',
};

const TARGETS_HEADING = '## Against the targets (issue 15)';

if (args.includes('--render')) {
  // Redraws results.svg from results.json (the figures of the last full run), e.g. after a change
  // to the chart; measures nothing, so it stops before any key is made.
  const { http: rows } = JSON.parse(readFileSync(join(here, 'results.json'), 'utf8'));
  writeFileSync(join(here, 'results.svg'), chart(rows));
  // And the targets section of RESULTS.md, which is computed from the same rows.
  const results = readFileSync(join(here, 'RESULTS.md'), 'utf8').split('\n');
  const from = results.findIndex((line) => line === TARGETS_HEADING);
  const to = from === -1 ? -1 : results.findIndex((line, i) => i > from && line.startsWith('## '));
  const before = from === -1 ? results.findIndex((line) => line.startsWith('## HTTP')) : from;
  results.splice(before, from === -1 ? 0 : to - from, ...targets(rows));
  writeFileSync(join(here, 'RESULTS.md'), results.join('\n'));
  log('wrote results.svg and the targets of RESULTS.md from results.json');
  process.exit(0);
}

// ---------------------------------------------------------------- keys, JWKS server, tokens
const ALGS = {
  RS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  PS256: () => generateKeyPairSync('rsa', { modulusLength: 2048 }),
  ES256: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  EdDSA: () => generateKeyPairSync('ed25519'),
};
const keys = Object.fromEntries(Object.entries(ALGS).map(([alg, make]) => [alg, { alg, kid: `k-${alg}`, ...make() }]));
const jwks = { keys: Object.values(keys).map((k) => ({ ...k.publicKey.export({ format: 'jwk' }), kid: k.kid, alg: k.alg, use: 'sig' })) };
const jwksServer = createServer((req, res) => {
  if (req.url === '/.well-known/openid-configuration') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks.json` }));
  } else {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  }
});
await new Promise((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${jwksServer.address().port}`;
const jwksUri = `${issuer}/jwks.json`;

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
function signWith(key, input) {
  const data = Buffer.from(input);
  if (key.alg === 'RS256') return sign('sha256', data, key.privateKey);
  if (key.alg === 'PS256') return sign('sha256', data, { key: key.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  if (key.alg === 'ES256') return sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return sign(null, data, key.privateKey);
}
/** The signing input of an access token for the bench's API, valid for an hour from now. */
function signingInput(key, claims = {}, header = {}) {
  const iat = Math.floor(Date.now() / 1000);
  return `${b64({ alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header })}.${b64({ iss: issuer, aud: audience, sub: 'user-42', iat, exp: iat + 3600, scope: 'read:messages', jti: Math.random().toString(36).slice(2), ...claims })}`;
}
function mint(key, claims = {}, header = {}) {
  const input = signingInput(key, claims, header);
  return `${input}.${signWith(key, input).toString('base64url')}`;
}
const tokensFor = (key, n, claims = {}) => Array.from({ length: n }, (_, i) => mint(key, { sub: `user-${i}`, ...claims }));

/**
 * Distinct tokens for tokenward's servers, minted as the runs need them so that no such server is
 * ever sent a token twice in a scenario. tokenward's cache stores a token on its second
 * verification, so a list that cycles would be answered from the cache from its second pass on
 * (measured: half of a 20,000-token cycle). The other servers have no cache and cycle `list` as it is.
 */
class FreshTokens {
  constructor(key, list, claims = {}) {
    Object.assign(this, { key, list, claims });
  }

  /** `count` tokens from index `from` on, minting what is missing (the signatures on the pool, both cores). */
  async slice(from, count) {
    const missing = from + count - this.list.length;
    if (missing > 0) {
      const { key, claims } = this;
      const minted = await Promise.all(
        Array.from({ length: missing }, (_, i) => {
          const input = signingInput(key, { sub: `user-${this.list.length + i}`, jti: randomUUID(), ...claims });
          return new Promise((resolve, reject) => sign('sha256', Buffer.from(input), key.privateKey, (error, signature) => (error ? reject(error) : resolve(`${input}.${signature.toString('base64url')}`))));
        }),
      );
      // One by one: a spread of a whole round's tokens overflows the stack.
      for (const token of minted) this.list.push(token);
    }
    return this.list.slice(from, from + count);
  }
}

// The DPoP client of the bench (RFC 9449): one ES256 key, its RFC 7638 thumbprint in every bound token.
const dpopKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const dpopJwk = dpopKey.publicKey.export({ format: 'jwk' });
const dpopJkt = createHash('sha256').update(JSON.stringify({ crv: dpopJwk.crv, kty: dpopJwk.kty, x: dpopJwk.x, y: dpopJwk.y })).digest('base64url');
const proofHeader = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: dpopJwk });
/** A fresh DPoP proof for GET `htu` with `token`. */
function dpopProof(token, htu) {
  const ath = createHash('sha256').update(token).digest('base64url');
  const input = `${proofHeader}.${b64({ jti: randomUUID(), htm: 'GET', htu, iat: Math.floor(Date.now() / 1000), ath })}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: dpopKey.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}
/** `count` requests for the server at `url`, cycling through `tokens`, each with a fresh proof: "token\tproof" lines. */
function dpopRequests(tokens, url, count, from = 0) {
  return Array.from({ length: count }, (_, i) => {
    const token = tokens[(from + i) % tokens.length];
    return `${token}\t${dpopProof(token, `${url}/messages`)}`;
  });
}

// ---------------------------------------------------------------- micro
async function opsPerSecond(fn, count) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await fn(i);
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function micro() {
  const rows = [];
  for (const key of Object.values(keys)) {
    const distinct = tokensFor(key, DISTINCT);
    const repeated = distinct[0];
    const verifier = createVerifier({ issuer, audience, jwksUri });
    const uncached = createVerifier({ issuer, audience, jwksUri, tokenCache: false });
    await verifier.verify(repeated);
    await uncached.verify(repeated);
    const joseKey = await jose.importJWK(jwks.keys.find((k) => k.kid === key.kid), key.alg);
    const joseOptions = { issuer, audience, algorithms: [key.alg], requiredClaims: ['exp'] };
    const split = distinct.map((t) => {
      const dot = t.lastIndexOf('.');
      return [Buffer.from(t.slice(0, dot)), Buffer.from(t.slice(dot + 1), 'base64url')];
    });
    const params =
      key.alg === 'PS256' ? { key: key.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
      : key.alg === 'ES256' ? { key: key.publicKey, dsaEncoding: 'ieee-p1363' }
      : key.publicKey;
    const hash = key.alg === 'EdDSA' ? null : 'sha256';
    const n = distinct.length;
    const paths = {
      tokenward: (i) => uncached.verify(distinct[i]),
      jose: (i) => jose.jwtVerify(distinct[i], joseKey, joseOptions),
      floor: (i) => cryptoVerify(hash, split[i][0], params, split[i][1]),
    };
    // Warm the library paths once so that JIT and key imports are not in the figures.
    for (const name of ['tokenward', 'jose']) await opsPerSecond(paths[name], Math.min(n, 500));
    // Rounds alternate the three paths (order rotating), and each ratio is taken within a round.
    const rounds = [];
    for (let round = 0; round < MICRO_ROUNDS; round++) {
      const rates = {};
      const names = Object.keys(paths);
      for (let k = 0; k < names.length; k++) {
        const name = names[(k + round) % names.length];
        rates[name] = await opsPerSecond(paths[name], n);
      }
      rounds.push(rates);
    }
    const hits = [];
    for (let round = 0; round < MICRO_ROUNDS; round++) hits.push(await opsPerSecond(() => verifier.verify(repeated), smoke ? 10_000 : 300_000));
    const row = {
      alg: key.alg,
      cacheHit: median(hits),
      tokenward: median(rounds.map((r) => r.tokenward)),
      jose: median(rounds.map((r) => r.jose)),
      floor: median(rounds.map((r) => r.floor)),
      vsJose: median(rounds.map((r) => r.tokenward / r.jose)),
      vsFloor: median(rounds.map((r) => r.floor / r.tokenward)),
    };
    rows.push(row);
    log(`micro ${row.alg}: cache hit ${fmt(row.cacheHit)}/s, distinct ${fmt(row.tokenward)}/s, jose ${fmt(row.jose)}/s, bare verify ${fmt(row.floor)}/s`);
  }
  return rows;
}

/**
 * Heap bytes per entry of the verified-token cache, measured: the heap after a full collection,
 * before and after a verifier with the default cache has verified (and cached) `n` distinct
 * RS256 tokens, each twice since a token is stored on its second verification, each request's
 * token a new string as it would be (the tokens are built here and held by the bench either way,
 * so their own bytes are counted once in `tokenBytes`).
 */
async function cacheMemory(n = smoke ? 1_000 : 10_000) {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  const tokens = tokensFor(keys.RS256, n);
  const verifier = createVerifier({ issuer, audience, jwksUri, signatureWork: 'inline' });
  await verifier.verify(mint(keys.RS256));
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const before = heap();
  for (const token of tokens) {
    await verifier.verify(token);
    await verifier.verify(token);
  }
  const after = heap();
  const row = { entries: n, bytesPerEntry: (after - before) / n, tokenBytes: tokens[0].length };
  verifier.close();
  log(`memory: ${fmt(row.bytesPerEntry)} heap bytes per cached token (${n.toLocaleString('en-US')} entries, tokens of ${row.tokenBytes} characters held elsewhere)`);
  return row;
}

/**
 * The event loop's share of a distinct token, measured: main-thread CPU (the kernel's per-thread
 * clock, /proc/self/task/PID/schedstat, in ns) per distinct RS256 token with 64 verifications in
 * flight, as a server has. The floor (a bare node:crypto verify, inline and with a callback on
 * libuv's pool) against tokenward's `check()` of a request with the default options, inline and
 * on the pool. Rounds alternate the four; each token is checked once. What a server's main
 * thread spends beyond these figures is not tokenward's verification but the framework, the
 * adapter and the machine (docs/benchmarks.md).
 */
async function eventLoopMicro() {
  const key = keys.RS256;
  const [rounds, batch] = smoke ? [1, 200] : [5, 2_000];
  const paths = ['floor, inline', 'floor, pool', 'tokenward, inline', 'tokenward, pool'];
  const tokens = await new FreshTokens(key, []).slice(0, paths.length * (rounds + 1) * batch);
  const verifiers = { inline: createVerifier({ issuer, audience, jwksUri, signatureWork: 'inline' }), pool: createVerifier({ issuer, audience, jwksUri, signatureWork: 'threadpool' }) };
  await Promise.all(Object.values(verifiers).map((v) => v.ready()));
  const signed = (token) => {
    const dot = token.lastIndexOf('.');
    return [Buffer.from(token.slice(0, dot)), Buffer.from(token.slice(dot + 1), 'base64url')];
  };
  const run = {
    'floor, inline': (token) => {
      const [input, signature] = signed(token);
      if (!cryptoVerify('sha256', input, key.publicKey, signature)) throw new Error('floor: bad signature');
    },
    'floor, pool': (token) => {
      const [input, signature] = signed(token);
      return new Promise((resolve, reject) => cryptoVerify('sha256', input, key.publicKey, signature, (error, valid) => (valid ? resolve() : reject(error ?? new Error('floor: bad signature')))));
    },
    'tokenward, inline': (token) => verifiers.inline.check({ authorization: `Bearer ${token}`, url: '/messages', method: 'GET' }),
    'tokenward, pool': (token) => verifiers.pool.check({ authorization: `Bearer ${token}`, url: '/messages', method: 'GET' }),
  };
  const mainNs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
  const measure = async (path, list) => {
    let next = 0;
    const inFlight = async () => {
      while (next < list.length) {
        const outcome = run[path](list[next++]);
        if (outcome instanceof Promise) await outcome;
      }
    };
    const [cpu, wall] = [mainNs(), process.hrtime.bigint()];
    await Promise.all(Array.from({ length: CONNECTIONS }, inFlight));
    return { main: (mainNs() - cpu) / 1000 / list.length, wall: Number(process.hrtime.bigint() - wall) / 1000 / list.length };
  };
  const figures = Object.fromEntries(paths.map((path) => [path, []]));
  let from = 0;
  // Round 0 warms the four paths up (JIT, key imports) and is not counted.
  for (let round = 0; round <= rounds; round++) {
    for (let k = 0; k < paths.length; k++) {
      const path = paths[(k + round) % paths.length];
      const result = await measure(path, tokens.slice(from, (from += batch)));
      if (round > 0) figures[path].push(result);
    }
  }
  Object.values(verifiers).forEach((v) => v.close());
  const rows = paths.map((path) => ({ path, main: median(figures[path].map((f) => f.main)), wall: median(figures[path].map((f) => f.wall)) }));
  log(`event loop per distinct RS256 token, ${CONNECTIONS} in flight: ${rows.map((r) => `${r.path} ${r.main.toFixed(1)} µs main thread (${r.wall.toFixed(1)} µs wall)`).join('; ')}`);
  return rows;
}

// ---------------------------------------------------------------- HTTP
// TOKENWARD_BASE=<a checkout of another commit, built> adds 'tokenward-base': the same recipe with
// that tree's packages, rotated with the others, to A/B a change in one run.
const BASE = process.env.TOKENWARD_BASE ? ['tokenward-base'] : [];
const FRAMEWORKS = {
  express: ['none', 'layers', 'tokenward', ...BASE, 'tokenward-inline', 'tokenward-nocache', 'express-oauth2-jwt-bearer', 'express-jwt', 'floor'],
  fastify: ['none', 'layers', 'tokenward', ...BASE, 'tokenward-inline', 'tokenward-nocache', 'fastify-jwt', 'floor'],
  nest: ['none', 'layers', 'tokenward', ...BASE, 'tokenward-inline', 'tokenward-nocache', 'passport-jwt', 'floor'],
};
// The DPoP scenario compares tokenward with the floor only: the peers' recipes send Bearer
// tokens (express-oauth2-jwt-bearer has DPoP, with no replay check, so it would do less work).
const DPOP_VARIANTS = new Set(['none', 'layers', 'tokenward', 'tokenward-inline', 'floor']);
/** Whether `variant` runs in `scenario`: the unprotected app always, the floor and the no-op gauge unless filtered out. */
function runs(variant, scenario) {
  if (variant === 'none') return true;
  // Measured when asked for (--variants=...,tokenward-nocache): what the verified-token cache costs and saves.
  if (variant === 'tokenward-nocache' && variantFilter?.includes(variant) !== true) return false;
  // The smoke run checks that the bench works, in CI: the floor and the gauge once, on Express's distinct tokens.
  if (smoke && (variant === 'floor' || variant === 'layers') && scenario !== 'distinct') return false;
  if (variantFilter && !variantFilter.includes(variant) && variant !== 'floor' && variant !== 'layers') return false;
  if (scenario === 'dpop') return DPOP_VARIANTS.has(variant);
  return true;
}
// A request for the floor: the public keys it verifies with, imported once at its start.
const tokenJwk = jwks.keys.find((k) => k.kid === keys.RS256.kid);

function startServer(framework, variant) {
  // BENCH_SERVER_NODE_ARGS passes flags to the server processes only, e.g. '--cpu-prof --cpu-prof-dir=/tmp/prof'.
  const nodeArgs = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  return spawnServer(framework, variant, { issuer, jwksUri, audience, tokenJwk, dpopJwk, nodeArgs });
}

/** CPU time (user + system) the process has used, in microseconds (clock ticks are 10 ms here). */
function cpuOf(pid) {
  return ticksOf(`/proc/${pid}/stat`);
}

/** CPU time of the process's main thread, the event loop, alone (the rest is the pool, GC helpers). */
function mainThreadCpuOf(pid) {
  return ticksOf(`/proc/${pid}/task/${pid}/stat`);
}

/** The machine's CPU time so far, in microseconds, from /proc/stat: `busy` (every core, every process) and `idle` (idle and iowait). */
function machineCpu() {
  const [user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { busy: (user + nice + system + irq + softirq + steal) * 10_000, idle: (idle + iowait) * 10_000 };
}

/**
 * Where the time went while a load was steady: the share of the wall clock the server's main
 * thread was on a core (near 1: the event loop is the limit), and the share of the machine's CPU
 * left idle (near 0: every core was busy, with the server, the load generator or the rest).
 * Read every 250 ms during the run, without its first 500 ms (the load generator reading its
 * requests, connections opening) and its last reading.
 */
async function steadyState(pid, running) {
  const samples = [];
  const take = () => samples.push({ at: performance.now(), machine: machineCpu(), main: mainThreadCpuOf(pid) });
  take();
  const timer = setInterval(take, 250);
  try {
    await running;
  } finally {
    clearInterval(timer);
  }
  const steady = samples.length >= 6 ? samples.slice(2, -1) : samples;
  const [first, last] = [steady[0], steady[steady.length - 1]];
  const wall = (last.at - first.at) * 1000;
  const [busy, idle] = [last.machine.busy - first.machine.busy, last.machine.idle - first.machine.idle];
  return { mainBusy: wall > 0 ? (last.main - first.main) / wall : 0, idle: idle / Math.max(1, busy + idle) };
}

function ticksOf(file) {
  const fields = readFileSync(file, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/**
 * Where a server's resident memory is, at the end of a scenario: V8's heap (what its statistics
 * say is resident, by space), and the process's mappings (/proc/PID/smaps) by kind: the malloc
 * heap of the main thread ([heap]), files (the node binary, libraries), and the anonymous
 * mappings, which hold V8's heap and everything else (thread stacks, other threads' malloc
 * arenas, OpenSSL's allocations through them, code).
 */
async function memoryOf(pid, memoryUrl) {
  const reported = await (await fetch(memoryUrl)).json();
  const kinds = { mallocMain: 0, files: 0, anonymous: 0 };
  let current;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (mapping) {
      const name = mapping[4];
      current = name === '[heap]' ? 'mallocMain' : name.startsWith('/') ? 'files' : 'anonymous';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && current !== undefined) kinds[current] += Number(rss[1]) * 1024;
  }
  const threads = Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  const rss = rssOf(pid);
  // Then a full collection: what stays is live (the cache, the app), the rest was garbage.
  const collected = await (await fetch(`${memoryUrl}/gc`)).json();
  return { rss, rssAfterGc: rssOf(pid), liveAfterGc: collected.usage.heapUsed, threads, v8: reported.heap.total_physical_size, heapUsed: reported.usage.heapUsed, newSpace: reported.spaces.new_space ?? 0, oldSpace: reported.spaces.old_space ?? 0, external: reported.usage.external, ...kinds };
}

function rssOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

// Where each server is in its token list. Every run picks up where that server's last one
// stopped: a run restarting at the first token would replay tokens the warm-up or an earlier
// round left in the verified-token cache. tokenward's servers get fresh tokens in the distinct and
// DPoP scenarios (FreshTokens), so that they never see one twice.
const sent = new Map();

async function load(url, tokens, duration, fresh = false) {
  const before = sent.get(url) ?? 0;
  // A fresh list (DPoP requests made for this run, starting at the next token) is sent from its top.
  const start = fresh ? 0 : before;
  const result = await (LOAD === 'wrk' ? wrk(url, tokens, duration, start, fresh) : autocannonLoad(url, tokens, duration, start));
  // Up to one request per connection was sent without being counted as done: skip past those too.
  sent.set(url, before + result.total + CONNECTIONS);
  return result;
}

/** A request line's headers, as wrk.lua builds them: a token, or a token, a tab and a DPoP proof. */
function headersOf(line) {
  const tab = line.indexOf('\t');
  return tab === -1 ? { authorization: `Bearer ${line}` } : { authorization: `DPoP ${line.slice(0, tab)}`, dpop: line.slice(tab + 1) };
}

/** The figures of one load run, from either generator: req/s, p99 ms, totals. */
async function autocannonLoad(url, tokens, duration, start) {
  let i = start;
  const result = await autocannon({
    url: `${url}/messages`,
    connections: CONNECTIONS,
    duration,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, headers: headersOf(tokens[i++ % tokens.length]) }) }],
  });
  return { rps: result.requests.average, p99: result.latency.p99, total: result.requests.total, non2xx: result.non2xx, errors: result.errors + result.timeouts };
}

const tokenFiles = new Map();
process.on('exit', () => {
  for (const dir of tokenFiles.values()) rmSync(dir, { recursive: true, force: true });
});
/** The file wrk reads `tokens` from; a list made for one run (`once`) gets a file of its own, removed after the run. */
function tokenFile(tokens, once = false) {
  const write = () => {
    const dir = mkdtempSync(join(tmpdir(), 'tokenward-bench-'));
    writeFileSync(join(dir, 'tokens'), `${tokens.join('\n')}\n`);
    return dir;
  };
  if (once) return join(write(), 'tokens');
  if (!tokenFiles.has(tokens)) tokenFiles.set(tokens, write());
  return join(tokenFiles.get(tokens), 'tokens');
}

function wrk(url, tokens, duration, start, once) {
  const file = tokenFile(tokens, once);
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${duration}s`, '-s', join(here, 'wrk.lua'), `${url}/messages`], {
      env: { ...process.env, TOKENS_FILE: file, TOKENS_START: String(start) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (once) rmSync(dirname(file), { recursive: true, force: true });
      const line = /^WRK (.*)$/m.exec(out);
      let r;
      try {
        if (code !== 0 || line === null) throw new Error('no figures');
        r = JSON.parse(line[1]);
      } catch {
        return reject(new Error(`wrk exited with ${code}: ${out}`));
      }
      resolve({ rps: r.requests / (r.duration_us / 1e6), p99: Math.round(r.p99_us / 1000), total: r.requests, non2xx: r.non2xx, errors: r.errors });
    });
  });
}

async function http() {
  const rs = keys.RS256;
  const distinct = tokensFor(rs, DISTINCT);
  const mix = distinct.slice(0, Math.max(100, DISTINCT / 10)).map((t, i) => {
    if (i % 5 !== 0) return t;
    // 20% invalid: expired, forged signature, wrong audience, garbage, unknown kid.
    return [mint(rs, { exp: 1000, iat: 900 }), `${t.slice(0, -6)}AAAAAA`, mint(rs, { aud: 'other' }), 'a.b.c', mint(rs, {}, { kid: 'k-unknown' })][(i / 5) % 5];
  });
  const bound = tokensFor(rs, DPOP_TOKENS, { cnf: { jkt: dpopJkt } });
  const scenarios = { repeated: [distinct[0]], distinct, mix20: mix, dpop: bound };
  const freshTokens = { distinct: new FreshTokens(rs, [...distinct]), dpop: new FreshTokens(rs, [...bound], { cnf: { jkt: dpopJkt } }) };
  const results = [];
  for (const [framework, allVariants] of Object.entries(FRAMEWORKS)) {
    if (only && !only.includes(framework)) continue;
    for (const [scenario, tokens] of Object.entries(scenarios)) {
      const variants = allVariants.filter((v) => runs(v, scenario));
      if (smoke && scenario !== 'repeated' && framework !== 'express') continue;
      if (scenarioFilter && !scenarioFilter.includes(scenario)) continue;
      const perVariant = Object.fromEntries(variants.map((v) => [v, []]));
      const memoryAtEnd = new Map();
      // Every variant's server runs for the whole scenario (idle while another is loaded), so the
      // rounds can alternate quickly; each round's ratio is taken against that round's baseline
      // run, minutes apart at most, and the order rotates so that no variant always runs first.
      const servers = [];
      try {
        for (const variant of variants) servers.push({ variant, ...(await startServer(framework, variant)) });
        // DPoP: every server gets requests with proofs naming its URL; those that check proofs
        // (tokenward) get fresh ones for every run, since a proof is accepted once.
        const isDpop = scenario === 'dpop';
        const checksProofs = (variant) => variant.startsWith('tokenward');
        const staticRequests = new Map();
        const fresh = freshTokens[scenario];
        const topRate = new Map();
        /** The requests of a run of `seconds` for the server at `url`; `inFull`: a list made for this run, sent from its top. */
        const requestsFor = async (variant, url, seconds) => {
          if (fresh !== undefined && checksProofs(variant)) {
            // Room for three times the server's fastest run so far (10,000 req/s before its first).
            const count = Math.ceil(3 * (topRate.get(url) ?? (smoke ? 2_000 : 10_000)) * seconds) + CONNECTIONS;
            const slice = await fresh.slice(sent.get(url) ?? 0, isDpop ? Math.min(count, DPOP_REQUESTS_PER_RUN) : count);
            return { requests: isDpop ? dpopRequests(slice, url, slice.length) : slice, inFull: true };
          }
          if (!isDpop) return { requests: tokens, inFull: false };
          if (!staticRequests.has(url)) staticRequests.set(url, dpopRequests(tokens, url, Math.min(DPOP_REQUESTS_PER_RUN, tokens.length)));
          return { requests: staticRequests.get(url), inFull: true };
        };
        /** One run of `seconds` on the prepared requests; the rates measured size the next. */
        const run = async (variant, url, seconds, prepared) => {
          const result = await load(url, prepared.requests, seconds, prepared.inFull);
          topRate.set(url, Math.max(result.rps, topRate.get(url) ?? 0));
          if (fresh !== undefined && checksProofs(variant) && result.total > prepared.requests.length) log(`warning: ${framework}/${variant} was sent some of its ${prepared.requests.length} fresh tokens twice`);
          return result;
        };
        for (const { variant, url } of servers) await run(variant, url, 1, await requestsFor(variant, url, 1)); // warm-up: JIT, key fetch, caches
        for (let round = 0; round < ROUNDS; round++) {
          const runs = {};
          for (let k = 0; k < servers.length; k++) {
            const { variant, child, url } = servers[(k + round) % servers.length];
            // Tokens are minted before the CPU counters are read: the server idles meanwhile.
            const prepared = await requestsFor(variant, url, DURATION);
            const cpuBefore = cpuOf(child.pid);
            const mainBefore = mainThreadCpuOf(child.pid);
            const running = run(variant, url, DURATION, prepared);
            const steady = await steadyState(child.pid, running);
            const result = await running;
            if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${framework}/${variant} server died during the run`);
            const cpu = (cpuOf(child.pid) - cpuBefore) / Math.max(1, result.total);
            const mainCpu = (mainThreadCpuOf(child.pid) - mainBefore) / Math.max(1, result.total);
            runs[variant] = { ...result, rss: rssOf(child.pid), cpu, mainCpu, ...steady };
          }
          if (!(runs.none.rps > 0)) throw new Error(`${framework}/${scenario}: the unprotected app answered nothing`);
          for (const variant of variants) {
            const { rps } = runs[variant];
            perVariant[variant].push({ ...runs[variant], ratio: rps / runs.none.rps, vsFloor: runs.floor === undefined ? undefined : rps / runs.floor.rps, vsLayers: runs.layers === undefined ? undefined : rps / runs.layers.rps });
          }
        }
        for (const server of servers) memoryAtEnd.set(server.variant, await memoryOf(server.child.pid, server.memoryUrl));
      } finally {
        for (const { child } of servers) child.kill();
      }
      for (const variant of variants) {
        const runs = perVariant[variant];
        const row = { framework, scenario, variant, rps: median(runs.map((r) => r.rps)), p99: median(runs.map((r) => r.p99)), rss: Math.max(...runs.map((r) => r.rss)), cpu: median(runs.map((r) => r.cpu)), mainCpu: median(runs.map((r) => r.mainCpu)), mainBusy: median(runs.map((r) => r.mainBusy)), idle: median(runs.map((r) => r.idle)), non2xx: median(runs.map((r) => r.non2xx / Math.max(1, r.total))), errors: Math.max(...runs.map((r) => r.errors)) };
        const ratios = runs.map((r) => r.ratio);
        row.ratio = median(ratios);
        row.ratioMin = Math.min(...ratios);
        row.ratioMax = Math.max(...ratios);
        if (runs[0]?.vsFloor !== undefined) row.vsFloor = median(runs.map((r) => r.vsFloor));
        if (runs[0]?.vsLayers !== undefined) row.vsLayers = median(runs.map((r) => r.vsLayers));
        row.memory = memoryAtEnd.get(variant);
        results.push(row);
        log(`http ${framework} ${scenario} ${PEER_LABEL[variant]}: ${fmt(row.rps)} req/s, p99 ${row.p99} ms, rss ${Math.round(row.rss / 1048576)} MiB, ${row.cpu.toFixed(0)} µs CPU/req (${row.mainCpu.toFixed(0)} main thread), main thread busy ${(100 * row.mainBusy).toFixed(0)} %, machine idle ${(100 * row.idle).toFixed(0)} %, ${row.ratio.toFixed(2)}x (${row.ratioMin.toFixed(2)}–${row.ratioMax.toFixed(2)})${row.vsFloor === undefined ? '' : `, ${row.vsFloor.toFixed(2)}x floor`}${row.vsLayers === undefined ? '' : `, ${row.vsLayers.toFixed(2)}x no-op`}, non-2xx ${(100 * row.non2xx).toFixed(1)} %, socket errors ${row.errors}`);
      }
    }
  }
  return results;
}

// ---------------------------------------------------------------- report
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return 0;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (n) => Math.round(n).toLocaleString('en-US');
const version = (name) => {
  try {
    return JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
};

function wrkVersion() {
  return /wrk (\S+)/.exec(spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? '?';
}

/**
 * Issue 15's targets, read off the rows of one run: each with its medians and whether this run
 * meets it. Why a target is missed on a machine is measured and written in docs/benchmarks.md.
 */
function targets(httpRows) {
  const row = (framework, scenario, variant) => httpRows.find((r) => r.framework === framework && r.scenario === scenario && r.variant === variant);
  const frameworks = [...new Set(httpRows.map((r) => r.framework))];
  const verdict = (ok) => (ok ? 'met' : '**missed**');
  // Two decimals, or three where two would round a miss up to the target (0.947 is not 0.95).
  const ratio = (value, target) => (value >= target === Number(value.toFixed(2)) >= target ? value.toFixed(2) : value.toFixed(3));
  const lines = [TARGETS_HEADING, '', 'Medians of per-round ratios in this run. Why a target is missed on this machine, measured in instructions per request (`pnpm bench:instructions`): [docs/benchmarks.md](../docs/benchmarks.md#instructions-per-request-callgrind-night-of-2026-12-07).', ''];
  for (const framework of frameworks) {
    const [distinct, inline, repeated] = [row(framework, 'distinct', 'tokenward'), row(framework, 'distinct', 'tokenward-inline'), row(framework, 'repeated', 'tokenward')];
    const [base, memory] = [row(framework, 'distinct', 'none')?.memory, distinct?.memory];
    const parts = [];
    if (distinct?.vsFloor !== undefined) parts.push(`distinct tokens ≥ 1.0 × the floor: ${ratio(distinct.vsFloor, 1)} × (${verdict(distinct.vsFloor >= 1)})`);
    if (distinct?.vsFloor !== undefined && inline?.vsFloor !== undefined) parts.push(`'auto' not slower than 'inline': ${ratio(distinct.vsFloor, inline.vsFloor)} × against ${ratio(inline.vsFloor, distinct.vsFloor)} × (${verdict(distinct.vsFloor >= inline.vsFloor)})`);
    if (repeated?.vsLayers !== undefined) parts.push(`repeated token ≥ 0.95 × the no-op gauge: ${ratio(repeated.vsLayers, 0.95)} × (${verdict(repeated.vsLayers >= 0.95)})`);
    if (base !== undefined && memory !== undefined) {
      const over = (memory.rss - base.rss) / 1048576;
      const live = memory.liveAfterGc === undefined || base.liveAfterGc === undefined ? '' : `; live heap after a full GC +${Math.round((memory.liveAfterGc - base.liveAfterGc) / 1048576)} MiB`;
      parts.push(`RSS after the distinct run ≤ unprotected + 40 MiB: +${Math.round(over)} MiB (${verdict(over <= 40)}${live})`);
    }
    if (parts.length > 0) lines.push(`- ${framework}: ${parts.join('; ')}.`);
  }
  lines.push('');
  return lines;
}

function report(microRows, memoryRow, eventLoopRows, httpRows) {
  const lines = [
    '# Benchmark results',
    '',
    `Generated by \`pnpm bench\` on ${new Date().toISOString().slice(0, 10)}${smoke ? ' (smoke run: figures not meaningful)' : ''}.`,
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${process.platform}.`,
    `Versions: ${['express', 'fastify', '@nestjs/core', 'jose', 'express-oauth2-jwt-bearer', 'express-jwt', 'jwks-rsa', '@fastify/jwt', 'get-jwks', '@nestjs/passport', 'passport-jwt'].map((n) => `${n} ${version(n)}`).join(', ')}.`,
    `HTTP: ${LOAD === 'wrk' ? `wrk ${wrkVersion()} (one thread)` : `autocannon ${version('autocannon')}`}, ${CONNECTIONS} connections, ${DURATION} s per run after a 1 s warm-up, ${ROUNDS} interleaved round(s), medians; distinct RS256 tokens (tokenward's servers are never sent one twice, minted as needed; the others, which cache nothing, cycle through ${DISTINCT.toLocaleString('en-US')}); the mix scenario has 20 % invalid tokens (expired, forged, wrong audience, garbage, unknown kid); the dpop scenario distinct DPoP-bound RS256 tokens in the same way (${DPOP_TOKENS.toLocaleString('en-US')} for the others), each request with a fresh ES256 proof.`,
    '',
    `## Micro (verifies per second, one after another, in process; medians of ${MICRO_ROUNDS} interleaved round(s), ratios taken within each round)`,
    '',
    '| alg | cache hit | distinct tokens | jose.jwtVerify | bare node:crypto verify | × jose.jwtVerify | time per verify ÷ floor |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...microRows.map((r) => `| ${r.alg} | ${fmt(r.cacheHit)} | ${fmt(r.tokenward)} | ${fmt(r.jose)} | ${fmt(r.floor)} | ${r.vsJose.toFixed(2)}× | ${r.vsFloor.toFixed(2)} |`),
    '',
    ...(memoryRow === undefined
      ? []
      : [
          `Verified-token cache: ${fmt(memoryRow.bytesPerEntry)} heap bytes per cached token (measured over ${memoryRow.entries.toLocaleString('en-US')} distinct RS256 tokens of ${memoryRow.tokenBytes} characters, after full collections), plus the token string an entry keeps (${memoryRow.tokenBytes} bytes here, not counted above: the bench holds the strings anyway). The default 10,000 entries hold about ${Math.round(((memoryRow.bytesPerEntry + memoryRow.tokenBytes) * 10_000) / 1048576)} MiB.`,
          '',
        ]),
    ...(eventLoopRows.length === 0
      ? []
      : [
          `## The event loop's share of a distinct token (main-thread CPU per distinct RS256 token, ${CONNECTIONS} in flight, in process; medians of interleaved rounds)`,
          '',
          '| path | main thread µs per token | wall µs per token |',
          '| --- | ---: | ---: |',
          ...eventLoopRows.map((r) => `| ${r.path} | ${r.main.toFixed(1)} | ${r.wall.toFixed(1)} |`),
          '',
        ]),
    ...targets(httpRows),
    '## HTTP (GET /messages needing scope read:messages)',
    '',
    '| framework | scenario | library | req/s | × unprotected (median) | range over rounds | × floor (median) | × no-op gauge (median) | p99 ms | server CPU µs/req (main thread) | steady load: main thread busy, machine idle | RSS MiB | non-2xx answers |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...httpRows.map(
      (r) =>
        `| ${r.framework} | ${r.scenario} | ${PEER_LABEL[r.variant]} | ${fmt(r.rps)} | ${r.ratio.toFixed(2)} | ${r.ratioMin.toFixed(2)}–${r.ratioMax.toFixed(2)} | ${r.vsFloor === undefined ? '' : r.vsFloor.toFixed(2)} | ${r.vsLayers === undefined ? '' : r.vsLayers.toFixed(2)} | ${r.p99} | ${r.cpu.toFixed(0)} (${r.mainCpu.toFixed(0)}) | ${r.idle === undefined ? '' : `${(100 * r.mainBusy).toFixed(0)} %, ${(100 * r.idle).toFixed(0)} %`} | ${Math.round(r.rss / 1048576)} | ${(100 * r.non2xx).toFixed(1)} % |`,
    ),
    '',
    '## Memory at the end of each distinct-token scenario (MiB)',
    '',
    "Resident memory by where it is: V8's heap (its resident pages, of which new and old space; `used`: live objects and garbage not yet collected), `external` (buffers V8 accounts for), the main thread's malloc heap, mapped files (node, libraries), and anonymous memory outside V8's heap (thread stacks, other threads' malloc arenas, OpenSSL, code). Then, after a full collection the bench asks for at the end: V8's heap still used (what is live) and the RSS.",
    '',
    '| framework | library | RSS | over unprotected | V8 heap (new, old; used) | external | malloc main | files | other anonymous (threads) | after a full GC: live heap, RSS |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...httpRows
      .filter((r) => r.scenario === 'distinct' && r.memory !== undefined)
      .map((r) => {
        const m = r.memory;
        const base = httpRows.find((b) => b.framework === r.framework && b.scenario === 'distinct' && b.variant === 'none')?.memory;
        const mib = (bytes) => Math.round(bytes / 1048576);
        return `| ${r.framework} | ${PEER_LABEL[r.variant]} | ${mib(m.rss)} | ${base === undefined ? '' : `${m.rss >= base.rss ? '+' : '−'}${mib(Math.abs(m.rss - base.rss))}`} | ${mib(m.v8)} (${mib(m.newSpace)}, ${mib(m.oldSpace)}; ${mib(m.heapUsed)}) | ${mib(m.external)} | ${mib(m.mallocMain)} | ${mib(m.files)} | ${mib(Math.max(0, m.anonymous - m.v8))} (${m.threads}) | ${m.liveAfterGc === undefined ? '' : `${mib(m.liveAfterGc)}, ${mib(m.rssAfterGc)}`} |`;
      }),
    '',
    '![throughput relative to the unprotected app](results.svg)',
    '',
  ];
  writeFileSync(join(here, output('RESULTS', 'md')), lines.join('\n'));
  writeFileSync(join(here, output('results', 'svg')), chart(httpRows));
}

/** A horizontal bar chart of throughput relative to the unprotected app, one group per framework and scenario. */
function chart(rows) {
  const groups = [...new Set(rows.map((r) => `${r.framework} · ${r.scenario}`))];
  const barH = 16;
  const gap = 10;
  const left = 330;
  const width = 820;
  const scale = (width - left - 60) / Math.max(1, ...rows.map((r) => r.ratioMax));
  const colors = { none: '#9aa0a6', layers: '#dadce0', floor: '#5f6368', tokenward: '#1a73e8', 'tokenward-inline': '#8ab4f8' };
  let y = 40;
  const parts = [];
  for (const group of groups) {
    parts.push(`<text x="10" y="${y + 12}" font-weight="bold">${group}</text>`);
    y += 18;
    for (const r of rows.filter((row) => `${row.framework} · ${row.scenario}` === group)) {
      const w = Math.max(1, r.ratio * scale);
      parts.push(`<text x="20" y="${y + 12}">${PEER_LABEL[r.variant]}</text>`);
      parts.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colors[r.variant] ?? '#f29900'}"/>`);
      // The spread of the per-round ratios, so that the noise is drawn with the median.
      const [lo, hi] = [r.ratioMin, r.ratioMax].map((v) => left + v * scale);
      parts.push(`<line x1="${lo.toFixed(1)}" x2="${hi.toFixed(1)}" y1="${y + barH / 2}" y2="${y + barH / 2}" stroke="#202124" stroke-width="1"/>`);
      parts.push(`<text x="${(Math.max(left + w, hi) + 6).toFixed(1)}" y="${y + 12}">${r.ratio.toFixed(2)}×</text>`);
      y += barH + 4;
    }
    y += gap;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y + 10}" font-family="sans-serif" font-size="12">
<text x="10" y="20" font-size="14" font-weight="bold">Throughput relative to the unprotected app (higher is better; bar: median, line: range over rounds)</text>
${parts.join('\n')}
</svg>
`;
}

// --micro or --http runs one half only (for quick looks while optimising).
const microRows = args.includes('--http') ? [] : await micro();
const memoryRow = args.includes('--http') ? undefined : await cacheMemory();
const eventLoopRows = args.includes('--http') ? [] : await eventLoopMicro();
const httpRows = args.includes('--micro') ? [] : await http();
report(microRows, memoryRow, eventLoopRows, httpRows);
writeFileSync(join(here, output('results', 'json')), `${JSON.stringify({ micro: microRows, memory: memoryRow, eventLoop: eventLoopRows, http: httpRows }, null, 1)}\n`);
jwksServer.close();
log(`wrote ${output('RESULTS', 'md')}, ${output('results', 'svg')} and ${output('results', 'json')}`);
