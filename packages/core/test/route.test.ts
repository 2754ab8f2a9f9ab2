/**
 * Route policy (route.ts): a route's declarations, level by level, most general first, made into
 * one decision, and that decision applied by check() to real requests against a real JWKS
 * server. One describe per rule of the file's header.
 */
import { createVerifier, routePolicy, type AccessToken, type RoutePolicy, type Verifier } from '@tokenward/core';
import { serveOneKey } from '../../../test/support/jwks-server';
import { mint } from '../../../test/support/tokens';
import { thrown } from '../../../test/support/observe';

const audience = 'https://api.example.com';
const jwks = serveOneKey('ES256', 'k1');
let verifier: Verifier;
beforeAll(() => {
  verifier = createVerifier({ issuer: jwks.server.issuer, audience });
});
afterAll(() => verifier.close());

const token = (scope = 'read') => mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims: { scope } });
const request = (jwt?: string) => ({ authorization: jwt === undefined ? undefined : `Bearer ${jwt}` });

/** What check() decides under `policy`: 'anonymous' (passes with no token), 'token', or the rejection's reason. */
async function decision(policy: RoutePolicy, jwt?: string): Promise<string> {
  try {
    const outcome = verifier.check(request(jwt), policy);
    return (await outcome) === undefined ? 'anonymous' : 'token';
  } catch (error) {
    return (error as { reason: string }).reason;
  }
}

describe('public and optional: the most specific level that says wins', () => {
  test('a handler that says public: false is authenticated under a public controller', () => {
    expect(routePolicy({ public: true }, { public: false })).toMatchObject({ authenticate: true, credentialsRequired: true });
  });

  test('a handler that says public is not authenticated under a protected controller', () => {
    expect(routePolicy({ public: false }, { public: true })).toMatchObject({ authenticate: false });
  });

  test('optional: false on a handler requires credentials under an optional default', () => {
    expect(routePolicy({ optional: true }, { optional: false })).toMatchObject({ authenticate: true, credentialsRequired: true });
    expect(routePolicy({ optional: true }, {}).credentialsRequired).toBe(false);
  });

  test('credentialsRequired: false is the older spelling of optional: true', () => {
    expect(routePolicy({ credentialsRequired: false })).toEqual(routePolicy({ optional: true }));
    expect(routePolicy({ optional: true }, { credentialsRequired: true }).credentialsRequired).toBe(true);
  });

  test('a level that says optional takes part in authentication under a public level', async () => {
    const policy = routePolicy({ public: true }, { optional: true });
    expect(policy).toMatchObject({ authenticate: true, credentialsRequired: false });
    expect(await decision(policy)).toBe('anonymous');
    expect(await decision(policy, token())).toBe('token');
    expect(await decision(policy, 'x.y.z')).toBe('token_malformed');
  });

  test('on one level, public wins over optional', () => {
    expect(routePolicy({ public: true, optional: true }).authenticate).toBe(false);
  });

  test('no declaration at all: authenticated, credentials required', async () => {
    const policy = routePolicy();
    expect(policy).toMatchObject({ authenticate: true, credentialsRequired: true, conditions: [] });
    expect(await decision(policy)).toBe('credentials_missing');
  });
});

describe("scopes: each level's condition holds on its own", () => {
  test("a controller's all-of and a handler's any-of both apply: 'a, and b or c'", async () => {
    const policy = routePolicy({ scopes: ['a'] }, { anyScopes: ['b', 'c'] });
    expect(policy.conditions).toHaveLength(2);
    expect(await decision(policy, token('a c'))).toBe('token');
    expect(await decision(policy, token('a'))).toBe('insufficient_scope');
    expect(await decision(policy, token('b c'))).toBe('insufficient_scope');
  });

  test('the 403 names the condition that failed', async () => {
    const verified = await verifier.verify(token('a'));
    const policy = routePolicy({ scopes: ['a'] }, { anyScopes: ['b', 'c'] });
    expect(thrown(() => verifier.check(request(), policy, verified))).toMatchObject({ reason: 'insufficient_scope', scope: 'b c' });
  });

  test('a level that declares an empty scope list still has a condition: it needs a token', async () => {
    const policy = routePolicy({ optional: true }, { scopes: [] });
    expect(policy.conditions).toHaveLength(1);
    expect(await decision(policy)).toBe('credentials_missing');
    expect(await decision(policy, token())).toBe('token');
  });
});

describe('public lifts the conditions of more general levels only', () => {
  test("a public handler lifts its controller's scopes (a health check in a protected controller)", async () => {
    const policy = routePolicy({ scopes: ['admin'] }, { public: true });
    expect(policy.authenticate).toBe(false);
    expect(await decision(policy, 'x.y.z')).toBe('anonymous');
  });

  test("a public controller does not lift its handler's scopes", async () => {
    const policy = routePolicy({ public: true }, { scopes: ['admin'] });
    expect(await decision(policy)).toBe('credentials_missing');
    expect(await decision(policy, token('admin'))).toBe('token');
  });

  test('public and scoped on one level is protected (a mistake fails closed)', async () => {
    const policy = routePolicy({ public: true, scopes: ['admin'] });
    expect(policy).toMatchObject({ authenticate: true, credentialsRequired: true });
    expect(await decision(policy, token('read'))).toBe('insufficient_scope');
  });

  test("a public controller's own scopes stay", async () => {
    expect(await decision(routePolicy({ public: true, scopes: ['admin'] }, {}))).toBe('credentials_missing');
  });
});

describe('declared scopes need credentials, whatever public and optional say', () => {
  test('optional with scopes refuses an anonymous request', async () => {
    const policy = routePolicy({ optional: true, scopes: ['read'] });
    expect(policy.credentialsRequired).toBe(true);
    expect(await decision(policy)).toBe('credentials_missing');
    expect(await decision(policy, token())).toBe('token');
  });

  test('a later guard without an earlier token authenticates the request itself', async () => {
    const guard = routePolicy({ scopes: ['read'] });
    expect(await decision(guard)).toBe('credentials_missing');
    expect(await decision(guard, token())).toBe('token');
    expect(await decision(guard, token('write'))).toBe('insufficient_scope');
  });
});

describe('check() with a token an earlier stage admitted', () => {
  let admitted: AccessToken;
  beforeAll(async () => {
    admitted = await verifier.verify(token('read'));
  });

  test('checks it against the policy without reading the request again', () => {
    // The request carries no credentials at all: the admitted token is what is judged.
    expect(verifier.check(request(), routePolicy({ scopes: ['read'] }), admitted)).toBe(admitted);
    expect(thrown(() => verifier.check(request(), routePolicy({ scopes: ['admin'] }), admitted))).toMatchObject({ reason: 'insufficient_scope', status: 403 });
  });

  test('only a token this verifier made counts: a copy with other scopes, another verifier\'s token, a look-alike are not admitted', async () => {
    const policy = routePolicy({ scopes: ['admin'] });
    const other = createVerifier({ issuer: jwks.server.issuer, audience });
    try {
      const copy = { ...admitted, scopes: new Set(['admin']) } as AccessToken;
      const foreign = await other.verify(token('admin'));
      const lookAlike = JSON.parse(JSON.stringify(admitted)) as AccessToken;
      for (const candidate of [copy, foreign, lookAlike]) {
        // Not admitted: the request itself is authenticated, and it carries no credentials.
        expect(thrown(() => verifier.check(request(), policy, candidate))).toMatchObject({ reason: 'credentials_missing' });
      }
    } finally {
      other.close();
    }
  });

  test('null means none: the request is authenticated under the policy', () => {
    expect(thrown(() => verifier.check(request(), routePolicy({ scopes: ['read'] }), null))).toMatchObject({ reason: 'credentials_missing' });
  });
});

describe('authenticate() and check() still take the declaration itself', () => {
  test('{ credentialsRequired: false, scopes } refuses an anonymous request, as a policy would', async () => {
    await expect(verifier.authenticate(request(), { credentialsRequired: false, scopes: ['read'] })).rejects.toMatchObject({ reason: 'credentials_missing' });
    await expect(verifier.authenticate(request(), { credentialsRequired: false })).resolves.toBeUndefined();
    await expect(verifier.authenticate(request(token()), { public: true })).resolves.toBeUndefined();
  });
});
