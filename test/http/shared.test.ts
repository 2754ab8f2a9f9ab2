/**
 * One HTTP-level suite, run unchanged against every adapter (Express, Fastify, Nest on Express,
 * Nest on Fastify). Each case asserts status, WWW-Authenticate (or Retry-After) and body, and the
 * last block checks that all four adapters answered every case, byte-for-byte alike.
 */
import { RevocationList, TokenwardError, type Challenges, type Reason, type Scheme } from '@tokenward/core';
import { ADAPTERS, loadApp, type SuiteApp } from './app-factory';
import { makeKey, type TestKey } from '../support/keys';
import { serveKeys, startJwksServer, type JwksServer } from '../support/jwks-server';
import { json, mint, now, signInput } from '../support/tokens';
import { rawRequest, type RawResponse } from '../support/raw-http';
import { DPOP_ONLY, expectedError } from '../support/challenges';
import { dpopClient, proof, type DpopClient, type ProofOptions } from '../support/dpop';

const audience = 'https://api.example.com';

const jwks = serveKeys({ rs: 'RS256', es: 'ES256', ps: 'PS256', ed: 'EdDSA' });
const { rs, es, ps, ed } = jwks.keys;
let attacker: TestKey;
let down: JwksServer;

beforeAll(async () => {
  attacker = makeKey('RS256', 'rs');
  down = await startJwksServer([rs.jwk]);
  down.setMode('error');
});
afterAll(() => down.close());

const issuance = () => ({ issuer: jwks.server.issuer, audience });
const token = (claims: Record<string, unknown> = {}, key: TestKey = rs, header: Record<string, unknown> = {}) => mint(key, issuance(), { claims, header });
const bearer = (value: string): Headers => [['Authorization', `Bearer ${value}`]];

// DPoP clients (RFC 9449): `client` is the one the bound tokens name, `other` another.
let client: DpopClient;
let other: DpopClient;
beforeAll(async () => {
  client = await dpopClient('ES256');
  other = await dpopClient('EdDSA');
});
/** A token bound to `client`'s DPoP key. */
const boundToken = (claims: Record<string, unknown> = {}) => token({ cnf: { jkt: client.jkt }, ...claims });
/** `DPoP <token>` and a proof for GET base+path (or as `options` say). */
async function dpop(base: string, path: string, jwt: string, options: Partial<ProofOptions> & { by?: DpopClient; scheme?: string } = {}): Promise<Headers> {
  const value = await proof(options.by ?? client, { method: 'GET', url: `${base}${path}`, accessToken: jwt, ...options });
  return [['Authorization', `${options.scheme ?? 'DPoP'} ${jwt}`], ['DPoP', value]];
}

/** A hand-built token: header and claims as given, signature from `sign` (default: none). */
function forged(header: Record<string, unknown>, claims: Record<string, unknown>, signature = ''): string {
  return `${json(header)}.${json(claims)}.${signature}`;
}
const validClaims = () => ({ iss: jwks.server.issuer, aud: audience, sub: 'user-42', iat: now(), exp: now() + 300, scope: 'read:messages' });

type Headers = Array<[string, string]>;

interface Case {
  name: string;
  path: string;
  /** The request headers; `base` is the app's `http://127.0.0.1:PORT` (a DPoP proof's htu names it). */
  headers: (base: string) => Headers | Promise<Headers>;
  status: number;
  /** A reason: the rejection must be exactly that error's challenge and body. */
  reason?: Reason;
  scope?: string;
  /** RFC 9470 challenge parameters of a step-up refusal. */
  acrValues?: string;
  maxAge?: number;
  /** The scheme whose challenge carries the error (default Bearer), and the challenges sent. */
  scheme?: Scheme;
  challenges?: Challenges;
  body?: unknown;
}

const STEP_UP = { acrValues: 'mfa', maxAge: 300 } as const;

const cases: Case[] = [
  // Valid tokens and public/optional routes.
  { name: 'a valid RS256 token reaches a protected route', path: '/me', headers: () => bearer(token({ scope: 'write:messages read:messages' })), status: 200, body: { user: 'user-42', scopes: ['read:messages', 'write:messages'] } },
  { name: 'a valid ES256 token is accepted', path: '/messages', headers: () => bearer(token({}, es)), status: 200, body: { user: 'user-42' } },
  { name: 'a valid PS256 token is accepted', path: '/messages', headers: () => bearer(token({}, ps)), status: 200, body: { user: 'user-42' } },
  { name: 'a valid EdDSA token is accepted', path: '/messages', headers: () => bearer(token({}, ed)), status: 200, body: { user: 'user-42' } },
  { name: 'a public route needs no token', path: '/public', headers: () => [], status: 200, body: { ok: true } },
  { name: 'a public route ignores a broken token', path: '/public', headers: () => bearer('x.y.z'), status: 200, body: { ok: true } },
  { name: 'an optional route without credentials sees no user', path: '/optional', headers: () => [], status: 200, body: { user: null } },
  { name: 'an optional route with a valid token sees the user', path: '/optional', headers: () => bearer(token()), status: 200, body: { user: 'user-42' } },
  { name: 'an optional route still refuses a bad token', path: '/optional', headers: () => bearer(token({ exp: now() - 3600, iat: now() - 3700 })), status: 401, reason: 'token_expired' },

  // Credentials: missing, other schemes, malformed, several.
  { name: 'no Authorization header gets a bare challenge', path: '/me', headers: () => [], status: 401, reason: 'credentials_missing' },
  { name: 'a Basic Authorization header gets a bare challenge', path: '/me', headers: () => [['Authorization', 'Basic dXNlcjpwYXNz']], status: 401, reason: 'credentials_missing' },
  { name: 'a lowercase bearer scheme is accepted', path: '/messages', headers: () => [['Authorization', `bearer ${token()}`]], status: 200, body: { user: 'user-42' } },
  { name: 'Bearer without a token is a bad request', path: '/me', headers: () => [['Authorization', 'Bearer']], status: 400, reason: 'authorization_malformed' },
  { name: 'a token with characters outside b64token is a bad request', path: '/me', headers: () => [['Authorization', 'Bearer abc$def']], status: 400, reason: 'authorization_malformed' },
  { name: 'two Authorization headers are a bad request', path: '/me', headers: () => [...bearer(token()), ...bearer(token())], status: 400, reason: 'multiple_credentials' },
  { name: 'two tokens in one header are a bad request', path: '/me', headers: () => [['Authorization', `Bearer ${token()}, Bearer ${token()}`]], status: 400, reason: 'multiple_credentials' },
  { name: 'a query-string token is ignored by default', path: `/me?access_token=TOKEN`, headers: () => [], status: 401, reason: 'credentials_missing' },

  // Attack classes over HTTP.
  { name: 'alg none is refused', path: '/me', headers: () => bearer(forged({ alg: 'none', kid: 'rs' }, validClaims())), status: 401, reason: 'token_malformed' },
  { name: 'alg none with a junk signature is refused', path: '/me', headers: () => bearer(forged({ alg: 'none', kid: 'rs' }, validClaims(), 'AAAA')), status: 401, reason: 'alg_not_allowed' },
  {
    name: 'HS256 keyed with the RSA public key is refused',
    path: '/me',
    headers: () => {
      const input = `${json({ alg: 'HS256', kid: 'rs' })}.${json(validClaims())}`;
      return bearer(`${input}.${signInput('HS256', Buffer.from(rs.publicKey.export({ type: 'spki', format: 'pem' }) as string), input)}`);
    },
    status: 401,
    reason: 'alg_not_allowed',
  },
  {
    name: 'a key embedded in the jwk header is never used',
    path: '/me',
    headers: () => bearer(mint(attacker, issuance(), { header: { jwk: attacker.jwk } })),
    status: 401,
    reason: 'key_reference_header',
  },
  { name: 'a key signed by an impostor under a published kid is refused', path: '/me', headers: () => bearer(mint(attacker, issuance())), status: 401, reason: 'signature_invalid' },
  { name: 'an unknown crit extension is refused', path: '/me', headers: () => bearer(token({}, rs, { crit: ['exp'], exp: 1 })), status: 401, reason: 'crit_unsupported' },
  { name: 'the psychic ES256 signature (r = s = 0) is refused', path: '/me', headers: () => bearer(`${token({}, es).split('.').slice(0, 2).join('.')}.${Buffer.alloc(64).toString('base64url')}`), status: 401, reason: 'signature_invalid' },
  { name: 'padding inside the token breaks the b64token syntax', path: '/me', headers: () => bearer(token().replace('.', '=.')), status: 400, reason: 'authorization_malformed' },
  { name: 'padding after the signature is refused', path: '/me', headers: () => bearer(`${token()}=`), status: 401, reason: 'token_malformed' },
  { name: 'a five-segment JWE is refused', path: '/me', headers: () => bearer('eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a.b.c.d'), status: 401, reason: 'token_encrypted' },
  { name: 'an oversized token is refused', path: '/me', headers: () => bearer(token({ filler: 'x'.repeat(9000) })), status: 401, reason: 'token_too_large' },
  { name: 'a kid that is not a string is refused', path: '/me', headers: () => bearer(token({}, rs, { kid: 7 })), status: 401, reason: 'kid_invalid' },
  // Issued before the keys were fetched: the kid cannot be a key published since (see the key_pending test).
  { name: 'an unknown kid is refused', path: '/me', headers: () => bearer(token({ iat: now() - 60 }, rs, { kid: 'nobody' })), status: 401, reason: 'unknown_kid' },
  {
    name: 'a flipped bit in the payload is refused',
    path: '/me',
    headers: () => {
      const [h, p, s] = token().split('.') as [string, string, string];
      const flipped = Buffer.from(p, 'base64url');
      const inJti = flipped.indexOf('"jti":"') + 8;
      flipped[inJti] = (flipped[inJti] as number) ^ 1;
      return bearer(`${h}.${flipped.toString('base64url')}.${s}`);
    },
    status: 401,
    reason: 'signature_invalid',
  },
  { name: 'an expired token is refused', path: '/me', headers: () => bearer(token({ exp: now() - 3600, iat: now() - 3700 })), status: 401, reason: 'token_expired' },
  { name: 'a token without exp is refused', path: '/me', headers: () => bearer(mint(rs, issuance(), { replaceClaims: true, claims: { iss: jwks.server.issuer, aud: audience, sub: 'user-42' } })), status: 401, reason: 'exp_missing' },
  { name: 'a string exp is refused', path: '/me', headers: () => bearer(token({ exp: String(now() + 300) })), status: 401, reason: 'claim_invalid' },
  { name: 'a token not valid yet is refused', path: '/me', headers: () => bearer(token({ nbf: now() + 3600 })), status: 401, reason: 'token_not_yet_valid' },
  { name: 'a token issued in the future is refused', path: '/me', headers: () => bearer(token({ iat: now() + 3600, exp: now() + 3900 })), status: 401, reason: 'iat_in_future' },
  { name: 'a token living longer than the cap is refused', path: '/me', headers: () => bearer(token({ exp: now() + 2 * 86400 })), status: 401, reason: 'lifetime_exceeded' },
  { name: 'another issuer is refused', path: '/me', headers: () => bearer(token({ iss: 'https://evil.example.com/' })), status: 401, reason: 'issuer_mismatch' },
  { name: 'another audience is refused', path: '/me', headers: () => bearer(token({ aud: 'https://other.example.com' })), status: 401, reason: 'audience_mismatch' },

  // Scopes.
  { name: 'a missing scope is a 403 naming it', path: '/admin', headers: () => bearer(token()), status: 403, reason: 'insufficient_scope', scope: 'admin' },
  { name: 'a scope prefix never satisfies the scope', path: '/messages', headers: () => bearer(token({ scope: 'read:messagesx read:messages:all read' })), status: 403, reason: 'insufficient_scope', scope: 'read:messages' },
  { name: 'all-of needs every scope', path: '/both', headers: () => bearer(token({ scope: 'read:messages' })), status: 403, reason: 'insufficient_scope', scope: 'read:messages write:messages' },
  { name: 'all-of passes with every scope', path: '/both', headers: () => bearer(token({ scope: 'write:messages read:messages' })), status: 200, body: { user: 'user-42' } },
  { name: 'any-of passes with one scope', path: '/any', headers: () => bearer(token({ scope: 'admin' })), status: 200, body: { user: 'user-42' } },
  { name: 'any-of needs at least one', path: '/any', headers: () => bearer(token({ scope: 'write:messages' })), status: 403, reason: 'insufficient_scope', scope: 'admin read:messages' },
  // Route policy where declarations combine (core's route.ts).
  { name: 'optional and scoped: an anonymous request is refused (declared scopes need credentials)', path: '/optional-admin', headers: () => [], status: 401, reason: 'credentials_missing' },
  { name: 'optional and scoped: a token without the scope is a 403', path: '/optional-admin', headers: () => bearer(token()), status: 403, reason: 'insufficient_scope', scope: 'admin' },
  { name: 'optional and scoped: a token with the scope passes', path: '/optional-admin', headers: () => bearer(token({ scope: 'admin' })), status: 200, body: { user: 'user-42' } },
  { name: 'public and scoped on one level is protected: anonymous is a 401', path: '/public-admin', headers: () => [], status: 401, reason: 'credentials_missing' },
  { name: 'public and scoped on one level is protected: a token without the scope is a 403', path: '/public-admin', headers: () => bearer(token()), status: 403, reason: 'insufficient_scope', scope: 'admin' },
  { name: 'public and scoped on one level is protected: the scope passes', path: '/public-admin', headers: () => bearer(token({ scope: 'admin' })), status: 200, body: { user: 'user-42' } },
  { name: 'a guard after a public level never lets an anonymous request through', path: '/open/guarded', headers: () => [], status: 401, reason: 'credentials_missing' },
  { name: 'a guard after a public level verifies the token', path: '/open/guarded', headers: () => bearer(token({ exp: now() - 3600, iat: now() - 3700 })), status: 401, reason: 'token_expired' },
  { name: 'a guard after a public level passes a token with the scope', path: '/open/guarded', headers: () => bearer(token()), status: 200, body: { user: 'user-42' } },
  { name: 'optional under a public level: anonymous passes with no user', path: '/open/optional', headers: () => [], status: 200, body: { user: null } },
  { name: 'optional under a public level: a valid token is seen', path: '/open/optional', headers: () => bearer(token()), status: 200, body: { user: 'user-42' } },
  { name: 'optional under a public level: a bad token is refused', path: '/open/optional', headers: () => bearer('x.y.z'), status: 401, reason: 'token_malformed' },
  { name: 'public under a scoped level lifts its scopes: no token needed', path: '/scoped/health', headers: () => [], status: 200, body: { ok: true } },
  { name: 'public under a scoped level ignores a broken token', path: '/scoped/health', headers: () => bearer('x.y.z'), status: 200, body: { ok: true } },
  { name: 'scopes from a permissions array count', path: '/admin', headers: () => bearer(token({ scope: undefined, permissions: ['admin'] })), status: 200, body: { user: 'user-42' } },

  // Sender-constrained tokens: DPoP (RFC 9449).
  { name: 'a DPoP-bound token with its proof reaches a protected route', path: '/me', headers: (base) => dpop(base, '/me', boundToken()), status: 200, body: { user: 'user-42', scopes: ['read:messages'] } },
  { name: 'the token says how it is bound', path: '/binding', headers: (base) => dpop(base, '/binding', boundToken()), status: 200, body: { binding: { jkt: 'JKT' } } },
  { name: 'a bearer token says it is not bound', path: '/binding', headers: () => bearer(token()), status: 200, body: { binding: null } },
  { name: 'the DPoP scheme is case-insensitive', path: '/messages', headers: (base) => dpop(base, '/messages', boundToken(), { scheme: 'dpop' }), status: 200, body: { user: 'user-42' } },
  { name: 'the proof ignores the query string', path: '/messages?page=2', headers: (base) => dpop(base, '/messages', boundToken()), status: 200, body: { user: 'user-42' } },
  { name: 'a DPoP-bound token presented as Bearer is refused', path: '/me', headers: () => bearer(boundToken()), status: 401, reason: 'dpop_bound_as_bearer' },
  { name: 'an unbound token with the DPoP scheme is refused', path: '/me', headers: (base) => dpop(base, '/me', token()), status: 401, reason: 'token_not_dpop_bound', scheme: 'DPoP' },
  { name: 'a cnf with nothing we verify is refused', path: '/me', headers: () => bearer(token({ cnf: { jwk: { kty: 'EC' } } })), status: 401, reason: 'cnf_unsupported' },
  { name: 'the DPoP scheme without a proof is refused', path: '/me', headers: () => [['Authorization', `DPoP ${boundToken()}`]], status: 401, reason: 'dpop_proof_missing', scheme: 'DPoP' },
  {
    name: 'two DPoP headers are refused',
    path: '/me',
    headers: async (base) => {
      const jwt = boundToken();
      const [first, second] = [await dpop(base, '/me', jwt), await dpop(base, '/me', jwt)];
      return [...first, second[1] as [string, string]];
    },
    status: 401,
    reason: 'dpop_proof_multiple',
    scheme: 'DPoP',
  },
  { name: 'a proof for another method is refused', path: '/me', headers: (base) => dpop(base, '/me', boundToken(), { method: 'POST' }), status: 401, reason: 'dpop_htm_mismatch', scheme: 'DPoP' },
  { name: 'a proof for another path is refused', path: '/me', headers: (base) => dpop(base, '/admin', boundToken()), status: 401, reason: 'dpop_htu_mismatch', scheme: 'DPoP' },
  {
    name: 'X-Forwarded-Host and -Proto are not believed by default',
    path: '/me',
    headers: async () => [...(await dpop('https://public.example.com', '/me', boundToken())), ['X-Forwarded-Host', 'public.example.com'], ['X-Forwarded-Proto', 'https']],
    status: 401,
    reason: 'dpop_htu_mismatch',
    scheme: 'DPoP',
  },
  { name: 'a proof for another token is refused', path: '/me', headers: async (base) => [(await dpop(base, '/me', boundToken()))[0] as [string, string], (await dpop(base, '/me', boundToken()))[1] as [string, string]], status: 401, reason: 'dpop_ath_mismatch', scheme: 'DPoP' },
  { name: 'a proof by another key is refused', path: '/me', headers: (base) => dpop(base, '/me', boundToken(), { by: other }), status: 401, reason: 'dpop_key_mismatch', scheme: 'DPoP' },
  { name: 'a stale proof is refused', path: '/me', headers: (base) => dpop(base, '/me', boundToken(), { iat: now() - 400 }), status: 401, reason: 'dpop_iat_invalid', scheme: 'DPoP' },
  { name: 'a Bearer token with a DPoP proof is a bad request', path: '/me', headers: (base) => dpop(base, '/me', token(), { scheme: 'Bearer' }), status: 400, reason: 'dpop_proof_with_bearer' },
  { name: 'a DPoP-bound token without the scope is a 403 on the DPoP challenge', path: '/admin', headers: (base) => dpop(base, '/admin', boundToken()), status: 403, reason: 'insufficient_scope', scope: 'admin', scheme: 'DPoP' },
  { name: 'an optional route sees a DPoP-bound token', path: '/optional', headers: (base) => dpop(base, '/optional', boundToken()), status: 200, body: { user: 'user-42' } },
  { name: 'a DPoP route refuses a Bearer token', path: '/dpop-only', headers: () => bearer(token()), status: 401, reason: 'dpop_required', challenges: DPOP_ONLY },
  { name: 'a DPoP route without credentials challenges DPoP only', path: '/dpop-only', headers: () => [], status: 401, reason: 'credentials_missing', challenges: DPOP_ONLY },
  { name: 'a request authenticated twice (two middlewares or guards) checks its proof once', path: '/twice', headers: (base) => dpop(base, '/twice', boundToken()), status: 200, body: { user: 'user-42' } },
  { name: 'a DPoP route accepts a DPoP-bound token with its proof', path: '/dpop-only', headers: (base) => dpop(base, '/dpop-only', boundToken()), status: 200, body: { user: 'user-42' } },

  // Step-up (RFC 9470): acr one of mfa, auth_time at most 300 s ago.
  { name: 'step-up: a strong, recent authentication passes', path: '/step-up', headers: () => bearer(token({ acr: 'mfa', auth_time: now() - 60 })), status: 200, body: { user: 'user-42' } },
  { name: 'step-up: another acr is told which ones to get', path: '/step-up', headers: () => bearer(token({ acr: 'pwd', auth_time: now() - 60 })), status: 401, reason: 'acr_insufficient', ...STEP_UP },
  { name: 'step-up: no acr is refused alike', path: '/step-up', headers: () => bearer(token({ auth_time: now() - 60 })), status: 401, reason: 'acr_insufficient', ...STEP_UP },
  { name: 'step-up: an authentication too long ago is told the max age', path: '/step-up', headers: () => bearer(token({ acr: 'mfa', auth_time: now() - 900 })), status: 401, reason: 'auth_time_too_old', ...STEP_UP },
  { name: 'step-up: no auth_time is refused alike', path: '/step-up', headers: () => bearer(token({ acr: 'mfa' })), status: 401, reason: 'auth_time_too_old', ...STEP_UP },
  { name: 'step-up: an anonymous request is a bare challenge', path: '/step-up', headers: () => [], status: 401, reason: 'credentials_missing' },
  { name: 'step-up: a weak DPoP-bound token gets the error on the DPoP challenge', path: '/step-up', headers: (base) => dpop(base, '/step-up', boundToken()), status: 401, reason: 'acr_insufficient', scheme: 'DPoP', ...STEP_UP },
];

/** What a rejection with `reason` must look like on the wire. */
function expectRejection(res: RawResponse | Response, reason: Reason, scope?: string): void {
  const expected = expectedError(reason, { scope });
  const get = (name: string) => (res instanceof Response ? res.headers.get(name) ?? undefined : res.headers[name]);
  expect(get('www-authenticate')).toBe(expected.wwwAuthenticate);
  if (expected.status === 503) expect(get('retry-after')).toBe('30');
  expect(get('cache-control')).toBe('no-store');
}

async function send(app: SuiteApp, c: Case): Promise<{ status: number; headers: Record<string, string | undefined>; body: unknown }> {
  const path = c.path.replace('TOKEN', token());
  const res = await rawRequest(app.baseUrl, path, await c.headers(app.baseUrl));
  let body: unknown = res.body;
  try {
    body = JSON.parse(res.body);
  } catch {
    // keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

// Every adapter's answers, kept to compare across adapters at the end.
const answers = new Map<string, Map<string, unknown>>();

describe.each(ADAPTERS)('the %s adapter', (adapter) => {
  let app: SuiteApp;
  let outage: SuiteApp;
  let revocation: RevocationList;
  const seen = new Map<string, unknown>();

  beforeAll(async () => {
    const createApp = await loadApp(adapter);
    revocation = new RevocationList();
    app = await createApp({ issuer: jwks.server.issuer, audience, revocation });
    outage = await createApp({ issuer: down.issuer, audience });
    answers.set(adapter, seen);
  });
  afterAll(async () => {
    await app.close();
    await outage.close();
  });

  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const res = await send(app, c);
    expect(res.status).toBe(c.status);
    if (c.reason !== undefined) {
      const expected = expectedError(c.reason, { scope: c.scope, acrValues: c.acrValues, maxAge: c.maxAge, scheme: c.scheme, challenges: c.challenges });
      expect(res.headers['www-authenticate']).toBe(expected.wwwAuthenticate);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual(expected.body);
    } else {
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(res.body).toEqual(JSON.parse(JSON.stringify(c.body ?? null).replace('"JKT"', JSON.stringify(client.jkt))));
    }
    seen.set(c.name, { status: res.status, challenge: res.headers['www-authenticate'], body: res.body });
  });

  test('a token revoked by jti is refused while others pass', async () => {
    const jti = `revoked-${adapter}`;
    const revoked = token({ jti });
    const other = token({ jti: `kept-${adapter}` });
    expect((await rawRequest(app.baseUrl, '/me', bearer(revoked))).status).toBe(200);
    revocation.revoke({ jti, expiresAt: now() + 300 });
    const res = await rawRequest(app.baseUrl, '/me', bearer(revoked));
    expect(res.status).toBe(401);
    expectRejection(res, 'token_revoked');
    expect(JSON.parse(res.body)).toEqual(new TokenwardError('token_revoked').body);
    expect((await rawRequest(app.baseUrl, '/me', bearer(other))).status).toBe(200);
  });

  test('a subject logged out everywhere is refused', async () => {
    const sub = `user-${adapter}`;
    const before = token({ sub, iat: now() - 10 });
    revocation.revokeSubject(sub);
    const res = await rawRequest(app.baseUrl, '/me', bearer(before));
    expect(res.status).toBe(401);
    expectRejection(res, 'token_revoked');
  });

  test('a DPoP proof is accepted once: replayed, it is refused', async () => {
    const headers = await dpop(app.baseUrl, '/me', boundToken());
    expect((await rawRequest(app.baseUrl, '/me', headers)).status).toBe(200);
    const replayed = await rawRequest(app.baseUrl, '/me', headers);
    expect(replayed.status).toBe(401);
    expect(replayed.headers['www-authenticate']).toBe(expectedError('dpop_replayed').wwwAuthenticate);
  });

  test('behind a proxy the app trusts, the forwarded origin is the htu; publicOrigin wins over it', async () => {
    const createApp = await loadApp(adapter);
    const proxied = await createApp({ issuer: jwks.server.issuer, audience }, { trustProxy: true });
    const pinned = await createApp({ issuer: jwks.server.issuer, audience, publicOrigin: 'https://api.example.com' }, { trustProxy: true });
    try {
      const forwarded: Headers = [['X-Forwarded-Host', 'public.example.com'], ['X-Forwarded-Proto', 'https']];
      const viaProxy = [...(await dpop('https://public.example.com', '/me', boundToken())), ...forwarded];
      expect((await rawRequest(proxied.baseUrl, '/me', viaProxy)).status).toBe(200);
      // The request's own origin is not what the client used any more.
      expect((await rawRequest(proxied.baseUrl, '/me', [...(await dpop(proxied.baseUrl, '/me', boundToken())), ...forwarded])).status).toBe(401);
      expect((await rawRequest(pinned.baseUrl, '/me', [...(await dpop('https://public.example.com', '/me', boundToken())), ...forwarded])).status).toBe(401);
      expect((await rawRequest(pinned.baseUrl, '/me', [...(await dpop('https://api.example.com', '/me', boundToken())), ...forwarded])).status).toBe(200);
    } finally {
      await proxied.close();
      await pinned.close();
    }
  });

  test('a Host header shaped to move the htu elsewhere is no origin: a proof for / is refused on /admin', async () => {
    const { hostname, port } = new URL(app.baseUrl);
    const jwt = boundToken({ scope: 'admin' });
    // Without the check, `host:port#` + `/admin` would normalise to the proof's htu for `/`.
    const headers = await dpop(app.baseUrl, '/', jwt);
    const res = await rawRequest(app.baseUrl, '/admin', headers, `${hostname}:${port}#`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(expectedError('dpop_htu_mismatch', { scheme: 'DPoP' }).wwwAuthenticate);
  });

  test('an unknown kid on a token issued since the keys were fetched yields 503 key_pending with the seconds left, not a 401', async () => {
    // An older token first: it is a 401, and a fetch it may cause opens a fresh cooldown window.
    expect((await rawRequest(app.baseUrl, '/me', bearer(token({ iat: now() - 60 }, rs, { kid: 'nobody' })))).status).toBe(401);
    const res = await rawRequest(app.baseUrl, '/me', bearer(token({}, rs, { kid: 'next-key' })));
    expect(res.status).toBe(503);
    const retryAfter = Number(res.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 30).toBe(true);
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(res.body)).toEqual({ error: 'temporarily_unavailable', error_description: 'Signing key not yet known; retry shortly' });
  });

  test('a key source that is down yields 503 with Retry-After, never 500', async () => {
    const res = await rawRequest(outage.baseUrl, '/me', bearer(mint(rs, { issuer: down.issuer, audience })));
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('30');
    expect(res.headers['www-authenticate']).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(res.body)).toEqual({ error: 'temporarily_unavailable', error_description: 'Signing keys are temporarily unavailable' });
  });
});

describe('all adapters', () => {
  // Filled by each adapter's beforeAll once its app listens: an adapter whose app file is missing,
  // or that did not run (this block run alone with -t), is missing here.
  test('are exercised by this suite: Express, Fastify, Nest on Express and Nest on Fastify', () => {
    expect([...answers.keys()]).toEqual(['express', 'fastify', 'nest-express', 'nest-fastify']);
  });

  test('answered every case, and identically', () => {
    const caseNames = cases.map((c) => c.name);
    for (const adapter of ADAPTERS) {
      expect({ adapter, answered: [...(answers.get(adapter)?.keys() ?? [])] }).toEqual({ adapter, answered: caseNames });
    }
    const reference = answers.get('express') as Map<string, unknown>;
    for (const adapter of ADAPTERS) {
      const seen = answers.get(adapter) as Map<string, unknown>;
      for (const caseName of caseNames) {
        expect({ adapter, case: caseName, answer: seen.get(caseName) }).toEqual({ adapter, case: caseName, answer: reference.get(caseName) });
      }
    }
  });
});
