/**
 * A plain HTTP server on 127.0.0.1 whose answers the test writes route by route: metadata at the
 * RFC 8414 location only, a document naming another issuer, a body with a lying length, a server
 * that comes back on the port that was closed. Every request path is recorded in order.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Answers one route; `origin` is `http://127.0.0.1:PORT`. */
export type RouteHandler = (res: ServerResponse, origin: string, req: IncomingMessage) => void;

export interface RouteServer {
  origin: string;
  port: number;
  /** Request paths received so far, in order. */
  readonly requests: readonly string[];
  /** Requests received for `path`. */
  count(path: string): number;
  close(): Promise<void>;
}

/** Starts on `port` (default: any free one); paths without a route answer 404. */
export async function startRouteServer(routes: Record<string, RouteHandler>, options: { port?: number } = {}): Promise<RouteServer> {
  const requests: string[] = [];
  let origin = '';
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push(path);
    res.on('error', () => undefined);
    const route = routes[path];
    if (route === undefined) res.writeHead(404).end();
    else route(res, origin, req);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    port,
    requests,
    count: (path) => requests.filter((p) => p === path).length,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function sendJson(res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
