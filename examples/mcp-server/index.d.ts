/** Types of the example MCP server (plain JavaScript, see ./index.js), for its TypeScript test. */
import type { AccessToken } from '@tokenward/express';

export declare function authInfoOf(
  token: AccessToken,
  resource: string,
): { token: string; clientId: string; scopes: string[]; expiresAt: number; resource: URL; extra: { subject: string | undefined } };

export declare function start(options: { issuer: string; port?: number; jwksUri?: string; scopes?: string[] }): Promise<{ url: string; close(): Promise<void> }>;
