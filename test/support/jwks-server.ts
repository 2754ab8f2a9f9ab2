/**
 * A real JWKS and metadata server on 127.0.0.1 whose behaviour tests can change while it runs:
 * serve keys, fail, hang, send HTML or an oversized body, redirect. It counts JWKS requests.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { makeKey, type TestKey } from './keys';

export type JwksMode = 'ok' | 'error' | 'hang' | 'html' | 'huge' | 'redirect' | 'reset';

export interface JwksServer {
  /** The issuer this server stands for (`http://127.0.0.1:PORT`). */
  issuer: string;
  jwksUri: string;
  /** Replaces the published keys. */
  setKeys(keys: readonly JWK[] | Record<string, unknown>): void;
  setMode(mode: JwksMode): void;
  /** JWKS requests received so far. */
  readonly jwksRequests: number;
  /** Of those, the ones answered by dropping the connection (mode 'reset'). */
  readonly resetRequests: number;
  /** Metadata requests received so far. */
  readonly metadataRequests: number;
  close(): Promise<void>;
}

export async function startJwksServer(initialKeys: readonly JWK[] = [], options: { path?: string } = {}): Promise<JwksServer> {
  let body: unknown = { keys: initialKeys };
  let mode: JwksMode = 'ok';
  let jwksRequests = 0;
  let resetRequests = 0;
  let metadataRequests = 0;
  const jwksPath = options.path ?? '/jwks.json';
  const hanging = new Set<ServerResponse>();
  let issuer = '';

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/.well-known/openid-configuration') {
      metadataRequests++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}${jwksPath}` }));
      return;
    }
    if (req.url !== jwksPath) {
      res.writeHead(404).end();
      return;
    }
    jwksRequests++;
    switch (mode) {
      case 'ok':
        res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
        res.end(JSON.stringify(body));
        return;
      case 'error':
        res.writeHead(500, { 'content-type': 'text/plain' }).end('down');
        return;
      case 'hang':
        hanging.add(res);
        res.on('close', () => hanging.delete(res));
        return;
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Maintenance</body></html>');
        return;
      case 'huge': {
        // 30 MB streamed without a content-length, as a hostile or broken server might.
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        let sent = 0;
        const pump = (): void => {
          while (sent < 30) {
            sent++;
            if (!res.write(chunk)) {
              res.once('drain', pump);
              return;
            }
          }
          res.end();
        };
        res.on('error', () => undefined);
        pump();
        return;
      }
      case 'redirect':
        res.writeHead(302, { location: `${issuer}/elsewhere.json` }).end();
        return;
      case 'reset':
        resetRequests++;
        req.socket.destroy();
        return;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    jwksUri: `${issuer}${jwksPath}`,
    setKeys(keys) {
      body = Array.isArray(keys) ? { keys } : keys;
    },
    setMode(next) {
      mode = next;
    },
    get jwksRequests() {
      return jwksRequests;
    },
    get resetRequests() {
      return resetRequests;
    },
    get metadataRequests() {
      return metadataRequests;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * A JWKS server for the whole test file, publishing fresh keys: one per entry of `algs`, whose
 * name is the key's kid (`{ rs: 'RS256', es: 'ES256' }`), or the JWKs `publish` picks. The keys
 * are made at once, so a file may destructure them (`const { rs, es } = jwks.keys`); `server`
 * starts in beforeAll and closes in afterAll.
 */
export function serveKeys<Kid extends string>(
  algs: Record<Kid, string>,
  publish: (keys: Record<Kid, TestKey>) => JWK[] = (keys) => Object.values<TestKey>(keys).map((key) => key.jwk),
): { readonly keys: Record<Kid, TestKey>; readonly server: JwksServer } {
  const keys = Object.fromEntries(Object.entries<string>(algs).map(([kid, alg]) => [kid, makeKey(alg, kid)])) as Record<Kid, TestKey>;
  const fixture = { keys } as { keys: Record<Kid, TestKey>; server: JwksServer };
  beforeAll(async () => {
    fixture.server = await startJwksServer(publish(keys));
  });
  afterAll(async () => {
    await fixture.server.close();
  });
  return fixture;
}

/**
 * A JWKS server publishing one fresh key for the whole test file (serveKeys with one key): `key`
 * is made at once, `server` starts in beforeAll and closes in afterAll.
 */
export function serveOneKey(alg = 'ES256', kid = 'k1'): { readonly key: TestKey; readonly server: JwksServer } {
  const fixture = serveKeys({ [kid]: alg });
  return {
    key: fixture.keys[kid] as TestKey,
    get server() {
      return fixture.server;
    },
  };
}
