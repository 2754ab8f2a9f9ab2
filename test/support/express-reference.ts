/**
 * The Express adapter as the reference answer: other adapters' rejections are compared with it
 * byte for byte (status, body and the headers below). One Express app serves `/me` and `/admin`
 * (scope `admin`) against a working key source and `/outage/me` against one that is down.
 */
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requireScopes, tokenward } from '@tokenward/express';
import type { RawResponse } from './raw-http';

/** The response headers a rejection is compared on. */
export const COMPARED_HEADERS = ['www-authenticate', 'retry-after', 'cache-control', 'content-type', 'content-length'] as const;

export interface ReferenceApp {
  base: string;
  close(): Promise<void>;
}

export async function startExpressReference(options: { issuer: string; outageIssuer: string; audience: string }): Promise<ReferenceApp> {
  const { issuer, outageIssuer, audience } = options;
  const app = express();
  const empty = (_req: express.Request, res: express.Response) => {
    res.json({});
  };
  app.get('/outage/me', tokenward({ issuer: outageIssuer, audience }), empty);
  app.use(tokenward({ issuer, audience }));
  app.get('/me', empty);
  app.get('/admin', requireScopes('admin'), empty);
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

type Headers = Array<[string, string]>;

/**
 * The rejections compared: name, path on the reference app, request headers. `good()` mints a
 * valid token for the working issuer (claims override), `outage()` one for the issuer that is down.
 */
export function rejectionCases(good: (claims?: Record<string, unknown>) => string, outage: () => string): Array<[string, string, () => Headers]> {
  const auth = (value: string): [string, string] => ['Authorization', value];
  return [
    ['no credentials', '/me', () => []],
    ['another scheme', '/me', () => [auth('Basic dXNlcjpwYXNz')]],
    ['a malformed header', '/me', () => [auth('Bearer abc$def')]],
    ['two Authorization headers', '/me', () => [auth(`Bearer ${good()}`), auth(`Bearer ${good()}`)]],
    ['an expired token', '/me', () => [auth(`Bearer ${good({ exp: 1000, iat: 900 })}`)]],
    ['another audience', '/me', () => [auth(`Bearer ${good({ aud: 'https://other.example.com' })}`)]],
    ['a missing scope', '/admin', () => [auth(`Bearer ${good()}`)]],
    ['a key source that is down', '/outage/me', () => [auth(`Bearer ${outage()}`)]],
  ];
}

/** What two adapters must agree on. */
export function comparable(response: RawResponse): { status: number; body: string; headers: Record<string, string | undefined> } {
  return { status: response.status, body: response.body, headers: Object.fromEntries(COMPARED_HEADERS.map((h) => [h, response.headers[h]])) };
}
