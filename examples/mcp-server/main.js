/** node examples/mcp-server/main.js, with ISSUER (and optionally PORT, JWKS_URI) in the environment. */
import { start } from './index.js';

const { ISSUER, PORT = '3005', JWKS_URI } = process.env;
if (ISSUER === undefined) throw new Error('set ISSUER');
const mcp = await start({ issuer: ISSUER, port: Number(PORT), jwksUri: JWKS_URI });
console.log(`MCP server on ${mcp.url} (tokens must have aud ${mcp.url})`);
process.once('SIGINT', () => void mcp.close());
process.once('SIGTERM', () => void mcp.close());
