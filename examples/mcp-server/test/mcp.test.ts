/**
 * The example MCP server driven by the MCP SDK's own client (Streamable HTTP) against tokens of a
 * real JWKS server on 127.0.0.1: a 401 naming the metadata, the metadata found by the SDK's
 * discovery, a tool call with a valid token, and tokens for another audience or without the
 * scope refused before the MCP server sees them.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { discoverOAuthProtectedResourceMetadata } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { serveOneKey } from '../../../test/support/jwks-server';
import { mint } from '../../../test/support/tokens';
import { start } from '../index.js';

const jwks = serveOneKey('ES256', 'k1');
let mcp: { url: string; close(): Promise<void> };
beforeAll(async () => {
  mcp = await start({ issuer: jwks.server.issuer, jwksUri: jwks.server.jwksUri });
});
afterAll(async () => {
  await mcp.close();
});

const token = (claims: Record<string, unknown> = {}, audience = mcp.url) =>
  mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims: { scope: 'mcp:tools', client_id: 'demo', ...claims } });

async function connect(accessToken: string): Promise<Client> {
  const client = new Client({ name: 'test', version: '0.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(mcp.url), { requestInit: { headers: { Authorization: `Bearer ${accessToken}` } } }));
  return client;
}

test('without a token: a 401 whose challenge names the metadata, which the SDK’s discovery reads', async () => {
  const res = await fetch(mcp.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(res.status).toBe(401);
  const metadataUrl = new URL('/.well-known/oauth-protected-resource/mcp', mcp.url).href;
  expect(res.headers.get('www-authenticate')).toContain(`resource_metadata="${metadataUrl}"`);
  const metadata = await discoverOAuthProtectedResourceMetadata(mcp.url);
  expect(metadata).toMatchObject({ resource: mcp.url, authorization_servers: [jwks.server.issuer], scopes_supported: ['mcp:tools'], bearer_methods_supported: ['header'] });
});

test('with a valid token: the SDK client connects, lists and calls the tool, which sees the caller', async () => {
  const client = await connect(token());
  try {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toEqual(['whoami']);
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    expect(result.content).toEqual([{ type: 'text', text: 'user-42 (client demo) with scopes: mcp:tools' }]);
  } finally {
    await client.close();
  }
});

test('a token for another audience (RFC 8707: not issued for this server) is refused; so is one without the scope', async () => {
  // The SDK's StreamableHTTPError carries the HTTP status as its code.
  await expect(connect(token({}, 'https://other.example.com/mcp'))).rejects.toMatchObject({ code: 401, message: expect.stringContaining('Token audience not accepted') });
  const wrongAudience = await fetch(mcp.url, { method: 'POST', headers: { authorization: `Bearer ${token({}, 'https://other.example.com/mcp')}`, 'content-type': 'application/json' }, body: '{}' });
  expect(wrongAudience.status).toBe(401);
  expect(wrongAudience.headers.get('www-authenticate')).toMatch(/error="invalid_token", error_description="Token audience not accepted"/);
  const noScope = await fetch(mcp.url, { method: 'POST', headers: { authorization: `Bearer ${token({ scope: 'profile' })}`, 'content-type': 'application/json' }, body: '{}' });
  expect(noScope.status).toBe(403);
  expect(noScope.headers.get('www-authenticate')).toContain('scope="mcp:tools"');
  await expect(connect(token({ scope: 'profile' }))).rejects.toMatchObject({ code: 403 });
});
