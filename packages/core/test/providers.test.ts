/**
 * Tokens shaped exactly as real identity providers issue them (claims, headers, and the shape of
 * their JWKS: x5c and x5t beside the key, no alg, an encryption key in the set), each accepted with
 * the settings the README's Providers table gives and refused when a rule is broken. The key sets
 * are served from 127.0.0.1 under the provider's issuer (jwksUri), so no provider is called.
 */
import { createVerifier, type TokenwardEvent, type VerifierOptions } from '@tokenward/core';
import { sendJson, startRouteServer, type RouteServer } from '../../../test/support/http-routes';
import { startJwksServer, type JwksServer } from '../../../test/support/jwks-server';
import { makeKey, type TestKey } from '../../../test/support/keys';
import { mint, now } from '../../../test/support/tokens';
import { rejection } from '../../../test/support/observe';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const OTHER_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
const API = 'https://api.example.com';
const ENTRA_APP = '6e74172b-be56-4843-9ff4-e66a39bb12e3';

let rsa: TestKey;
let keys: JwksServer;
beforeAll(async () => {
  rsa = makeKey('RS256', 'provider-key');
  // What providers publish: Entra without alg and with x5t/x5c, Keycloak with an encryption key beside.
  keys = await startJwksServer([
    { kty: 'RSA', use: 'sig', kid: rsa.kid, x5t: 'nOo3ZDrODXEK1jKWhXslHR_KXEg', n: rsa.jwk.n, e: rsa.jwk.e, x5c: ['MIIDBTCCAe2gAwIBAgIQ'] },
    { kty: 'RSA', use: 'enc', alg: 'RSA-OAEP', kid: 'enc-key', n: rsa.jwk.n, e: rsa.jwk.e },
  ]);
});
afterAll(() => keys.close());

const iat = () => now() - 10;
const token = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) => mint(rsa, { issuer: '', audience: '' }, { replaceClaims: true, claims: { iat: iat(), exp: iat() + 3600, ...claims }, header: { typ: 'JWT', ...header } });
const verifierFor = (options: Omit<VerifierOptions, 'jwksUri'> & { jwksUri?: VerifierOptions['jwksUri'] }, events?: TokenwardEvent[]) =>
  createVerifier({ jwksUri: keys.jwksUri, ...options, onEvent: events === undefined ? undefined : (e) => events.push(e) } as VerifierOptions);

describe('Auth0', () => {
  const issuer = 'https://tenant.eu.auth0.com/';
  const claims = () => ({ iss: issuer, sub: 'auth0|6523', aud: [API, 'https://tenant.eu.auth0.com/userinfo'], azp: 'client-1', scope: 'openid profile read:messages', permissions: ['read:messages', 'write:messages'] });

  test('an access token with permissions (RBAC) is accepted with the issuer as Auth0 writes it, trailing slash included', async () => {
    const verified = await verifierFor({ issuer, audience: API }).verify(token(claims()), { scopes: ['write:messages'] });
    expect(verified).toMatchObject({ subject: 'auth0|6523', clientId: 'client-1' });
  });

  test('the issuer configured without the trailing slash is refused, and the event says why', async () => {
    const events: TokenwardEvent[] = [];
    await rejection(verifierFor({ issuer: 'https://tenant.eu.auth0.com', audience: API }, events).verify(token(claims())));
    expect(events).toContainEqual(expect.objectContaining({ reason: 'issuer_mismatch', detail: expect.objectContaining({ actual: issuer, hint: expect.stringContaining('trailing slash') }) }));
  });
});

describe('Okta', () => {
  const issuer = 'https://dev-123456.okta.com/oauth2/default';
  test('an access token with scp as an array and cid is accepted', async () => {
    const verified = await verifierFor({ issuer, audience: 'api://default' }).verify(
      token({ ver: 1, jti: 'AT.x', iss: issuer, aud: 'api://default', cid: '0oa1', uid: '00u1', scp: ['read:messages'], sub: 'alice@example.com' }),
      { scopes: ['read:messages'] },
    );
    expect(verified.subject).toBe('alice@example.com');
  });
});

describe('Microsoft Entra ID', () => {
  const v2 = 'https://login.microsoftonline.com/{tenantid}/v2.0';
  const v2Claims = (tid = TENANT) => ({ aud: ENTRA_APP, iss: `https://login.microsoftonline.com/${tid}/v2.0`, tid, azp: 'client-app', ver: '2.0', oid: 'o-1', sub: 's-1' });

  test('v2, delegated: scp, with the tenant from tid matched against the template', async () => {
    const verifier = verifierFor({ issuer: v2, audience: ENTRA_APP, tenants: [TENANT], scopeClaims: ['scp', 'roles'] });
    await expect(verifier.verify(token({ ...v2Claims(), scp: 'Messages.Read' }, { x5t: 'nOo3', kid: rsa.kid }), { scopes: ['Messages.Read'] })).resolves.toBeDefined();
  });

  test('v2, app-only: roles count as scopes when scopeClaims says so', async () => {
    const verifier = verifierFor({ issuer: v2, audience: ENTRA_APP, tenants: '*', scopeClaims: ['scp', 'roles'] });
    await expect(verifier.verify(token({ ...v2Claims(OTHER_TENANT), roles: ['Messages.ReadAll'] }), { scopes: ['Messages.ReadAll'] })).resolves.toBeDefined();
  });

  test('a tenant not in the list is refused, and so is a tid that is not the tenant of the iss', async () => {
    const verifier = verifierFor({ issuer: v2, audience: ENTRA_APP, tenants: [TENANT] });
    await expect(verifier.verify(token(v2Claims(OTHER_TENANT)))).rejects.toMatchObject({ reason: 'issuer_mismatch' });
    await expect(verifier.verify(token({ ...v2Claims(), tid: OTHER_TENANT }))).rejects.toMatchObject({ reason: 'issuer_mismatch' });
    await expect(verifier.verify(token({ ...v2Claims(), tid: undefined }))).rejects.toMatchObject({ reason: 'issuer_mismatch' });
  });

  test('v1: https://sts.windows.net/{tenantid}/ with scp and roles', async () => {
    const verifier = verifierFor({ issuer: 'https://sts.windows.net/{tenantid}/', audience: 'api://messages', tenants: [TENANT] });
    const v1 = { aud: 'api://messages', iss: `https://sts.windows.net/${TENANT}/`, tid: TENANT, appid: 'client-app', ver: '1.0', scp: 'Messages.Read', sub: 's-1' };
    await expect(verifier.verify(token(v1), { scopes: ['Messages.Read'] })).resolves.toBeDefined();
  });

  test("a template needs to be told which tenants, and '*' needs one key set for all", () => {
    expect(() => createVerifier({ issuer: v2, audience: ENTRA_APP })).toThrow('say which tenants it accepts');
    expect(() => createVerifier({ issuer: v2, audience: ENTRA_APP, tenants: '*' })).toThrow("tenants '*' needs a jwksUri");
  });

  describe('keys by tenant, from each tenant issuer metadata', () => {
    let entra: RouteServer;
    let discovered: string[];
    beforeAll(async () => {
      discovered = [];
      const metadata = (tid: string) => (res: Parameters<Parameters<typeof startRouteServer>[0][string]>[0], origin: string) => {
        discovered.push(tid);
        sendJson(res, { issuer: `${origin}/${tid}/v2.0`, jwks_uri: keys.jwksUri });
      };
      entra = await startRouteServer({
        [`/${TENANT}/v2.0/.well-known/openid-configuration`]: metadata(TENANT),
        [`/${OTHER_TENANT}/v2.0/.well-known/openid-configuration`]: metadata(OTHER_TENANT),
      });
    });
    afterAll(() => entra.close());

    test('a listed tenant is discovered from its own issuer; a made-up one causes no fetch at all', async () => {
      const verifier = createVerifier({ issuer: `${entra.origin}/{tenantid}/v2.0`, audience: ENTRA_APP, tenants: [TENANT] });
      const claims = (tid: string) => ({ aud: ENTRA_APP, iss: `${entra.origin}/${tid}/v2.0`, tid, sub: 's' });
      await expect(verifier.verify(token(claims(TENANT)))).resolves.toBeDefined();
      await expect(verifier.verify(token(claims(OTHER_TENANT)))).rejects.toMatchObject({ reason: 'issuer_mismatch' });
      expect(discovered).toEqual([TENANT]);
      await verifier.ready();
    });
  });
});

describe('Amazon Cognito', () => {
  const issuer = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123';
  const access = () => ({ iss: issuer, sub: 'u-1', client_id: '3n4b5urk1ft4fl3mg5e62d9ado', token_use: 'access', scope: 'read:messages', username: 'alice', jti: 'j' });

  test('an access token has no aud: accepted by its client_id with clientIdAsAudience', async () => {
    await expect(verifierFor({ issuer, audience: '3n4b5urk1ft4fl3mg5e62d9ado', clientIdAsAudience: true }).verify(token(access()), { scopes: ['read:messages'] })).resolves.toBeDefined();
  });

  test('without the option it is refused, and another client id is refused with it', async () => {
    const events: TokenwardEvent[] = [];
    await expect(verifierFor({ issuer, audience: '3n4b5urk1ft4fl3mg5e62d9ado' }).verify(token(access()))).rejects.toMatchObject({ reason: 'audience_mismatch' });
    await rejection(verifierFor({ issuer, audience: 'other-client', clientIdAsAudience: true }, events).verify(token(access())));
    expect(events).toContainEqual(expect.objectContaining({ reason: 'audience_mismatch', detail: { claim: 'client_id', actual: '3n4b5urk1ft4fl3mg5e62d9ado', expected: ['other-client'] } }));
  });

  test('a token with an aud is still judged by its aud, never by client_id', async () => {
    await expect(verifierFor({ issuer, audience: '3n4b5urk1ft4fl3mg5e62d9ado', clientIdAsAudience: true }).verify(token({ ...access(), aud: 'elsewhere' }))).rejects.toMatchObject({ reason: 'audience_mismatch' });
  });
});

describe('Keycloak', () => {
  const issuer = 'https://kc.example.com/realms/demo';
  test("an access token with aud ['account', api], a typ claim and realm roles, under a key set with an encryption key", async () => {
    const events: TokenwardEvent[] = [];
    const verified = await verifierFor({ issuer, audience: API }, events).verify(
      token({ iss: issuer, aud: [API, 'account'], sub: 'f:1', typ: 'Bearer', azp: 'web', scope: 'openid profile read:messages', realm_access: { roles: ['user'] } }),
      { scopes: ['read:messages'] },
    );
    expect(verified.clientId).toBe('web');
    // The encryption key is left out, and said so.
    expect(events).toContainEqual(expect.objectContaining({ type: 'key_ignored', kid: 'enc-key', reason: 'use_not_sig' }));
  });
});

describe('Google', () => {
  test('a Google-issued JWT (an ID token; Google access tokens are opaque) for our client id', async () => {
    const issuer = 'https://accounts.google.com';
    const client = '1234-abc.apps.googleusercontent.com';
    await expect(verifierFor({ issuer, audience: client }).verify(token({ iss: issuer, aud: client, azp: client, sub: '1101', email: 'a@example.com', email_verified: true }))).resolves.toMatchObject({ subject: '1101' });
  });
});

describe('what clients are told, and what developers are told', () => {
  test("'generic': clients see one description per error code; the event keeps the reason and its detail", async () => {
    const events: TokenwardEvent[] = [];
    const issuer = 'https://dev-123456.okta.com/oauth2/default';
    const error = await rejection(verifierFor({ issuer, audience: API, errorDescriptions: 'generic' }, events).verify(token({ iss: issuer, aud: 'api://default', sub: 's' })));
    expect(error.body).toEqual({ error: 'invalid_token', error_description: 'The access token is invalid' });
    expect(error.wwwAuthenticate).toContain('error_description="The access token is invalid"');
    // What the adapters send is body and headers; the reason stays for the app's own logs.
    expect(JSON.stringify({ body: error.body, headers: error.headers })).not.toContain('audience');
    expect(events).toContainEqual(expect.objectContaining({ reason: 'audience_mismatch', detail: { claim: 'aud', actual: 'api://default', expected: [API] } }));
  });

  test('an unknown kid reports the kid and the kids that can verify (the encryption key is not one)', async () => {
    const events: TokenwardEvent[] = [];
    const issuer = 'https://accounts.google.com';
    await rejection(verifierFor({ issuer, audience: 'c', jwks: { cooldown: 0 } }, events).verify(token({ iss: issuer, aud: 'c', sub: 's' }, { kid: 'rotated-away' })));
    expect(events).toContainEqual(expect.objectContaining({ reason: 'unknown_kid', detail: expect.objectContaining({ kid: 'rotated-away', expected: [rsa.kid] }) }));
  });
});
