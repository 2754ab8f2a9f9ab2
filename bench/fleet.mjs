// A fleet sharing one revocation stream, against a real redis-server: `pnpm bench:fleet` (builds
// first; about two minutes) or `node bench/fleet.mjs --smoke` (seconds, 2 instances, tiny counts:
// checks the bench works, never for timing).
//
// Each instance is its own process (packages/redis/test/fixtures/instance.mjs: @tokenward/core's
// verifier with a RevocationList that syncRevocations keeps in step), forked with --expose-gc.
// After each batch it applies, an instance sends { applied, at: Date.now() }; the parent takes
// Date.now() just before each XADD. Both clocks are this machine's, so a delay is the time from
// publication to the revocation being in that instance's list: from then on it refuses the token.
// The stream is read in order and every entry is a revocation, so entry k of the stream (ordered
// by the ids XADD returns) is applied once an instance's running count of applied entries reaches k.
//
// 1. Delay: revocations published one at a time, a few ms apart; the delay on every instance.
// 2. Ingest: 10,000 revocations a second for a few seconds, from several connections; whether
//    every instance applies every entry, and how far behind the last publication each finishes.
// 3. Memory: the stream filled to 1,000,000 revocations; each instance's RSS and heap after a gc,
//    and its list's size, which the list's max per kind bounds; Redis's own memory for the stream.
//
// Writes RESULTS.fleet.md (RESULTS.fleet.smoke.md for --smoke) next to this file.
import { fork, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redisServerAvailable, startRedisServer } from '../scripts/redis-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const smoke = process.argv.includes('--smoke');

const INSTANCES = smoke ? 2 : 8;
const DELAY_REVOCATIONS = smoke ? 50 : 1000;
// Apart enough that each revocation is read on its own, as revocations arrive in a live fleet.
const DELAY_SPACING_MS = 5;
const INGEST_RATE = smoke ? 2000 : 10_000;
const INGEST_SECONDS = smoke ? 1 : 5;
const PUBLISHERS = 4;
const MEMORY_TOTAL = smoke ? 20_000 : 1_000_000;
// The list's max per kind: core's default in the full run; small in the smoke run, so that the
// smoke run still shows the bound.
const LIST_MAX = smoke ? 1000 : 100_000;
const KINDS_USED = 2; // subject and jti revocations
const STREAM = 'bench:fleet:revocations';
const P99_TARGET_MS = 100;
const log = (...parts) => console.log(...parts);

for (const pkg of ['core', 'redis']) {
  if (!existsSync(join(root, 'packages', pkg, 'dist', 'esm', 'index.js'))) throw new Error(`packages/${pkg} is not built: run \`pnpm bench:fleet\`, which builds first`);
}
if (!redisServerAvailable()) throw new Error('redis-server is not installed: apt-get install -y redis-server (.ci/run does)');
const { createClient } = await import('redis');
const { revocationPublisher } = await import('@tokenward/redis');

// ---- processes, and their cleanup on every way out ----

const children = new Set();
let redis;
const clients = [];

/** Synchronous, for `exit`: SIGKILL to every instance and to redis-server (kill() sends it at once). */
function killEverything() {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  void redis?.kill();
}
process.on('exit', killEverything);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    killEverything();
    await redis?.close();
    process.exit(130);
  });
}

// ---- instances ----

/**
 * One forked instance and what it has told: `batches` holds [running count applied, at] per batch,
 * in order, so that the time entry k was applied is the first batch whose count reaches k.
 */
class Instance {
  constructor(index, redisUrl) {
    this.index = index;
    this.applied = 0;
    this.batches = [];
    this.waiters = [];
    this.child = fork(join(root, 'packages', 'redis', 'test', 'fixtures', 'instance.mjs'), {
      execArgv: ['--expose-gc'],
      // No token is verified here, so the key set is never fetched: any loopback URI will do.
      env: { ...process.env, REDIS_URL: redisUrl, ISSUER: 'https://issuer.example', AUDIENCE: 'https://api.example.com', JWKS_URI: 'http://127.0.0.1:9/jwks.json', STREAM, MAX: String(LIST_MAX) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.add(this.child);
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(signal ?? code)));
    this.exitedWith = undefined;
    this.exited.then((code) => (this.exitedWith = code));
    // A send to an instance that has died: reported by the waits, not thrown from here.
    this.child.on('error', () => undefined);
    this.child.on('message', (message) => this.hear(message));
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      const timer = setTimeout(() => reject(new Error(`instance ${index} did not report ready within 20 s`)), 20_000);
      this.exited.then((code) => reject(new Error(`instance ${index} exited with ${String(code)} before it was ready`)));
      this.clearReadyTimer = () => clearTimeout(timer);
    });
    this.exited.then((code) => {
      for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(`instance ${index} exited with ${String(code)} after applying ${this.applied} of ${waiter.count} entries`));
    });
  }

  hear(message) {
    if (message.ready === true) {
      this.clearReadyTimer();
      this.resolveReady();
    }
    if (typeof message.applied === 'number') {
      this.applied += message.applied;
      if (message.applied > 0) this.batches.push([this.applied, message.at]);
      this.waiters = this.waiters.filter((waiter) => (this.applied >= waiter.count ? (waiter.resolve(), false) : true));
    }
    if (message.memory !== undefined) this.onMemory?.(message.memory);
  }

  /** Resolves once `count` entries are applied; rejects after `ms`. */
  appliedAll(count, ms) {
    if (this.applied >= count) return Promise.resolve();
    if (this.exitedWith !== undefined) return Promise.reject(new Error(`instance ${this.index} exited with ${String(this.exitedWith)} after applying ${this.applied} of ${count} entries`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`instance ${this.index} applied ${this.applied} of ${count} entries after ${ms} ms`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ count, resolve: done, reject: (error) => (clearTimeout(timer), reject(error)) });
    });
  }

  /** When entry `k` (1-based position in the stream) was applied. */
  appliedAt(k) {
    let low = 0;
    let high = this.batches.length - 1;
    if (high < 0 || this.batches[high][0] < k) return undefined;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.batches[mid][0] >= k) high = mid;
      else low = mid + 1;
    }
    return this.batches[low][1];
  }

  memory() {
    if (!this.child.connected) return Promise.reject(new Error(`instance ${this.index} is gone (exited with ${String(this.exitedWith)})`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`instance ${this.index} did not answer 'memory' within 10 s`)), 10_000);
      this.onMemory = (memory) => {
        clearTimeout(timer);
        this.onMemory = undefined;
        resolve(memory);
      };
      this.child.send('memory');
    });
  }

  async stop() {
    if (this.child.exitCode !== null || !this.child.connected) return;
    this.child.send('stop');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---- measures ----

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Stream ids ("ms-seq") in stream order. */
function byStreamId(a, b) {
  const [aMs, aSeq] = a.id.split('-').map(Number);
  const [bMs, bSeq] = b.id.split('-').map(Number);
  return aMs - bMs || aSeq - bSeq;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

function summary(values) {
  const sorted = Float64Array.from(values).sort();
  return { n: sorted.length, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] };
}

/**
 * Delays of `records` ({ id, at }) on every instance, the stream holding `before` entries ahead of
 * them; a revocation an instance never applied is counted in `missing`.
 */
function delays(instances, records, before) {
  const ordered = [...records].sort(byStreamId);
  const all = [];
  const perInstance = instances.map((instance) => {
    const mine = [];
    ordered.forEach((record, j) => {
      const at = instance.appliedAt(before + j + 1);
      if (at !== undefined) mine.push(at - record.at);
    });
    all.push(...mine);
    return { ...summary(mine), missing: ordered.length - mine.length };
  });
  return { overall: summary(all), perInstance, missing: perInstance.reduce((sum, one) => sum + one.missing, 0) };
}

async function redisMemory(client) {
  const info = String(await client.sendCommand(['INFO', 'memory']));
  const field = (name) => info.match(new RegExp(`^${name}:(.*)$`, 'm'))?.[1]?.trim();
  return { usedMemory: Number(field('used_memory')), usedMemoryRss: Number(field('used_memory_rss')), length: Number(await client.sendCommand(['XLEN', STREAM])) };
}

const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);
const ms = (value) => (value === undefined ? '-' : `${Math.round(value * 10) / 10}`);
const thousands = (value) => Math.round(value).toLocaleString('en-US');

function machine() {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m)?.[1]?.trim() ?? cpu;
  } catch {
    // Not Linux: os.cpus() says it.
  }
  const redisVersion = String(spawnSync('redis-server', ['--version']).stdout).match(/v=(\S+)/)?.[1] ?? 'unknown';
  return { cpu, cores: cpus().length, memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`, node: process.version, redis: redisVersion, date: new Date().toISOString() };
}

// ---- the run ----

const failures = [];
const results = { machine: machine(), instances: INSTANCES, listMax: LIST_MAX };
const instances = [];
const started = Date.now();

try {
  redis = await startRedisServer();
  const redisUrl = redis.url;
  const admin = createClient({ url: redisUrl });
  admin.on('error', () => undefined);
  await admin.connect();
  clients.push(admin);
  const publishers = [];
  for (let i = 0; i < PUBLISHERS; i++) {
    const client = createClient({ url: redisUrl });
    client.on('error', () => undefined);
    await client.connect();
    clients.push(client);
    publishers.push(revocationPublisher({ redis: client, stream: STREAM }));
  }
  const redisBefore = await redisMemory(admin);

  for (let i = 0; i < INSTANCES; i++) instances.push(new Instance(i, redisUrl));
  await Promise.all(instances.map((instance) => instance.ready));
  // The baseline after a first gc, before any revocation.
  results.memoryBaseline = await Promise.all(instances.map((instance) => instance.memory()));
  log(`${INSTANCES} instances ready on ${redisUrl} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  let published = 0;

  /** Waits until every instance has applied `count` entries; a laggard is a failure, reported. */
  const everyInstanceApplied = async (count, ms, phase) => {
    const outcomes = await Promise.allSettled(instances.map((instance) => instance.appliedAll(count, ms)));
    for (const outcome of outcomes) if (outcome.status === 'rejected') failures.push(`${phase}: ${outcome.reason.message}`);
    return outcomes.every((outcome) => outcome.status === 'fulfilled');
  };
  // A later phase would measure a fleet that is already behind: the run stops, with what it has.
  const stopIfFailed = (phase) => {
    if (failures.length > 0) throw new Error(`stopped after ${phase}: an instance did not apply every entry`);
  };

  // 1. Delay: one revocation at a time.
  {
    const records = [];
    for (let i = 0; i < DELAY_REVOCATIONS; i++) {
      const at = Date.now();
      const id = await publishers[0].revokeSubject(`delay-${i}`);
      records.push({ id, at });
      await sleep(DELAY_SPACING_MS);
    }
    await everyInstanceApplied(published + DELAY_REVOCATIONS, 10_000, 'delay');
    results.delay = delays(instances, records, published);
    published += DELAY_REVOCATIONS;
    const { p50, p99, max } = results.delay.overall;
    log(`delay: ${DELAY_REVOCATIONS} revocations × ${INSTANCES} instances: p50 ${ms(p50)} ms, p99 ${ms(p99)} ms, max ${ms(max)} ms`);
    stopIfFailed('delay');
  }

  // 2. Ingest: INGEST_RATE a second, issued on a schedule and spread over the publishers.
  {
    const total = INGEST_RATE * INGEST_SECONDS;
    const expiresAt = Math.floor(Date.now() / 1000) + 600;
    const records = new Array(total);
    const pending = [];
    const start = Date.now();
    let sent = 0;
    let lastIssued = start;
    while (sent < total) {
      const due = Math.min(total, Math.floor(((Date.now() - start) * INGEST_RATE) / 1000) + 1);
      for (; sent < due; sent++) {
        const i = sent;
        const at = Date.now();
        lastIssued = at;
        pending.push(publishers[i % PUBLISHERS].revoke({ jti: `ingest-${i}`, expiresAt }).then((id) => (records[i] = { id, at })));
      }
      await sleep(1);
    }
    await Promise.all(pending);
    const lastAcked = Date.now();
    const target = published + total;
    const caughtUp = await everyInstanceApplied(target, 30_000, 'ingest');
    results.ingest = {
      total,
      seconds: INGEST_SECONDS,
      targetRate: INGEST_RATE,
      issueRate: total / ((lastIssued - start) / 1000),
      ackedRate: total / ((lastAcked - start) / 1000),
      publisherBacklog: lastAcked - lastIssued,
      allApplied: caughtUp && instances.every((instance) => instance.applied >= target),
      lag: instances.map((instance) => {
        const at = instance.appliedAt(target);
        return at === undefined ? undefined : at - lastIssued;
      }),
      delay: delays(instances, records, published),
    };
    published = target;
    const lags = results.ingest.lag.filter((lag) => lag !== undefined);
    log(`ingest: ${thousands(total)} in ${INGEST_SECONDS} s at ${thousands(results.ingest.ackedRate)}/s acknowledged; every instance applied all: ${results.ingest.allApplied}; lag after the last publication ${ms(Math.min(...lags))} to ${ms(Math.max(...lags))} ms`);
    stopIfFailed('ingest');
  }

  // 3. Memory: fill the stream to MEMORY_TOTAL as fast as the publishers take it, half subjects
  // and half jtis, with a look halfway so that a plateau shows.
  {
    const expiresAt = Math.floor(Date.now() / 1000) + 600;
    const fill = async (upTo) => {
      const start = Date.now();
      const count = upTo - published;
      const inFlight = 4000;
      for (let offset = 0; offset < count; offset += inFlight) {
        const chunk = [];
        for (let i = offset; i < Math.min(count, offset + inFlight); i++) {
          const publisher = publishers[i % PUBLISHERS];
          const n = published + i;
          chunk.push(n % 2 === 0 ? publisher.revokeSubject(`memory-${n}`) : publisher.revoke({ jti: `memory-${n}`, expiresAt }));
        }
        await Promise.all(chunk);
      }
      const rate = count / ((Date.now() - start) / 1000);
      published = upTo;
      await everyInstanceApplied(published, 120_000, 'memory');
      stopIfFailed('memory');
      return { rate, seconds: (Date.now() - start) / 1000 };
    };
    const half = await fill(Math.floor(MEMORY_TOTAL / 2));
    results.memoryHalf = { published, ...half, instances: await Promise.all(instances.map((instance) => instance.memory())) };
    log(`memory: ${thousands(published)} published (${thousands(half.rate)}/s), all applied after ${half.seconds.toFixed(1)} s`);
    const rest = await fill(MEMORY_TOTAL);
    results.memoryFull = { published, ...rest, instances: await Promise.all(instances.map((instance) => instance.memory())) };
    log(`memory: ${thousands(published)} published (${thousands(rest.rate)}/s), all applied after ${rest.seconds.toFixed(1)} s`);
    results.redis = { before: redisBefore, after: await redisMemory(admin) };
    const bound = LIST_MAX * KINDS_USED;
    for (const [i, memory] of results.memoryFull.instances.entries()) if (memory.listSize > bound) failures.push(`memory: instance ${i} holds ${memory.listSize} entries, beyond ${bound} (max ${LIST_MAX} × ${KINDS_USED} kinds)`);
  }
} catch (error) {
  failures.push(`run: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  await Promise.allSettled(instances.map((instance) => instance.stop()));
  await Promise.allSettled(clients.map((client) => client.close()));
  await redis?.close();
}
results.seconds = (Date.now() - started) / 1000;

// ---- the report ----

const lines = [];
const out = (line = '') => lines.push(line);
const { machine: m } = results;
out(`# Fleet: revocations through a Redis Stream${smoke ? ' (smoke run: tiny counts, not for timing)' : ''}`);
out();
out(`${INSTANCES} instance processes (packages/redis/test/fixtures/instance.mjs) and one redis-server, all on this machine; written by \`${smoke ? 'node bench/fleet.mjs --smoke' : 'pnpm bench:fleet'}\` (bench/fleet.mjs). Run time ${results.seconds.toFixed(0)} s.`);
out();
out(`Machine: ${m.cpu}, ${m.cores} cores, ${m.memory}; Node ${m.node}; redis-server ${m.redis}; ${m.date}.`);
out();
if (failures.length > 0) {
  out('**Failures:**');
  out();
  for (const failure of failures) out(`- ${failure}`);
  out();
}
if (results.delay !== undefined) {
  const { overall, perInstance, missing } = results.delay;
  out(`## Delay: publication to application, ${thousands(DELAY_REVOCATIONS)} revocations one at a time (${DELAY_SPACING_MS} ms apart)`);
  out();
  out(`Over all ${thousands(overall.n)} (instance, revocation) pairs${missing > 0 ? ` (${missing} never applied)` : ''}: target p99 ≤ ${P99_TARGET_MS} ms — ${overall.p99 <= P99_TARGET_MS ? 'met' : '**missed**'}.`);
  out();
  out('| | p50 ms | p99 ms | max ms |');
  out('|---|---:|---:|---:|');
  out(`| all instances | ${ms(overall.p50)} | ${ms(overall.p99)} | ${ms(overall.max)} |`);
  for (const [i, one] of perInstance.entries()) out(`| instance ${i} | ${ms(one.p50)} | ${ms(one.p99)} | ${ms(one.max)} |`);
  out();
}
if (results.ingest !== undefined) {
  const ingest = results.ingest;
  out(`## Ingest: ${thousands(ingest.targetRate)} revocations a second for ${ingest.seconds} s (${PUBLISHERS} publisher connections)`);
  out();
  out(`| published | issued at | acknowledged at | every instance applied every entry |`);
  out('|---:|---:|---:|---|');
  out(`| ${thousands(ingest.total)} | ${thousands(ingest.issueRate)}/s | ${thousands(ingest.ackedRate)}/s | ${ingest.allApplied ? 'yes' : '**no**'} |`);
  out();
  out(`Redis acknowledged the last entry ${ms(ingest.publisherBacklog)} ms after it was issued. Lag: from the last publication (issued) to the instance having applied every entry. Delay: each entry's publication to its application on each instance, under this load.`);
  out();
  out('| | lag ms | delay p50 ms | delay p99 ms | delay max ms |');
  out('|---|---:|---:|---:|---:|');
  out(`| all instances | ${ms(Math.max(...ingest.lag.filter((lag) => lag !== undefined)))} (worst) | ${ms(ingest.delay.overall.p50)} | ${ms(ingest.delay.overall.p99)} | ${ms(ingest.delay.overall.max)} |`);
  for (const [i, one] of ingest.delay.perInstance.entries()) out(`| instance ${i} | ${ms(ingest.lag[i])} | ${ms(one.p50)} | ${ms(one.p99)} | ${ms(one.max)} |`);
  out();
}
if (results.memoryFull !== undefined) {
  const { memoryBaseline: base, memoryHalf: half, memoryFull: full, redis } = results;
  out(`## Memory after ${thousands(full.published)} revocations (half by subject, half by jti; list max ${thousands(LIST_MAX)} per kind)`);
  out();
  out(`Each instance after a gc (forked with --expose-gc). List size bound: ${thousands(LIST_MAX)} × ${KINDS_USED} kinds used = ${thousands(LIST_MAX * KINDS_USED)}. Filled at ${thousands(half.rate)}/s and ${thousands(full.rate)}/s (acknowledged).`);
  out();
  out(`| | RSS MB: start / ${thousands(half.published)} / ${thousands(full.published)} | heap used MB: start / ${thousands(half.published)} / ${thousands(full.published)} | list size at ${thousands(half.published)} / ${thousands(full.published)} |`);
  out('|---|---:|---:|---:|');
  for (let i = 0; i < full.instances.length; i++) {
    out(`| instance ${i} | ${mb(base[i].rss)} / ${mb(half.instances[i].rss)} / ${mb(full.instances[i].rss)} | ${mb(base[i].heapUsed)} / ${mb(half.instances[i].heapUsed)} / ${mb(full.instances[i].heapUsed)} | ${thousands(half.instances[i].listSize)} / ${thousands(full.instances[i].listSize)} |`);
  }
  out();
  out(`Redis: used_memory ${mb(redis.before.usedMemory)} MB before, ${mb(redis.after.usedMemory)} MB with ${thousands(redis.after.length)} stream entries (RSS ${mb(redis.after.usedMemoryRss)} MB). The publisher trims entries older than maxTokenLifetime + 300 s, so a stream this young keeps them all.`);
  out();
}
const report = lines.join('\n');
const file = join(here, smoke ? 'RESULTS.fleet.smoke.md' : 'RESULTS.fleet.md');
writeFileSync(file, report);
log();
log(report);
log(`wrote ${file}`);
process.exitCode = failures.length > 0 ? 1 : 0;
