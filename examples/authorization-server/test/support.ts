/** Starting the example authorization server on a temporary data file, and talking OAuth to it. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAuthorizationServer, type AuthorizationServer, type AuthorizationServerOptions } from '../src/index.js';

export const ADMIN_TOKEN = 'test-admin-token';
export const WEB = { id: 'demo-web', secret: 'demo-web-secret' };
export const CLI = { id: 'demo-cli' };
export const JOB = { id: 'reporting-job', secret: 'reporting-job-secret' };
export const REDIRECT_URI = 'http://127.0.0.1/callback';

export interface Harness {
  server: AuthorizationServer;
  dataFile: string;
  /** The clock the server reads (milliseconds); tests move it with `advance`. */
  now: () => number;
  advance(seconds: number): void;
  /** Stops the server and starts a new one on the same data file (and port). */
  restart(): Promise<AuthorizationServer>;
  close(): Promise<void>;
}

const harnesses: Harness[] = [];
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
});

/** A server on 127.0.0.1 with a fresh data file, closed after the test. */
export async function startServer(options: Partial<AuthorizationServerOptions> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'tokenward-as-'));
  const dataFile = join(dir, 'state.json');
  let offset = 0;
  const now = () => Date.now() + offset;
  const settings = { dataFile, adminToken: ADMIN_TOKEN, clock: now, ...options };
  let server = await startAuthorizationServer(settings);
  const harness: Harness = {
    get server() {
      return server;
    },
    dataFile,
    now,
    advance(seconds) {
      offset += seconds * 1000;
    },
    async restart() {
      const { port } = new URL(server.url);
      await server.close();
      // Let fetch's connection pool see the old sockets close before a request reuses one.
      await new Promise((resolve) => setTimeout(resolve, 20));
      server = await startAuthorizationServer({ ...settings, port: Number(port) });
      return server;
    },
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  harnesses.push(harness);
  return harness;
}

export interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export async function post(url: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
    redirect: 'manual',
  });
  return answer(response);
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return answer(await fetch(url, { headers, redirect: 'manual' }));
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text);
  return { status: response.status, headers: response.headers, body };
}

export function basic(id: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}

/** A token request as `client`: Basic authentication for confidential clients, client_id for public ones. */
export function token(server: AuthorizationServer, client: { id: string; secret?: string }, params: Record<string, string>): Promise<Answer> {
  if (client.secret === undefined) return post(`${server.url}/token`, { client_id: client.id, ...params });
  return post(`${server.url}/token`, params, { authorization: basic(client.id, client.secret) });
}

export function revoke(server: AuthorizationServer, client: { id: string; secret?: string }, params: Record<string, string>): Promise<Answer> {
  if (client.secret === undefined) return post(`${server.url}/revoke`, { client_id: client.id, ...params });
  return post(`${server.url}/revoke`, params, { authorization: basic(client.id, client.secret) });
}

/** alice's password grant with offline_access: an access token and a refresh token. */
export async function login(server: AuthorizationServer, client: { id: string; secret?: string } = CLI, scope = 'read:messages offline_access') {
  const answer = await token(server, client, { grant_type: 'password', username: 'alice', password: 'alice-password', scope });
  if (answer.status !== 200) throw new Error(`login failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body as { access_token: string; refresh_token: string; scope: string; expires_in: number; token_type: string };
}

export function refresh(server: AuthorizationServer, client: { id: string; secret?: string }, refreshToken: string, extra: Record<string, string> = {}) {
  return token(server, client, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra });
}

export function decodeJwt(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header = '', payload = ''] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(header, 'base64url').toString()), payload: JSON.parse(Buffer.from(payload, 'base64url').toString()) };
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Runs the authorization endpoint as a browser would (the login form posted), returns the redirect. */
export async function authorize(server: AuthorizationServer, params: Record<string, string>, credentials = { username: 'alice', password: 'alice-password' }) {
  const request = { response_type: 'code', redirect_uri: REDIRECT_URI, code_challenge_method: 'S256', state: 'xyz', ...params };
  const answer = await post(`${server.url}/authorize`, { ...request, ...credentials });
  const location = answer.headers.get('location');
  return { answer, location: location === null ? undefined : new URL(location) };
}

export function admin(server: AuthorizationServer, method: string, path: string): Promise<Answer> {
  return fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then(answer);
}
