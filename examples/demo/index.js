#!/usr/bin/env node
/**
 * The README's first command (`pnpm demo`): starts the example authorization server and the
 * example APIs (Express, Fastify, NestJS) in this process, on free ports of 127.0.0.1, and walks
 * the whole access-token / refresh-token system step by step, checking every answer:
 *
 *   obtain tokens → call each API → missing scope → access token expires → refresh →
 *   replayed refresh token (family revoked) → logout everywhere → key rotation → emergency key removal →
 *   logout at the provider (OpenID Connect Back-Channel Logout: the provider tells each API at once) →
 *   a fleet (two more instances per framework, revocations shared over Redis)
 *
 * Time is compressed so that all of it takes seconds: access tokens live 5 s, the APIs poll the
 * revocation feed every second and keep the JWKS 2 s. Exits 0 only when every check passed.
 * Nothing but loopback is contacted. TOKENWARD_DEMO_REQUIRE_ALL_ADAPTERS=1 makes an adapter
 * package that is not built yet (or a missing redis-server, for the fleet act) a failure instead
 * of a skipped part.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { redisRevocations, startAuthorizationServer } from 'tokenward-example-authorization-server';
import { redisServerAvailable, startRedisServer } from '../../scripts/redis-server.mjs';

const ACCESS_TOKEN_TTL = 5; // seconds
const CLOCK_TOLERANCE = 1; // seconds the APIs allow for clock skew (tokenward's default is 5)
const POLL_INTERVAL = 1000; // ms between two reads of the revocation feed
const JWKS = { cacheMaxAge: 2000, cooldown: 1000 }; // ms; tokenward's defaults are 10 min and 30 s
const KEY_PUBLISH_LEAD = 2; // seconds a new key is published before it signs: the APIs' JWKS cache age
const REVOCATION_DEADLINE = POLL_INTERVAL + 1000; // a revocation must be seen within one poll (+ slack)
const REDIRECT_URI = 'http://127.0.0.1/callback';
const FLEET_DEADLINE = 1000; // ms: every fleet instance must refuse a revocation within this of the logout

const ADAPTERS = [
  { name: 'express', adapter: '@tokenward/express', probe: 'tokenward', example: 'tokenward-example-express-api' },
  { name: 'fastify', adapter: '@tokenward/fastify', probe: 'tokenward', example: 'tokenward-example-fastify-api' },
  { name: 'nest', adapter: '@tokenward/nest', probe: 'TokenwardModule', example: 'tokenward-example-nest-api' },
];

const color = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
const paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const green = (text) => paint(32, text);
const red = (text) => paint(31, text);
const yellow = (text) => paint(33, text);
const bold = (text) => paint(1, text);
const dim = (text) => paint(2, text);

let passed = 0;
let failed = 0;
let stepNumber = 0;

function step(title) {
  stepNumber += 1;
  console.log(`\n${bold(`${stepNumber}. ${title}`)}`);
}

function note(text) {
  console.log(dim(`   … ${text}`));
}

/** Records and prints one check; returns whether it held. */
function check(ok, text, whyNot = '') {
  if (ok) passed += 1;
  else failed += 1;
  console.log(ok ? `   ${green('✓')} ${text}` : `   ${red('✗')} ${text}${whyNot === '' ? '' : red(` (${whyNot})`)}`);
  return ok;
}

/** Throws to end the walk when a later step cannot make sense without this one. */
function must(ok, text, whyNot) {
  if (!check(ok, text, whyNot)) throw new StepFailed();
}

class StepFailed extends Error {}

// ---- HTTP ----

async function call(url, { method = 'GET', token, form, headers = {} } = {}) {
  const response = await fetch(url, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
      ...headers,
    },
    body: form === undefined ? undefined : new URLSearchParams(form).toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(5000),
  });
  const text = await response.text();
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  return { status: response.status, body, headers: response.headers };
}

/** "401 invalid_token: Token expired" */
function outcome(answer) {
  const error = typeof answer.body === 'object' && answer.body !== null && typeof answer.body.error === 'string' ? answer.body : undefined;
  return error === undefined ? String(answer.status) : `${answer.status} ${error.error}: ${error.error_description}`;
}

const basic = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
const kidOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString()).kid;
const short = (kid) => kid.slice(0, 8);
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** Calls `attempt` until `done(answer)` or the deadline; returns the last answer and the time it took. */
async function until(attempt, done, deadlineMs) {
  const started = Date.now();
  for (;;) {
    const answer = await attempt();
    if (done(answer) || Date.now() - started > deadlineMs) return { answer, elapsed: Date.now() - started };
    await sleep(50);
  }
}

// ---- the walk ----

async function main() {
  const startedAt = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'tokenward-demo-'));
  const adminToken = randomBytes(16).toString('hex');
  /** @type {Array<{ name: string, url: string, clientId: string, backchannelLogoutUri: string, close: () => Promise<void>, keyEvents: any[], logoutEvents: any[] }>} */
  const apis = [];
  /** Instances of the fleet act and their Redis clients: closed at the end. */
  const fleet = [];
  let as;
  let redis;
  let streamed;

  console.log(bold('tokenward demo: an authorization server and an API per framework, end to end (127.0.0.1 only)'));
  try {
    if (redisServerAvailable()) {
      redis = await startRedisServer();
      // The authorization server publishes every revocation to the Redis stream as well as its feed.
      streamed = await redisRevocations(redis.url, { maxTokenLifetime: ACCESS_TOKEN_TTL });
    } else if (process.env.TOKENWARD_DEMO_REQUIRE_ALL_ADAPTERS === '1') {
      must(false, 'redis-server for the fleet act', 'not installed (apt-get install -y redis-server)');
    }
    as = await startAuthorizationServer({ dataFile: join(dir, 'authorization-server.json'), accessTokenTtl: ACCESS_TOKEN_TTL, keyPublishLead: KEY_PUBLISH_LEAD, adminToken, onRevocation: streamed?.onRevocation });
    const metadata = (await call(`${as.url}/.well-known/openid-configuration`)).body;
    console.log(`\n   authorization server  ${as.issuer}   access tokens live ${ACCESS_TOKEN_TTL} s`);
    console.log(redis === undefined ? yellow('   redis-server          not installed: the fleet act is skipped') : `   redis-server          ${redis.url}   the authorization server streams every revocation there too`);
    for (const adapter of ADAPTERS) {
      const unavailable = await adapterUnavailable(adapter);
      if (unavailable !== undefined) {
        if (process.env.TOKENWARD_DEMO_REQUIRE_ALL_ADAPTERS === '1') must(false, `${adapter.name} API`, unavailable);
        console.log(yellow(`   ${`${adapter.name} API`.padEnd(20)}  skipped: ${unavailable}`));
        continue;
      }
      const { start } = await import(adapter.example);
      const keyEvents = [];
      const logoutEvents = [];
      // The API's client id at the provider, for the logout tokens the provider sends it.
      const clientId = `example-api-${adapter.name}`;
      const api = await start({
        // What a real deployment configures: the issuer and the audience.
        issuer: metadata.issuer,
        audience: as.audience,
        revocationFeedUrl: metadata.revocation_feed_endpoint,
        pollInterval: POLL_INTERVAL,
        tokenward: { clockTolerance: CLOCK_TOLERANCE, jwks: JWKS, onEvent: (event) => event.type === 'keys_refreshed' && keyEvents.push({ ...event, at: Date.now() }) },
        backchannelLogout: { clientId, onEvent: (event) => logoutEvents.push({ ...event, at: Date.now() }) },
      });
      apis.push({ name: adapter.name, ...api, start, clientId, keyEvents, logoutEvents });
      console.log(`   ${`${adapter.name} API`.padEnd(20)}  ${api.url}   (@tokenward/${adapter.name})`);
    }
    console.log(dim(`   APIs poll ${metadata.revocation_feed_endpoint} every ${seconds(POLL_INTERVAL)} and keep the JWKS ${seconds(JWKS.cacheMaxAge)}`));
    must(apis.length > 0, 'at least one API is running');

    const ctx = { as, apis, adminToken, metadata, redis, fleet };
    for (const walk of [obtainTokens, callApis, missingScope, expiry, refresh, replay, logoutEverywhere, keyRotation, emergencyRemoval, logoutAtProvider, fleetAct]) {
      await walk(ctx);
    }
  } catch (error) {
    if (!(error instanceof StepFailed)) check(false, 'the walk went on without an unexpected error', error?.stack ?? String(error));
    console.log(red('   the walk stops here: later steps depend on this one'));
  } finally {
    step('Shut down');
    for (const api of apis) {
      await api.close();
      check(true, `${api.name} API closed (server and revocation poller)`);
    }
    for (const instance of fleet) await instance.close();
    if (fleet.length > 0) check(true, `${fleet.length} fleet instances closed (servers, stream readers, Redis clients)`);
    if (as !== undefined) {
      await as.close();
      check(true, 'authorization server closed');
    }
    await streamed?.close();
    if (redis !== undefined) {
      await redis.close();
      check(true, 'redis-server stopped');
    }
    rmSync(dir, { recursive: true, force: true });
  }

  const total = `${passed + failed} checks in ${seconds(Date.now() - startedAt)}`;
  console.log(failed === 0 ? `\n${green(bold(`All ${total} passed.`))}` : `\n${red(bold(`${failed} of ${total} failed.`))}`);
  process.exitCode = failed === 0 ? 0 : 1;
  // Everything is closed: the process should now exit by itself. If anything still holds it, say so.
  setTimeout(() => {
    console.error(red('✗ something kept the process alive after shutdown'));
    process.exit(1);
  }, 5000).unref();
}

/** Why an adapter package cannot be used (not built, or not written yet), or undefined. */
async function adapterUnavailable({ adapter, probe }) {
  try {
    const module = await import(adapter);
    return probe in module ? undefined : `${adapter} does not export ${probe} yet`;
  } catch (error) {
    if (error?.code === 'ERR_MODULE_NOT_FOUND') return `${adapter} is not built (run pnpm build)`;
    throw error;
  }
}

async function tokenRequest(ctx, form, client) {
  const headers = client?.secret === undefined ? {} : { authorization: basic(client.id, client.secret) };
  return call(ctx.metadata.token_endpoint, { method: 'POST', form: client?.secret === undefined && client !== undefined ? { client_id: client.id, ...form } : form, headers });
}

const CLI = { id: 'demo-cli' };
const WEB = { id: 'demo-web', secret: 'demo-web-secret' };
const JOB = { id: 'reporting-job', secret: 'reporting-job-secret' };

async function obtainTokens(ctx) {
  step('Obtain tokens from the authorization server');
  const cli = await tokenRequest(ctx, { grant_type: 'password', username: 'alice', password: 'alice-password', scope: 'read:messages offline_access' }, CLI);
  must(
    cli.status === 200 && typeof cli.body.refresh_token === 'string',
    `password grant, public client demo-cli, user alice, scope "read:messages offline_access" → ${cli.status}: access token (kid ${short(kidOf(cli.body.access_token ?? 'e30.e30.'))}..., ${cli.body.expires_in} s) + refresh token`,
    outcome(cli),
  );
  ctx.cli = cli.body;

  const web = await signIn(ctx, 'read:messages admin offline_access');
  must(web.status === 200 && typeof web.body.refresh_token === 'string', `code + code_verifier + client secret → ${web.status}: scope "${web.body.scope}" + refresh token`, outcome(web));
  ctx.web = web.body;

  const job = await tokenRequest(ctx, { grant_type: 'client_credentials' }, JOB);
  must(job.status === 200 && job.body.refresh_token === undefined, `client_credentials, machine client reporting-job → ${job.status}: scope "${job.body.scope}", no refresh token`, outcome(job));
  ctx.job = job.body;
}

async function callApis(ctx) {
  step('Call each API');
  for (const api of ctx.apis) {
    const health = await call(`${api.url}/health`);
    check(health.status === 200, `${api.name.padEnd(7)} GET /health without a token → ${outcome(health)} (public)`);
    const anonymous = await call(`${api.url}/messages`);
    check(
      anonymous.status === 401 && /^Bearer realm="api", DPoP realm="api", algs="[^"]+"$/.test(anonymous.headers.get('www-authenticate') ?? ''),
      `${api.name.padEnd(7)} GET /messages without a token → ${anonymous.status}, WWW-Authenticate: ${anonymous.headers.get('www-authenticate')}`,
    );
    const alice = await call(`${api.url}/messages`, { token: ctx.cli.access_token });
    check(alice.status === 200 && alice.body.user === 'user-alice', `${api.name.padEnd(7)} GET /messages with alice's token (demo-cli) → ${outcome(alice)}, user ${alice.body.user}`);
    const job = await call(`${api.url}/messages`, { token: ctx.job.access_token });
    check(job.status === 200 && job.body.user === 'reporting-job', `${api.name.padEnd(7)} GET /messages with reporting-job's token → ${outcome(job)}, user ${job.body.user}`);
  }
}

async function missingScope(ctx) {
  step('Missing scope');
  for (const api of ctx.apis) {
    const denied = await call(`${api.url}/admin`, { token: ctx.cli.access_token });
    check(
      denied.status === 403 && denied.body.error === 'insufficient_scope' && /scope="admin"/.test(denied.headers.get('www-authenticate') ?? ''),
      `${api.name.padEnd(7)} GET /admin with the read:messages token → ${outcome(denied)}`,
    );
    const allowed = await call(`${api.url}/admin`, { token: ctx.web.access_token });
    check(allowed.status === 200, `${api.name.padEnd(7)} GET /admin with the token that has admin (demo-web) → ${outcome(allowed)}`);
  }
}

async function expiry(ctx) {
  step('The access token expires');
  const { exp } = claims(ctx.cli.access_token);
  const wait = (exp + CLOCK_TOLERANCE) * 1000 - Date.now() + 200;
  note(`waiting ${seconds(Math.max(wait, 0))} for alice's demo-cli access token to pass exp + ${CLOCK_TOLERANCE} s clock tolerance`);
  if (wait > 0) await sleep(wait);
  for (const api of ctx.apis) {
    const expired = await call(`${api.url}/messages`, { token: ctx.cli.access_token });
    check(
      expired.status === 401 && expired.body.error_description === 'Token expired' && /error="invalid_token"/.test(expired.headers.get('www-authenticate') ?? ''),
      `${api.name.padEnd(7)} GET /messages with the expired token → ${outcome(expired)}`,
    );
  }
}

async function refresh(ctx) {
  step('Refresh');
  const answer = await tokenRequest(ctx, { grant_type: 'refresh_token', refresh_token: ctx.cli.refresh_token }, CLI);
  must(
    answer.status === 200 && typeof answer.body.refresh_token === 'string' && answer.body.refresh_token !== ctx.cli.refresh_token,
    `refresh_token grant (demo-cli) → ${answer.status}: a new access token and a new refresh token (the old one is now spent)`,
    outcome(answer),
  );
  ctx.spentRefreshToken = ctx.cli.refresh_token;
  ctx.cli = answer.body;
  for (const api of ctx.apis) {
    const ok = await call(`${api.url}/messages`, { token: ctx.cli.access_token });
    check(ok.status === 200, `${api.name.padEnd(7)} GET /messages with the new access token → ${outcome(ok)}`);
  }
}

async function replay(ctx) {
  step('A used refresh token is replayed (the leaked-token case)');
  const replayed = await tokenRequest(ctx, { grant_type: 'refresh_token', refresh_token: ctx.spentRefreshToken }, CLI);
  check(replayed.status === 400 && replayed.body.error === 'invalid_grant', `the refresh token spent in step ${stepNumber - 1} is presented again → ${outcome(replayed)}`);
  const newest = await tokenRequest(ctx, { grant_type: 'refresh_token', refresh_token: ctx.cli.refresh_token }, CLI);
  check(newest.status === 400 && newest.body.error === 'invalid_grant', `the newest refresh token of that family → ${outcome(newest)}: the whole family is revoked`);
  await refusedWithin(ctx, ctx.cli.access_token, "the family's access token, still unexpired,");
}

async function logoutEverywhere(ctx) {
  step('Logout everywhere');
  ctx.job = { access_token: await machineToken(ctx) }; // the one from step 1 has expired by now
  const fresh = await tokenRequest(ctx, { grant_type: 'refresh_token', refresh_token: ctx.web.refresh_token }, WEB);
  must(fresh.status === 200, `demo-web refreshes alice's other grant → ${outcome(fresh)}: a fresh access token (${ACCESS_TOKEN_TTL} s)`, outcome(fresh));
  ctx.web = fresh.body;
  for (const api of ctx.apis) {
    const ok = await call(`${api.url}/messages`, { token: ctx.web.access_token });
    check(ok.status === 200, `${api.name.padEnd(7)} GET /messages with it → ${outcome(ok)}`);
  }
  const logout = await call(`${ctx.as.url}/logout-everywhere`, { method: 'POST', token: ctx.web.access_token });
  ctx.loggedOutEverywhereAt = Date.now();
  check(logout.status === 200, `alice: POST /logout-everywhere → ${outcome(logout)}, ${logout.body.grants_revoked} grant(s) revoked, "every token of user-alice issued until now" published on the feed`);
  const refused = await tokenRequest(ctx, { grant_type: 'refresh_token', refresh_token: ctx.web.refresh_token }, WEB);
  check(refused.status === 400 && refused.body.error === 'invalid_grant', `demo-web's refresh token → ${outcome(refused)}`);
  await refusedWithin(ctx, ctx.web.access_token, "alice's unexpired access token");
  for (const api of ctx.apis) {
    const job = await call(`${api.url}/messages`, { token: ctx.job.access_token });
    check(job.status === 200, `${api.name.padEnd(7)} reporting-job's token still works → ${outcome(job)} (only alice was logged out)`);
  }
}

/** Every API must refuse `token` as revoked within one poll of the revocation feed. */
async function refusedWithin(ctx, token, what) {
  const results = await Promise.all(
    ctx.apis.map((api) => until(() => call(`${api.url}/messages`, { token }), (answer) => answer.status === 401, REVOCATION_DEADLINE).then((result) => ({ api, ...result }))),
  );
  for (const { api, answer, elapsed } of results) {
    check(
      answer.status === 401 && answer.body.error_description === 'Token revoked' && elapsed <= REVOCATION_DEADLINE,
      `${api.name.padEnd(7)} refuses ${what} after ${seconds(elapsed)} (feed polled every ${seconds(POLL_INTERVAL)}) → ${outcome(answer)}`,
    );
  }
}

/**
 * Authorization code + PKCE: what a browser does at /authorize (here the login form is posted
 * directly), then the code exchanged by demo-web; returns the token response.
 */
async function signIn(ctx, scope) {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const login = await call(ctx.metadata.authorization_endpoint, {
    method: 'POST',
    form: { response_type: 'code', client_id: WEB.id, redirect_uri: REDIRECT_URI, scope, state: 'demo', code_challenge: challenge, code_challenge_method: 'S256', username: 'alice', password: 'alice-password' },
  });
  const code = login.headers.get('location') === null ? null : new URL(login.headers.get('location')).searchParams.get('code');
  must(login.status === 302 && code !== null, `authorization request with PKCE (S256), confidential client demo-web, alice signs in → ${login.status} to the redirect URI with a code`, outcome(login));
  return tokenRequest(ctx, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: verifier }, WEB);
}

async function machineToken(ctx) {
  const answer = await tokenRequest(ctx, { grant_type: 'client_credentials' }, JOB);
  if (answer.status !== 200) throw new Error(`client_credentials failed: ${outcome(answer)}`);
  return answer.body.access_token;
}

async function adminCall(ctx, method, path) {
  return call(`${ctx.as.url}${path}`, { method, headers: { authorization: `Bearer ${ctx.adminToken}` } });
}

function describeKeys(keys) {
  return keys.map((key) => `${short(key.kid)} ${key.status}`).join(', ');
}

async function keyRotation(ctx) {
  step('Key rotation: publish, then sign, the old key stays for its tokens');
  const before = await machineToken(ctx);
  const oldKid = kidOf(before);
  const published = await adminCall(ctx, 'POST', '/admin/keys');
  must(published.status === 200, `publish a next key → ${outcome(published)}; JWKS: ${describeKeys(published.body.keys ?? [])}`, outcome(published));
  const newKid = published.body.kid;
  const publishedAt = Date.now();
  const early = await adminCall(ctx, 'POST', '/admin/keys/activate');
  check(early.status === 409, `activating it at once is refused → ${outcome(early)}`);

  // An API refetches the set in the background when a request needs a key and its copy is older
  // than 80 % of the cache age (a token it has verified before is a cache hit, which needs no key).
  const fetched = await Promise.all(
    ctx.apis.map(async (api) => {
      const { answer } = await until(
        async () => {
          await call(`${api.url}/messages`, { token: await machineToken(ctx) });
          return api.keyEvents.find((event) => event.at >= publishedAt && event.kids.includes(newKid));
        },
        (event) => event !== undefined,
        JWKS.cacheMaxAge + JWKS.cooldown + 2000,
      );
      return { api, event: answer };
    }),
  );
  for (const { api, event } of fetched) {
    const when = event === undefined ? '' : `, ${seconds(event.at - publishedAt)} after it was published,`;
    check(event !== undefined, `${api.name.padEnd(7)} has fetched ${short(newKid)}${when} before anything is signed with it`);
  }
  const lead = KEY_PUBLISH_LEAD * 1000 - (Date.now() - publishedAt);
  if (lead > 0) {
    note(`waiting out the rest of the ${KEY_PUBLISH_LEAD} s publish lead (${seconds(lead)})`);
    await sleep(lead + 50);
  }
  const activated = await adminCall(ctx, 'POST', '/admin/keys/activate');
  must(activated.status === 200, `activate ${short(newKid)} → ${outcome(activated)}; JWKS: ${describeKeys(activated.body.keys ?? [])}`, outcome(activated));
  const after = await machineToken(ctx);
  must(kidOf(after) === newKid, `new tokens are signed with ${short(newKid)}`, `signed with ${kidOf(after)}`);
  for (const api of ctx.apis) {
    const fresh = await call(`${api.url}/messages`, { token: after });
    const old = await call(`${api.url}/messages`, { token: before });
    check(fresh.status === 200 && old.status === 200, `${api.name.padEnd(7)} token under ${short(newKid)} → ${outcome(fresh)}; token under the retired ${short(oldKid)} → ${outcome(old)}`);
  }
  ctx.underRemovedKey = after;
}

async function emergencyRemoval(ctx) {
  step('Emergency: a signing key is removed at once');
  const kid = kidOf(ctx.underRemovedKey);
  const removedAt = Date.now();
  const removed = await adminCall(ctx, 'DELETE', `/admin/keys/${kid}`);
  must(removed.status === 200, `DELETE /admin/keys/${short(kid)}... → ${outcome(removed)}; a replacement signs at once; JWKS: ${describeKeys(removed.body.keys ?? [])}`, outcome(removed));
  const replacement = await machineToken(ctx);
  check(kidOf(replacement) === removed.body.active, `new tokens are signed with ${short(kidOf(replacement))}`);
  for (const api of ctx.apis) {
    // The token under the new kid makes the API refetch the JWKS (at most once per cooldown); the
    // refetched set no longer has the removed kid, which stops verifying at once, cached tokens included.
    const { answer: fresh, elapsed } = await until(() => call(`${api.url}/messages`, { token: replacement }), (answer) => answer.status === 200, JWKS.cooldown + 2000);
    const { answer: gone } = await until(() => call(`${api.url}/messages`, { token: ctx.underRemovedKey }), (answer) => answer.status === 401, JWKS.cacheMaxAge + 2000);
    const stillUnexpired = claims(ctx.underRemovedKey).exp * 1000 > Date.now();
    check(fresh.status === 200, `${api.name.padEnd(7)} token under the replacement key → ${outcome(fresh)} after ${seconds(elapsed)} (an unknown kid refetches the JWKS at most once per ${seconds(JWKS.cooldown)} cooldown)`);
    check(
      gone.status === 401 && gone.body.error_description === 'No key found for the token' && stillUnexpired,
      `${api.name.padEnd(7)} the unexpired token under ${short(kid)} → ${outcome(gone)}, ${seconds(Date.now() - removedAt)} after the removal`,
      stillUnexpired ? '' : 'the token expired first, which proves nothing',
    );
  }
}

await main();

async function logoutAtProvider(ctx) {
  step('Logout at the provider reaches the API (OpenID Connect Back-Channel Logout)');
  for (const api of ctx.apis) {
    // What an administrator does in the provider's console: register the API's logout receiver.
    ctx.as.registerClient({ id: api.clientId, grantTypes: [], scopes: [], backchannelLogoutUri: api.backchannelLogoutUri });
    note(`registered at the provider: client ${api.clientId}, backchannel_logout_uri ${api.backchannelLogoutUri}`);
  }
  // Logout everywhere refused every token of alice issued up to its second (iat has one-second resolution).
  const nextSecond = (Math.floor((ctx.loggedOutEverywhereAt ?? 0) / 1000) + 1) * 1000 - Date.now();
  if (nextSecond > 0) await sleep(nextSecond + 50);

  const web = await signIn(ctx, 'read:messages offline_access');
  must(web.status === 200, `session 1: code exchanged → ${web.status}, an access token with sid ${claims(web.body.access_token ?? 'e30.e30.').sid}`, outcome(web));
  const cli = await tokenRequest(ctx, { grant_type: 'password', username: 'alice', password: 'alice-password', scope: 'read:messages' }, CLI);
  must(cli.status === 200, `session 2: alice signs in again on demo-cli (password grant) → ${cli.status}, sid ${claims(cli.body.access_token ?? 'e30.e30.').sid}`, outcome(cli));
  const sid = claims(web.body.access_token).sid;
  for (const api of ctx.apis) {
    const one = await call(`${api.url}/messages`, { token: web.body.access_token });
    const two = await call(`${api.url}/messages`, { token: cli.body.access_token });
    check(one.status === 200 && two.status === 200, `${api.name.padEnd(7)} session 1's token → ${outcome(one)}; session 2's → ${outcome(two)}`);
  }

  const startedAt = Date.now();
  const logout = await call(`${ctx.as.url}/logout`, { method: 'POST', token: web.body.access_token });
  const answeredAt = Date.now();
  const deliveries = Array.isArray(logout.body?.backchannel_logout) ? logout.body.backchannel_logout : [];
  const delivered = ctx.apis.every((api) => deliveries.some((d) => d.client_id === api.clientId && d.status === 200));
  check(
    logout.status === 200 && delivered,
    `alice logs out of session 1: POST /logout → ${outcome(logout)} after ${Math.round(answeredAt - startedAt)} ms; logout tokens delivered: ${deliveries.map((d) => `${d.client_id} ${d.status ?? d.error}`).join(', ')}`,
  );
  // The APIs poll the feed every second, and the provider publishes the logout there too; the
  // back-channel logout is what makes the refusal come with the provider's answer.
  for (const api of ctx.apis) {
    const received = api.logoutEvents.find((event) => event.type === 'logout_received' && event.session === sid && !event.repeated);
    const refused = await call(`${api.url}/messages`, { token: web.body.access_token });
    const refusedAt = Date.now();
    check(
      received !== undefined && received.at <= answeredAt && refused.status === 401 && refused.body.error_description === 'Token revoked',
      `${api.name.padEnd(7)} got the logout token ${received === undefined ? 'never' : `${Math.round(received.at - startedAt)} ms`} after the logout began; session 1's token → ${outcome(refused)}, ${Math.round(refusedAt - startedAt)} ms after (no feed poll waited for)`,
    );
    const other = await call(`${api.url}/messages`, { token: cli.body.access_token });
    check(other.status === 200, `${api.name.padEnd(7)} session 2's token still works → ${outcome(other)} (a logout ends its session, not alice's others)`);
  }
  const spent = await tokenRequest(ctx, { grant_type: 'refresh_token', refresh_token: web.body.refresh_token }, WEB);
  check(spent.status === 400 && spent.body.error === 'invalid_grant', `session 1's refresh token → ${outcome(spent)}`);
}

async function fleetAct(ctx) {
  step('A fleet: two more instances per framework, revocations shared over Redis');
  if (ctx.redis === undefined) {
    console.log(yellow('   skipped: redis-server is not installed (apt-get install -y redis-server)'));
    return;
  }
  for (const api of ctx.apis) {
    for (const number of [2, 3]) {
      // Each instance has its own Redis client, as separate processes would; no feed, no logout receiver.
      const client = createClient({ url: ctx.redis.url });
      client.on('error', () => undefined);
      await client.connect();
      const started = await api.start({ issuer: ctx.metadata.issuer, audience: ctx.as.audience, redis: client, tokenward: { clockTolerance: CLOCK_TOLERANCE, jwks: JWKS } });
      const instance = { name: `${api.name} #${number}`, url: started.url, close: async () => { await started.close(); client.destroy(); } };
      ctx.fleet.push(instance);
      note(`${instance.name.padEnd(10)} ${started.url}: caught up with the Redis stream (it polls no feed and receives no logout tokens)`);
    }
  }
  const cli = await tokenRequest(ctx, { grant_type: 'password', username: 'bob', password: 'bob-password', scope: 'read:messages' }, CLI);
  must(cli.status === 200, `bob signs in on demo-cli → ${cli.status}`, outcome(cli));
  const job = await machineToken(ctx);
  for (const instance of ctx.fleet) {
    const ok = await call(`${instance.url}/messages`, { token: cli.body.access_token });
    check(ok.status === 200 && ok.body.user === 'user-bob', `${instance.name.padEnd(10)} bob's token → ${outcome(ok)}`);
  }
  const startedAt = Date.now();
  const logout = await call(`${ctx.as.url}/logout-everywhere`, { method: 'POST', token: cli.body.access_token });
  check(logout.status === 200, `bob: POST /logout-everywhere → ${outcome(logout)}; the authorization server XADDs "every token of user-bob issued until now" to the stream`);
  const results = await Promise.all(
    ctx.fleet.map((instance) =>
      until(() => call(`${instance.url}/messages`, { token: cli.body.access_token }), (answer) => answer.status === 401, FLEET_DEADLINE).then(({ answer }) => ({ instance, answer, since: Date.now() - startedAt })),
    ),
  );
  for (const { instance, answer, since } of results) {
    check(
      answer.status === 401 && answer.body.error_description === 'Token revoked' && since <= FLEET_DEADLINE,
      `${instance.name.padEnd(10)} refuses bob's token ${since} ms after the logout was sent → ${outcome(answer)}`,
    );
  }
  for (const instance of ctx.fleet) {
    const other = await call(`${instance.url}/messages`, { token: job });
    check(other.status === 200, `${instance.name.padEnd(10)} reporting-job's token still works → ${outcome(other)}`);
  }
}
