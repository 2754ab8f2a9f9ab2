/**
 * An MCP server (Model Context Protocol, Streamable HTTP transport of @modelcontextprotocol/sdk)
 * protected by @tokenward/express, as the MCP authorization spec asks of a server:
 *
 *   POST /mcp                                        any valid token whose aud is this server's URL (RFC 8707)
 *   GET  /.well-known/oauth-protected-resource/mcp  RFC 9728 metadata: which authorization server to ask
 *
 * Every 401 names the metadata (`resource_metadata` in the challenge), so an MCP client finds the
 * authorization server from the 401 alone. tokenward decides everything about the token (one
 * rule, one place: the SDK's own bearer middleware is not used); the SDK gets the caller in its
 * own shape (AuthInfo) for its tool handlers.
 *
 *   tool whoami   → "user-42 (client demo) with scopes: mcp:tools"
 */
import { createServer } from 'node:http';
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createVerifier, requireScopes, tokenward } from '@tokenward/express';

/**
 * The SDK's AuthInfo for a token tokenward verified: the same token, client, scopes (a list here)
 * and expiry, and the resource it was issued for.
 * @param {import('@tokenward/express').AccessToken} token
 * @param {string} resource
 */
export function authInfoOf(token, resource) {
  return { token: token.token, clientId: token.clientId ?? '', scopes: [...token.scopes], expiresAt: token.expiresAt, resource: new URL(resource), extra: { subject: token.subject } };
}

function mcpServer() {
  const server = new McpServer({ name: 'tokenward-example', version: '0.0.0' });
  server.registerTool('whoami', { description: 'Who the access token says you are' }, async (extra) => {
    const auth = extra.authInfo;
    return { content: [{ type: 'text', text: `${String(auth?.extra?.subject)} (client ${auth?.clientId}) with scopes: ${auth?.scopes.join(' ')}` }] };
  });
  return server;
}

/**
 * @param {{ issuer: string, port?: number, jwksUri?: string, scopes?: string[] }} options
 *   the server's URL (`http://127.0.0.1:<port>/mcp`) is its resource identifier and the audience
 */
export async function start({ issuer, port = 0, jwksUri, scopes = ['mcp:tools'] }) {
  const http = createServer();
  await new Promise((resolve) => http.listen(port, '127.0.0.1', () => resolve(undefined)));
  const resource = `http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (http.address()).port}/mcp`;
  const verifier = createVerifier({ issuer, audience: resource, jwksUri, protectedResource: { resource, scopesSupported: scopes, name: 'tokenward example MCP server' } });

  const app = express();
  // Serves the metadata document, and authenticates everything else.
  app.use(tokenward(verifier));
  app.post('/mcp', requireScopes(...scopes), express.json(), async (req, res) => {
    // Stateless: one server and transport per request.
    const server = mcpServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    const auth = /** @type {import('@tokenward/express').AccessToken} */ (req.auth);
    await transport.handleRequest(Object.assign(req, { auth: authInfoOf(auth, resource) }), res, req.body);
  });
  http.on('request', app);
  return {
    url: resource,
    async close() {
      verifier.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(() => resolve(undefined)));
    },
  };
}
