/**
 * The `tokenward` command as a user runs it: the built bin (dist/) in a child process, against a
 * real JWKS server on 127.0.0.1 (discovery and keys), each outcome with its exit code, text and
 * --json forms, the token from an argument or from standard input.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { assertBuilt } from '../../../test/support/built';
import { serveKeys } from '../../../test/support/jwks-server';
import { closedPort } from '../../../test/support/http-routes';
import { mint, now } from '../../../test/support/tokens';

const BIN = join(__dirname, '..', 'dist', 'esm', 'bin.js');
const audience = 'https://api.example.com';
const fixture = serveKeys({ k1: 'ES256', k2: 'RS256' });
beforeAll(() => assertBuilt(['core', 'cli']));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function tokenward(args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BIN, ...args], { timeout: 15_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
}

const issuer = () => fixture.server.issuer;
const token = (claims: Record<string, unknown> = {}, kid: 'k1' | 'k2' = 'k1') => mint(fixture.keys[kid], { issuer: issuer(), audience }, { claims });
const json = (run: Run) => JSON.parse(run.stdout) as Record<string, unknown>;

describe('inspect', () => {
  test('decodes header and claims, labelled NOT VERIFIED, from an argument or stdin', async () => {
    const jwt = token({ scope: 'read' });
    const text = await tokenward(['inspect', jwt]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^NOT VERIFIED/);
    expect(text.stdout).toContain('"sub": "user-42"');
    expect(text.stdout).toMatch(/exp {6}\d{4}-\d\d-\d\dT.* \(in \d+ (s|min)\)/);
    const piped = json(await tokenward(['inspect', '-', '--json'], `Bearer ${jwt}\n`));
    expect(piped).toMatchObject({ verified: false, header: { alg: 'ES256', kid: 'k1' }, claims: { sub: 'user-42', scope: 'read' } });
  });

  test('input that is not a token is a usage error (exit 2)', async () => {
    const run = await tokenward(['inspect', 'not-a-token']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/not a compact JWS/);
  });
});

describe('verify', () => {
  const base = () => ['--issuer', issuer(), '--audience', audience];

  test('a valid token: exit 0, who and what, the kid among the published ones, the time to expiry', async () => {
    const run = await tokenward(['verify', token({ scope: 'read:messages admin', client_id: 'web' }), ...base(), '--scopes', 'admin']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^valid\n/);
    expect(run.stdout).toMatch(/kid {8}k1 \(published\)/);
    const report = json(await tokenward(['verify', '-', ...base(), '--json'], token({ client_id: 'web' })));
    expect(report).toMatchObject({ verdict: 'valid', subject: 'user-42', clientId: 'web', kid: 'k1', kidFound: true, clockSkew: 0 });
    expect(report.kids).toEqual(expect.arrayContaining(['k1', 'k2']));
    expect(report.expiresIn).toBeGreaterThan(250);
  });

  test('rejections exit 1 with the reason and the developer’s detail: expired, wrong audience, missing scope, unknown kid', async () => {
    const expired = json(await tokenward(['verify', token({ exp: now() - 3600, iat: now() - 3700 }), ...base(), '--json']));
    expect(expired).toMatchObject({ verdict: 'rejected', reason: 'token_expired', status: 401, code: 'invalid_token' });
    expect(expired.expiresIn).toBeLessThan(-3500);
    const audienceRun = await tokenward(['verify', token(), '--issuer', issuer(), '--audience', 'https://other.example.com']);
    expect(audienceRun.code).toBe(1);
    expect(audienceRun.stdout).toMatch(/^rejected: audience_mismatch \(401 invalid_token: Token audience not accepted\)/);
    expect(audienceRun.stdout).toContain('https://api.example.com');
    const scope = json(await tokenward(['verify', token(), ...base(), '--scopes', 'admin,write', '--json']));
    expect(scope).toMatchObject({ reason: 'insufficient_scope', status: 403 });
    const forged = mint({ ...fixture.keys.k1, kid: 'k9' }, { issuer: issuer(), audience });
    const unknown = json(await tokenward(['verify', forged, ...base(), '--json']));
    expect(unknown).toMatchObject({ reason: 'unknown_kid', kid: 'k9', kidFound: false });
  });

  test('a token from the future shows the clock skew', async () => {
    const report = json(await tokenward(['verify', token({ iat: now() + 3 }), ...base(), '--json']));
    expect(report.clockSkew).toBeGreaterThanOrEqual(2);
  });

  test('an issuer that cannot be reached exits 3 (keys unavailable), saying why', async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const jwt = mint(fixture.keys.k1, { issuer: down, audience });
    const run = json(await tokenward(['verify', jwt, '--issuer', down, '--audience', audience, '--json']));
    expect(run).toMatchObject({ verdict: 'unavailable', reason: 'jwks_unavailable', status: 503, keysFailure: { failure: 'network' } });
    expect((await tokenward(['verify', jwt, '--issuer', down, '--audience', audience])).code).toBe(3);
  });

  test('a missing option or a bad one is a usage error (exit 2)', async () => {
    expect((await tokenward(['verify', token(), '--issuer', issuer()])).code).toBe(2);
    const bad = await tokenward(['verify', token(), '--issuer', 'not a url', '--audience', audience]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/issuer/);
  });
});

describe('jwks', () => {
  test('lists the keys, usable or ignored with core’s reason', async () => {
    fixture.server.setKeys([fixture.keys.k1.jwk, { ...fixture.keys.k2.jwk, kid: 'k3', use: 'enc' }, { kty: 'oct', kid: 'k4', k: 'c2VjcmV0' }]);
    try {
      const report = json(await tokenward(['jwks', issuer(), '--json']));
      expect(report).toMatchObject({ issuer: issuer(), metadata: { issuer: issuer() }, usableKids: ['k1'] });
      expect(report.keys).toEqual([
        expect.objectContaining({ kid: 'k1', kty: 'EC', usable: true }),
        expect.objectContaining({ kid: 'k3', usable: false, ignored: 'use_not_sig' }),
        expect.objectContaining({ kid: 'k4', usable: false, ignored: 'kty_unsupported' }),
      ]);
      const text = await tokenward(['jwks', issuer()]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/k3 +RSA .*IGNORED: use_not_sig/);
    } finally {
      fixture.server.setKeys([fixture.keys.k1.jwk, fixture.keys.k2.jwk]);
    }
  });

  test('an issuer without keys to be had exits 3', async () => {
    const run = await tokenward(['jwks', `http://127.0.0.1:${await closedPort()}`, '--json']);
    expect(run.code).toBe(3);
    expect(json(run)).toMatchObject({ failure: { failure: 'network' } });
  });
});
