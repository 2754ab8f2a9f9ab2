/**
 * Certificate-bound tokens (RFC 8705 §3) through every adapter, over real TLS: each app serves
 * HTTPS with `requestCert`, clients present certificates from a CA made for the test (openssl),
 * and a token whose `cnf["x5t#S256"]` names one certificate is accepted only over a connection
 * that presented it. A certificate forwarded by a TLS-terminating proxy (RFC 9440 Client-Cert)
 * counts only when the verifier is told to read that header. The answers must be identical.
 */
import { request as httpsRequest } from 'node:https';
import { ADAPTERS, loadApp, type SuiteApp } from './app-factory';
import { makePki, type ClientCertificate, type TestPki } from '../support/certs';
import { expectedError } from '../support/challenges';
import { dpopClient, proof, type DpopClient } from '../support/dpop';
import { serveOneKey } from '../support/jwks-server';
import { rawRequest } from '../support/raw-http';
import { mint } from '../support/tokens';

const audience = 'https://api.example.com';
const jwks = serveOneKey('ES256', 'k1');
let pki: TestPki;
let alice: ClientCertificate;
let bob: ClientCertificate;
let dpopKey: DpopClient;
beforeAll(async () => {
  pki = makePki();
  alice = pki.client('alice');
  bob = pki.client('bob');
  dpopKey = await dpopClient();
});

const token = (cnf?: Record<string, unknown>) => mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims: cnf === undefined ? {} : { cnf } });

interface Answer {
  status: number;
  challenge: string | undefined;
  body: unknown;
}

/** A GET over TLS, trusting the test CA, presenting `certificate` if given. */
function tlsGet(base: string, path: string, headers: Record<string, string>, certificate?: ClientCertificate): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${base}${path}`, { headers, ca: pki.ca.cert, cert: certificate?.cert, key: certificate?.key, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'], body: JSON.parse(body) as unknown }));
    });
    req.on('error', reject);
    req.end();
  });
}

const answers = new Map<string, Map<string, Answer>>();

describe.each(ADAPTERS)('the %s adapter', (adapter) => {
  let tls: SuiteApp;
  let behindProxy: SuiteApp;
  let plain: SuiteApp;
  const seen = new Map<string, Answer>();

  beforeAll(async () => {
    const createApp = await loadApp(adapter);
    // The TLS server asks for a client certificate and lets the binding, not the chain, decide.
    tls = await createApp({ issuer: jwks.server.issuer, audience }, { https: { key: pki.server.key, cert: pki.server.cert, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: false } });
    behindProxy = await createApp({ issuer: jwks.server.issuer, audience, mtls: { certificateHeader: 'Client-Cert' } });
    plain = await createApp({ issuer: jwks.server.issuer, audience });
    answers.set(adapter, seen);
  });
  afterAll(async () => {
    await Promise.all([tls.close(), behindProxy.close(), plain.close()]);
  });

  async function check(name: string, answer: Answer | Promise<Answer>, expected: { status: number; reason?: Parameters<typeof expectedError>[0]; scheme?: 'DPoP'; body?: unknown }): Promise<void> {
    const got = await answer;
    seen.set(name, got);
    expect(got.status).toBe(expected.status);
    if (expected.reason !== undefined) {
      const error = expectedError(expected.reason, { scheme: expected.scheme });
      expect(got.challenge).toBe(error.wwwAuthenticate);
      expect(got.body).toEqual(error.body);
    } else {
      expect(got.body).toEqual(expected.body);
    }
  }

  test('a token bound to the certificate the connection presented is accepted, and says so', async () => {
    const bound = token({ 'x5t#S256': alice.x5tS256 });
    await check('bound, right certificate', tlsGet(tls.baseUrl, '/binding', { authorization: `Bearer ${bound}` }, alice), { status: 200, body: { binding: { x5tS256: alice.x5tS256 } } });
  });

  test('another certificate is mtls_certificate_mismatch', async () => {
    const bound = token({ 'x5t#S256': alice.x5tS256 });
    await check('bound, other certificate', tlsGet(tls.baseUrl, '/me', { authorization: `Bearer ${bound}` }, bob), { status: 401, reason: 'mtls_certificate_mismatch' });
  });

  test('no certificate is mtls_certificate_missing', async () => {
    const bound = token({ 'x5t#S256': alice.x5tS256 });
    await check('bound, no certificate', tlsGet(tls.baseUrl, '/me', { authorization: `Bearer ${bound}` }), { status: 401, reason: 'mtls_certificate_missing' });
    await check('bound, plain http', rawRequest(plain.baseUrl, '/me', [['Authorization', `Bearer ${bound}`]]).then((r) => ({ status: r.status, challenge: r.headers['www-authenticate'], body: JSON.parse(r.body) })), {
      status: 401,
      reason: 'mtls_certificate_missing',
    });
  });

  test('an unbound token over mutual TLS is a bearer token', async () => {
    await check('unbound, certificate', tlsGet(tls.baseUrl, '/binding', { authorization: `Bearer ${token()}` }, alice), { status: 200, body: { binding: null } });
  });

  test('a token bound both to a DPoP key and a certificate needs both proofs', async () => {
    const bound = token({ jkt: dpopKey.jkt, 'x5t#S256': alice.x5tS256 });
    const headers = async () => ({ authorization: `DPoP ${bound}`, dpop: await proof(dpopKey, { method: 'GET', url: `${tls.baseUrl}/binding`, accessToken: bound }) });
    await check('both, both proven', tlsGet(tls.baseUrl, '/binding', await headers(), alice), { status: 200, body: { binding: { jkt: dpopKey.jkt, x5tS256: alice.x5tS256 } } });
    await check('both, no certificate', tlsGet(tls.baseUrl, '/binding', await headers()), { status: 401, reason: 'mtls_certificate_missing', scheme: 'DPoP' });
  });

  test('behind a TLS-terminating proxy, the Client-Cert header counts only where configured', async () => {
    const bound = token({ 'x5t#S256': alice.x5tS256 });
    const viaProxy = (base: string, header: string) =>
      rawRequest(base, '/binding', [['Authorization', `Bearer ${bound}`], ['Client-Cert', header]]).then((r) => ({ status: r.status, challenge: r.headers['www-authenticate'], body: JSON.parse(r.body) }));
    await check('forwarded, configured', viaProxy(behindProxy.baseUrl, alice.header), { status: 200, body: { binding: { x5tS256: alice.x5tS256 } } });
    await check('forwarded, other certificate', viaProxy(behindProxy.baseUrl, bob.header), { status: 401, reason: 'mtls_certificate_mismatch' });
    await check('forwarded, not configured', viaProxy(plain.baseUrl, alice.header), { status: 401, reason: 'mtls_certificate_missing' });
    await check('forwarded, two certificates', viaProxy(behindProxy.baseUrl, `${alice.header}, ${bob.header}`), { status: 401, reason: 'mtls_certificate_missing' });
    await check('forwarded, not a byte sequence', viaProxy(behindProxy.baseUrl, alice.der.toString('base64')), { status: 401, reason: 'mtls_certificate_missing' });
  });
});

describe('all adapters', () => {
  test('answered every case, and identically', () => {
    const [first, ...rest] = ADAPTERS.map((adapter) => answers.get(adapter));
    expect(first?.size).toBe(12);
    for (const other of rest) expect(Object.fromEntries(other ?? [])).toEqual(Object.fromEntries(first ?? []));
  });
});
