/**
 * Fail fast: a misconfiguration is a TypeError when the verifier is made, naming the option and
 * the value, and `ready()` finds out at startup what only the network can tell (an issuer that
 * is down, metadata that names another issuer, a key set with no usable key), with a
 * TokenwardSetupError that says which. Real servers on 127.0.0.1.
 */
import { createVerifier, TokenwardSetupError, type VerifierOptions } from '@tokenward/core';
import { closedPort, sendJson, startRouteServer } from '../../../test/support/http-routes';
import { serveOneKey } from '../../../test/support/jwks-server';

const audience = 'https://api.example.com';
const jwks = serveOneKey('ES256', 'k1');
const make = (options: Partial<VerifierOptions>) => () => createVerifier({ issuer: jwks.server.issuer, audience, ...options } as VerifierOptions);

describe('options are checked when the verifier is made', () => {
  test.each([
    ['no options at all', undefined, 'options are required'],
    ['an issuer that is not a URL, with no jwksUri', { issuer: 'my-auth-server' }, 'issuer "my-auth-server" must be an absolute https URL, got "my-auth-server" (its metadata is read from it'],
    ['a remote http issuer', { issuer: 'http://auth.example.com' }, 'issuer "http://auth.example.com" uses http to auth.example.com'],
    ['a relative jwksUri', { jwksUri: '/jwks.json' }, 'must be an absolute https URL, got "/jwks.json"'],
    ['a remote http jwksUri', { jwksUri: 'http://keys.example.com/jwks' }, 'uses http to keys.example.com'],
    ['a jwksUri for an issuer that is not configured', { jwksUri: { 'https://typo.example.com': 'https://keys.example.com' } }, 'jwksUri names "https://typo.example.com", which is not a configured issuer'],
    ['an audience that is a number', { audience: 42 as never }, 'audience is required (a non-empty string or list of strings)'],
    ['an empty audience list', { audience: [] }, 'audience is required'],
    ['a timeout that is not a number', { jwks: { timeout: '5s' as never } }, 'jwks.timeout must be a positive integer, got "5s"'],
    ['a negative cooldown', { jwks: { cooldown: -1 } }, 'jwks.cooldown must be a whole number of milliseconds, got -1'],
    ['an unknown unknownKidInCooldown', { jwks: { unknownKidInCooldown: 'later' as never } }, "jwks.unknownKidInCooldown must be 'retry-later' or 'reject', got \"later\""],
    ['a token cache of 0', { tokenCache: { max: 0 } }, 'tokenCache.max must be a positive integer, got 0'],
    ['a fractional maxTokenBytes', { maxTokenBytes: 10.5 }, 'maxTokenBytes must be a positive integer, got 10.5'],
    ['a realm with a line break', { realm: 'api\r\nX-Injected: 1' }, 'realm must be a string without control characters'],
    ['an unknown errorDescriptions', { errorDescriptions: 'none' as never }, "errorDescriptions must be 'specific' or 'generic'"],
  ])('%s is a TypeError naming it', (_name, options, message) => {
    const construct = options === undefined ? () => createVerifier(undefined as never) : make(options as Partial<VerifierOptions>);
    expect(construct).toThrow(TypeError);
    expect(construct).toThrow(message);
  });

  test('an issuer that is not a URL is fine with its own jwksUri (no discovery needed)', () => {
    expect(make({ issuer: 'my-auth-server', jwksUri: jwks.server.jwksUri })).not.toThrow();
  });

  test('http to a remote host is allowed when said so', () => {
    expect(make({ issuer: 'http://auth.example.com', jwks: { allowInsecureHttp: true } })).not.toThrow();
  });
});

describe('ready() tells at startup what only the network can', () => {
  test('resolves once the metadata and keys are loaded; the first request then needs no fetch', async () => {
    const verifier = createVerifier({ issuer: jwks.server.issuer, audience });
    const before = jwks.server.jwksRequests;
    await verifier.ready();
    expect(jwks.server.jwksRequests).toBe(before + 1);
  });

  test('an issuer that is down: a TokenwardSetupError naming the issuer and the failure', async () => {
    const port = await closedPort();
    const issuer = `http://127.0.0.1:${port}`;
    const error = await createVerifier({ issuer, audience, jwks: { timeout: 2000 } })
      .ready()
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(TokenwardSetupError);
    expect(error).toMatchObject({ failure: 'network', issuer });
    expect((error as Error).message).toContain(`tokenward: no keys for issuer ${issuer}`);
  });

  test('metadata naming another issuer: both values in the message, with the trailing-slash hint', async () => {
    const server = await startRouteServer({ '/.well-known/openid-configuration': (res, origin) => sendJson(res, { issuer: `${origin}/`, jwks_uri: `${origin}/jwks` }) });
    try {
      const error = (await createVerifier({ issuer: server.origin, audience }).ready().catch((e: unknown) => e)) as TokenwardSetupError;
      expect(error.failure).toBe('metadata_invalid');
      expect(error.message).toContain(`names the issuer "${server.origin}/", not the configured "${server.origin}"`);
      expect(error.message).toContain('differ only in a trailing slash');
    } finally {
      await server.close();
    }
  });

  test('a key set with no key that can verify: jwks_empty', async () => {
    const server = await startRouteServer({ '/jwks': (res) => sendJson(res, { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }) });
    try {
      const error = (await createVerifier({ issuer: server.origin, audience, jwksUri: `${server.origin}/jwks` }).ready().catch((e: unknown) => e)) as TokenwardSetupError;
      expect(error).toMatchObject({ failure: 'jwks_empty' });
      expect(error.message).toContain('publishes no key that can verify tokens');
    } finally {
      await server.close();
    }
  });

  test('an HTTP error from the key server: http_status, with the status in the message', async () => {
    const server = await startRouteServer({ '/jwks': (res) => res.writeHead(404).end() });
    try {
      const error = (await createVerifier({ issuer: server.origin, audience, jwksUri: `${server.origin}/jwks` }).ready().catch((e: unknown) => e)) as TokenwardSetupError;
      expect(error).toMatchObject({ failure: 'http_status' });
      expect(error.message).toContain('answered HTTP 404');
    } finally {
      await server.close();
    }
  });
});
