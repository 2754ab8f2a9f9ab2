/**
 * A real RFC 7662 introspection endpoint on 127.0.0.1 whose answers a test controls: the issuer's
 * metadata (with `introspection_endpoint`), its JWKS, and POST /introspect, which checks the
 * client's credentials (client_secret_basic or client_secret_post) and answers the tokens it
 * knows as active, any other as inactive; or, when told, fails in the ways a server does: an
 * error status, a hang, a dropped connection, a huge or non-JSON body, a wrong content type, or
 * whatever `reply` returns. With `signWith`, a client that asks for it (RFC 9701 Accept) gets the
 * answer as a signed token-introspection+jwt. Every call is recorded.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestKey } from './keys';
import { json, signInput } from './tokens';

export const INTROSPECTING_CLIENT = { clientId: 'api-client', clientSecret: 'se:cr et+/%' } as const;

export interface IntrospectionCall {
  readonly headers: IncomingHttpHeaders;
  readonly form: URLSearchParams;
}

export type Reply =
  | { status?: number; contentType?: string; body: string | Record<string, unknown> }
  | 'hang'
  | 'reset';

export interface IntrospectionServer {
  issuer: string;
  endpoint: string;
  jwksUri: string;
  /** Active tokens: token -> the answer's members beside `active: true`. */
  readonly tokens: Map<string, Record<string, unknown>>;
  /** Replaces the default answer (credentials checked, then the known tokens); undefined restores it. */
  reply: ((call: IntrospectionCall) => Reply) | undefined;
  /** Milliseconds every answer waits. */
  delay: number;
  /** Metadata members beside `issuer` and `jwks_uri`; default `{ introspection_endpoint }`. */
  metadata: Record<string, unknown> | undefined;
  /** RFC 9701: sign answers with this key when the client asks for a JWT; `aud` is the caller's client id. */
  signWith: TestKey | undefined;
  /** The public keys the JWKS publishes. */
  publish(keys: TestKey[]): void;
  readonly calls: IntrospectionCall[];
  close(): Promise<void>;
}

/** The members of an active answer for `audience` from `issuer`, valid for five minutes. */
export function activeAnswer(issuer: string, audience: string, members: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return { iss: issuer, aud: audience, sub: 'user-42', client_id: 'web-app', token_type: 'Bearer', scope: 'read:messages', iat, exp: iat + 300, ...members };
}

export async function startIntrospectionServer(): Promise<IntrospectionServer> {
  const hanging = new Set<ServerResponse>();
  let published: TestKey[] = [];
  const state = {
    tokens: new Map<string, Record<string, unknown>>(),
    reply: undefined as ((call: IntrospectionCall) => Reply) | undefined,
    delay: 0,
    metadata: undefined as Record<string, unknown> | undefined,
    signWith: undefined as TestKey | undefined,
    calls: [] as IntrospectionCall[],
  };
  let issuer = '';

  const standardReply = (call: IntrospectionCall): Reply => {
    const { clientId, clientSecret } = INTROSPECTING_CLIENT;
    const basic = call.headers.authorization;
    const fromBasic = basic?.startsWith('Basic ') === true ? Buffer.from(basic.slice(6), 'base64').toString() : undefined;
    const [id, secret] = fromBasic === undefined ? [call.form.get('client_id'), call.form.get('client_secret')] : fromBasic.split(':').map((part) => decodeURIComponent(part.replace(/\+/g, ' ')));
    if (id !== clientId || secret !== clientSecret) return { status: 401, body: { error: 'invalid_client' } };
    const members = state.tokens.get(call.form.get('token') ?? '');
    const answer = members === undefined ? { active: false } : { active: true, ...members };
    const signer = state.signWith;
    if (signer === undefined || !/application\/token-introspection\+jwt/.test(String(call.headers.accept))) return { body: answer };
    const header = { alg: signer.alg, kid: signer.kid, typ: 'token-introspection+jwt' };
    const input = `${json(header)}.${json({ iss: issuer, aud: clientId, iat: Math.floor(Date.now() / 1000), token_introspection: answer })}`;
    return { contentType: 'application/token-introspection+jwt', body: `${input}.${signInput(signer.alg, signer.privateKey, input)}` };
  };

  const send = (res: ServerResponse, reply: Reply): void => {
    if (reply === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (reply === 'reset') {
      res.socket?.destroy();
      return;
    }
    const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'application/json', 'cache-control': 'no-store' }).end(body);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url === '/.well-known/openid-configuration') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, ...(state.metadata ?? { introspection_endpoint: `${issuer}/introspect` }) }));
      return;
    }
    if (req.url === '/jwks') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published.map((key) => key.jwk) }));
      return;
    }
    if (req.url !== '/introspect' || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const call = { headers: req.headers, form: new URLSearchParams(Buffer.concat(chunks).toString()) };
      state.calls.push(call);
      const reply = (state.reply ?? standardReply)(call);
      if (state.delay > 0) setTimeout(() => send(res, reply), state.delay);
      else send(res, reply);
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return Object.assign(state, {
    issuer,
    endpoint: `${issuer}/introspect`,
    jwksUri: `${issuer}/jwks`,
    publish(keys: TestKey[]) {
      published = keys;
    },
    async close() {
      for (const res of hanging) res.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  });
}
