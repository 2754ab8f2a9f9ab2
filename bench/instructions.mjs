// Instructions per request of one benchmark server, counted by valgrind's callgrind: a count, not
// a time, so it repeats on a noisy machine and tells small differences apart that wall-clock runs
// cannot. Not part of CI or of `pnpm bench`; run it by hand:
//
//   pnpm bench:instructions <framework> <variant> [repeated|distinct] [requests] [warm-up]
//
// (defaults: express tokenward repeated 1500 4000; ROUNDS=4). Variants and frameworks are
// server.mjs's; TOKENWARD_BASE with 'tokenward-base' counts another build; SERVER_NODE_ARGS adds
// node flags to the server, VALGRIND_ARGS callgrind options (e.g. --separate-callers=3); KEEP=1
// keeps callgrind's outputs, one set per round.
//
// It starts a JWKS server, then bench/server.mjs under callgrind (instrumentation on from the
// start, one output per thread), sends the warm-up, and then rounds of: zero the counters, send
// the requests (keep-alive, 8 in flight), dump. Each round prints the instructions per request of
// the main thread (the event loop, which bounds throughput) and of all threads together (the
// pool's verifies, the compiler and GC helpers). Under callgrind a request takes about 50 times as
// long as natively, so keep the counts small: the defaults take about four minutes.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, createServer, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnServer } from './spawn-server.mjs';

const [framework = 'express', variant = 'tokenward', scenario = 'repeated', n = '1500', warm = '4000'] = process.argv.slice(2);
const REQUESTS = Number(n);
const WARM = Number(warm);
const ROUNDS = Number(process.env.ROUNDS ?? 4);
const IN_FLIGHT = 8;
const audience = 'https://api.example.com';
const words = (text) => text?.split(' ').filter(Boolean) ?? [];
if (spawnSync('valgrind', ['--version']).error !== undefined) throw new Error('valgrind is not installed (Debian package valgrind)');

const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...key.publicKey.export({ format: 'jwk' }), kid: 'k-RS256', alg: 'RS256', use: 'sig' };
const dpop = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
const jwksServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })));
await new Promise((resolve) => jwksServer.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${jwksServer.address().port}`;
const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
let serial = 0;
function mint() {
  const iat = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'RS256', typ: 'at+jwt', kid: jwk.kid })}.${b64({ iss: issuer, aud: audience, sub: `user-${serial++}`, iat, exp: iat + 3600, scope: 'read:messages' })}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}
const fixed = mint();
const tokenFor = scenario === 'distinct' ? mint : () => fixed;

const out = mkdtempSync(join(tmpdir(), 'tokenward-callgrind-'));
const callgrind = ['valgrind', '--tool=callgrind', '--separate-threads=yes', `--callgrind-out-file=${out}/cg.%p`, ...words(process.env.VALGRIND_ARGS)];
const { child, url } = await spawnServer(framework, variant, { issuer, jwksUri: `${issuer}/jwks.json`, audience, tokenJwk: jwk, dpopJwk: dpop, nodeArgs: words(process.env.SERVER_NODE_ARGS), wrapper: callgrind, stderr: 'ignore' });
// The server dies with this script, also when a request fails.
process.on('exit', () => child.kill('SIGKILL'));
const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
const request = (token) =>
  new Promise((resolve, reject) => {
    get(`${url}/messages`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume().on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    }).on('error', reject);
  });
async function send(count) {
  let next = 0;
  const worker = async () => {
    while (next++ < count) await request(tokenFor());
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}
/** The instructions each thread executed since the last zeroing, from the files of callgrind_control's newest dump. */
let dumps = 0;
function dump() {
  spawnSync('callgrind_control', ['-d', String(child.pid)]);
  dumps++;
  const threads = [];
  for (const file of readdirSync(out)) {
    // cg.<pid>.<dump>-<thread>: the outputs of earlier dumps stay when KEEP is set.
    const name = /\.(\d+)-(\d+)$/.exec(file);
    if (name === null || Number(name[1]) !== dumps) continue;
    const totals = /^(?:summary|totals): (\d+)/m.exec(readFileSync(join(out, file), 'utf8'));
    if (totals) threads.push({ thread: Number(name[2]), instructions: Number(totals[1]) });
    if (process.env.KEEP === undefined) rmSync(join(out, file));
  }
  return threads;
}

// Under callgrind the server's first JWKS fetch may outlast its timeout: wait for a first 200.
for (let tries = 0; ; tries++) {
  try {
    await request(fixed);
    break;
  } catch (error) {
    if (tries === 30) throw error;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}
await send(WARM);
console.log(`${framework} ${variant} ${scenario}: ${REQUESTS} requests per round after ${WARM} to warm up; instructions per request`);
for (let round = 1; round <= ROUNDS; round++) {
  spawnSync('callgrind_control', ['-z', String(child.pid)]);
  await send(REQUESTS);
  const threads = dump();
  const main = threads.find((t) => t.thread === 1)?.instructions ?? NaN;
  const all = threads.reduce((sum, t) => sum + t.instructions, 0);
  console.log(`round ${round}: main thread ${Math.round(main / REQUESTS).toLocaleString('en-US')}, all threads ${Math.round(all / REQUESTS).toLocaleString('en-US')}`);
}
child.kill('SIGKILL');
jwksServer.close();
agent.destroy();
if (process.env.KEEP === undefined) rmSync(out, { recursive: true, force: true });
else console.log(`callgrind outputs kept in ${out}`);
