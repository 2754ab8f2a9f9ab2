/**
 * RFC 9728 in core (protected-resource.ts): the metadata document follows the verifier's
 * settings, the well-known path follows the resource identifier (§3.1), and the challenge
 * parameter goes on every challenge (§5.1).
 */
import { createVerifier, type VerifierOptions } from '@tokenward/core';
import { rejection } from '../../../test/support/observe';

const issuer = 'https://auth.example.com';
const audience = 'https://api.example.com';
const make = (options: Partial<VerifierOptions>) => createVerifier({ issuer, audience, ...options });

describe('the document follows the settings', () => {
  test('DPoP required: dpop_bound_access_tokens_required; DPoP off: no DPoP algorithms; query tokens allowed: query', () => {
    const required = make({ dpop: { mode: 'required', algorithms: ['ES256'] }, protectedResource: { resource: audience } }).resourceMetadata;
    expect(required?.document).toMatchObject({ dpop_signing_alg_values_supported: ['ES256'], dpop_bound_access_tokens_required: true });
    const off = make({ dpop: false, allowQueryToken: true, protectedResource: { resource: audience } }).resourceMetadata;
    expect(off?.document).not.toHaveProperty('dpop_signing_alg_values_supported');
    expect(off?.document).not.toHaveProperty('dpop_bound_access_tokens_required');
    expect(off?.document.bearer_methods_supported).toEqual(['header', 'query']);
    // mTLS-bound tokens are advertised only where certificates reach the verifier.
    expect(off?.document).not.toHaveProperty('tls_client_certificate_bound_access_tokens');
    const mtls = make({ mtls: { certificateHeader: 'client-cert' }, protectedResource: { resource: audience } }).resourceMetadata;
    expect(mtls?.document.tls_client_certificate_bound_access_tokens).toBe(true);
  });

  test('authorization servers: the issuers, without templates; a template-only setup must list them', () => {
    const two = make({ issuer: [issuer, 'https://other.example.com'], protectedResource: { resource: audience } }).resourceMetadata;
    expect(two?.document.authorization_servers).toEqual([issuer, 'https://other.example.com']);
    const tenants = { issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', tenants: '*' as const, jwksUri: 'https://login.microsoftonline.com/common/discovery/v2.0/keys' };
    expect(() => make({ ...tenants, protectedResource: { resource: audience } })).toThrow(/authorizationServers/);
    expect(make({ ...tenants, protectedResource: { resource: audience, authorizationServers: ['https://login.microsoftonline.com/common/v2.0'] } }).resourceMetadata?.document.authorization_servers).toEqual([
      'https://login.microsoftonline.com/common/v2.0',
    ]);
  });

  test('the path and URL: inserted between host and path; loopback http allowed', () => {
    expect(make({ protectedResource: { resource: 'https://api.example.com/' } }).resourceMetadata).toMatchObject({ path: '/.well-known/oauth-protected-resource', url: 'https://api.example.com/.well-known/oauth-protected-resource' });
    expect(make({ protectedResource: { resource: 'https://api.example.com:8443/v1/mcp' } }).resourceMetadata).toMatchObject({
      path: '/.well-known/oauth-protected-resource/v1/mcp',
      url: 'https://api.example.com:8443/.well-known/oauth-protected-resource/v1/mcp',
    });
    expect(make({ protectedResource: { resource: 'http://127.0.0.1:3000/mcp' } }).resourceMetadata?.url).toBe('http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp');
  });

  test('answers: GET with the body, HEAD without, other methods 405; no option, no metadata', () => {
    const metadata = make({ protectedResource: { resource: audience } }).resourceMetadata;
    expect(metadata?.answer('GET')).toEqual({ status: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600' }, body: JSON.stringify(metadata?.document) });
    expect(metadata?.answer('HEAD').body).toBeUndefined();
    expect(metadata?.answer('POST')).toEqual({ status: 405, headers: { Allow: 'GET, HEAD' }, body: undefined });
    expect(make({}).resourceMetadata).toBeUndefined();
  });

  test('bad options are TypeErrors', () => {
    expect(() => make({ protectedResource: { resource: audience, scopesSupported: ['two words'] } })).toThrow(TypeError);
    expect(() => make({ protectedResource: { resource: audience, documentation: 'not a url' } })).toThrow(TypeError);
    expect(() => make({ protectedResource: { resource: audience, name: 42 as unknown as string } })).toThrow(TypeError);
  });
});

test('the challenge names the metadata, on every scheme', async () => {
  const verifier = make({ protectedResource: { resource: audience } });
  const error = await rejection(Promise.resolve().then(() => verifier.check({ authorization: undefined })));
  expect(error.headers['WWW-Authenticate']).toMatch(/^Bearer realm="api", resource_metadata="https:\/\/api\.example\.com\/\.well-known\/oauth-protected-resource", DPoP realm="api", algs="[^"]+", resource_metadata="https:\/\/api\.example\.com\/\.well-known\/oauth-protected-resource"$/);
  expect(error.body).toEqual({ error: 'unauthorized', error_description: 'Bearer access token required' });
});
