/**
 * A request written byte for byte on a socket, for what HTTP clients refuse to send: the same
 * header twice, for one. Returns the status, the headers (lower-cased names) and the body.
 * The socket is written, not ended: a half-closed client may see its request dropped, so the
 * server ends the exchange (Connection: close).
 */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** `host` replaces the Host header (default: the base URL's host and port). */
export function rawRequest(baseUrl: string, path: string, headers: Array<[string, string]>, host?: string): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  const head = [`GET ${path} HTTP/1.1`, `Host: ${host ?? `${hostname}:${port}`}`, ...headers.map(([name, value]) => `${name}: ${value}`), 'Connection: close'];
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`${head.join('\r\n')}\r\n\r\n`));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
      const parsed: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        parsed[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = text.slice(split + 4);
      if (/chunked/i.test(parsed['transfer-encoding'] ?? '')) body = unchunk(body);
      resolve({ status: Number(statusLine.split(' ')[1]), headers: parsed, body });
    });
  });
}

function unchunk(body: string): string {
  let out = '';
  let rest = body;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, eol), 16);
    if (!(size > 0)) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 2 + size + 2);
  }
}
