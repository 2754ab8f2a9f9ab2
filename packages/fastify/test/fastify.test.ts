/**
 * @tokenward/fastify against a real JWKS server and real Fastify apps over HTTP on 127.0.0.1.
 * (app.inject is not used: light-my-request loads an ESM-only dependency that jest does not transform.)
 */
import { request as httpRequest } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { createVerifier, RevocationList, TokenwardError, type Verifier } from '@tokenward/core';
import tokenward, { isTokenwardError, respond, type TokenwardOptions } from '@tokenward/fastify';
import { serveOneKey, startJwksServer, type JwksServer } from '../../../test/support/jwks-server';
import { mint } from '../../../test/support/tokens';
import { rawRequest } from '../../../test/support/raw-http';
import { comparable, rejectionCases, startExpressReference, type ReferenceApp } from '../../../test/support/express-reference';
import { bearer, get } from '../../../test/support/fetch';
import { withDpop } from '../../../test/support/challenges';

const audience = 'https://api.example.com';
const jwks = serveOneKey('RS256', 'k1');

const token = (claims: Record<string, unknown> = {}) => mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims });

// Every app a test starts is closed after it.
const running: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.close()));
});

/** A Fastify app with the plugin registered, routes added by `routes`, listening on loopback. */
async function serve(routes: (app: FastifyInstance) => unknown, options: Partial<TokenwardOptions> = {}): Promise<string> {
  const app = Fastify();
  running.push(app);
  await app.register(tokenward, { issuer: jwks.server.issuer, audience, ...options } as TokenwardOptions);
  // Not awaited blindly: a FastifyInstance returned by app.get() is itself a thenable (ready()).
  const pending = routes(app);
  if (pending instanceof Promise) await pending;
  return app.listen({ port: 0, host: '127.0.0.1' });
}

/** An app built entirely by the test (plugin registration included), listening on loopback. */
async function listen(app: FastifyInstance): Promise<string> {
  running.push(app);
  return app.listen({ port: 0, host: '127.0.0.1' });
}

const whoami = (app: FastifyInstance, path = '/me', config: Record<string, unknown> = {}) =>
  app.get(path, { config }, async (req) => ({ user: req.auth?.subject ?? null }));

describe('a valid token', () => {
  test('reaches a protected route and sets request.auth with subject, scopes, header and claims', async () => {
    const base = await serve((app) => {
      app.get('/me', async (req) => ({ user: req.auth?.subject, scopes: [...(req.auth?.scopes ?? [])].sort(), kid: req.auth?.header?.kid, iss: req.auth?.claims.iss }));
    });
    const res = await get(base, '/me', bearer(token({ scope: 'write:messages read:messages' })));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ user: 'user-42', scopes: ['read:messages', 'write:messages'], kid: 'k1', iss: jwks.server.issuer });
  });

  test('is accepted with a lowercase scheme', async () => {
    const base = await serve((app) => whoami(app));
    expect((await get(base, '/me', { authorization: `bearer ${token()}` })).body).toEqual({ user: 'user-42' });
  });

  test('is accepted again from the verified-token cache', async () => {
    const base = await serve((app) => whoami(app));
    const jwt = token();
    // A token is stored on its second verification: the third request is a cache hit.
    for (let i = 0; i < 2; i++) expect((await get(base, '/me', bearer(jwt))).status).toBe(200);
    expect((await get(base, '/me', bearer(jwt))).body).toEqual({ user: 'user-42' });
  });
});

describe('rejections are answered with RFC 6750 status, challenge and JSON body', () => {
  test('no credentials: 401 with a bare challenge, no-store and a JSON body', async () => {
    const base = await serve((app) => whoami(app));
    const res = await get(base, '/me');
    expect(res.status).toBe(401);
    expect(res.header('www-authenticate')).toBe(withDpop('Bearer realm="api"'));
    expect(res.header('cache-control')).toBe('no-store');
    expect(res.header('content-type')).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual({ error: 'unauthorized', error_description: 'Bearer access token required' });
  });

  test('another scheme (Basic): 401 with a bare challenge', async () => {
    const base = await serve((app) => whoami(app));
    const res = await get(base, '/me', { authorization: 'Basic dXNlcjpwYXNz' });
    expect(res.status).toBe(401);
    expect(res.header('www-authenticate')).toBe(withDpop('Bearer realm="api"'));
  });

  test('an invalid token: 401 invalid_token', async () => {
    const base = await serve((app) => whoami(app));
    const res = await get(base, '/me', bearer(token({ exp: 1000, iat: 900 })));
    expect(res.status).toBe(401);
    expect(res.header('www-authenticate')).toBe(withDpop('Bearer realm="api", error="invalid_token", error_description="Token expired"'));
    expect(res.body).toEqual({ error: 'invalid_token', error_description: 'Token expired' });
  });

  test('a token that is not a JWS at all: 401 invalid_token, nothing of the token echoed', async () => {
    const base = await serve((app) => whoami(app));
    const bad = `${token()}x`;
    const res = await get(base, '/me', bearer(bad));
    expect(res.status).toBe(401);
    const text = JSON.stringify(res.body) + String(res.header('www-authenticate'));
    expect(text).toContain('invalid_token');
    expect(text).not.toContain(bad.slice(0, 20));
    expect(text).not.toMatch(/at |\.ts|\.js|node_modules/);
  });

  test('two Authorization headers sent as two header lines: 400 invalid_request', async () => {
    const base = await serve((app) => {
      app.get('/public', { config: { public: true } }, async (req) => ({ lines: req.raw.rawHeaders.filter((_, i) => i % 2 === 0 && req.raw.rawHeaders[i]?.toLowerCase() === 'authorization').length }));
      whoami(app);
    });
    const twice = (path: string) =>
      new Promise<{ status: number; challenge: string | undefined; body: string }>((resolve, reject) => {
        const req = httpRequest(`${base}${path}`, { agent: false });
        req.setHeader('Authorization', [`Bearer ${token()}`, `Bearer ${token()}`]);
        req.on('error', reject);
        req.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'], body }));
        });
        req.end();
      });
    // The server really receives two header lines.
    expect(JSON.parse((await twice('/public')).body)).toEqual({ lines: 2 });
    const res = await twice('/me');
    expect(res.status).toBe(400);
    expect(res.challenge).toBe(withDpop('Bearer realm="api", error="invalid_request", error_description="More than one bearer token or method used"'));
    expect(JSON.parse(res.body)).toEqual({ error: 'invalid_request', error_description: 'More than one bearer token or method used' });
  });

  test('a custom realm is used in every challenge', async () => {
    const base = await serve((app) => whoami(app), { realm: 'messages' });
    expect((await get(base, '/me')).header('www-authenticate')).toBe(withDpop('Bearer realm="messages"', 'messages'));
  });

  test('a key source that is down at start: 503 with Retry-After and no challenge', async () => {
    const down = await startJwksServer([jwks.key.jwk]);
    down.setMode('error');
    try {
      const base = await serve((app) => whoami(app), { issuer: down.issuer });
      const res = await get(base, '/me', bearer(mint(jwks.key, { issuer: down.issuer, audience })));
      expect(res.status).toBe(503);
      expect(res.header('retry-after')).toBe('30');
      expect(res.header('www-authenticate')).toBeNull();
      expect(res.header('cache-control')).toBe('no-store');
      expect(res.body).toEqual({ error: 'temporarily_unavailable', error_description: 'Signing keys are temporarily unavailable' });
    } finally {
      await down.close();
    }
  });

  test('a route response schema does not reshape the rejection body', async () => {
    const base = await serve((app) => {
      app.get('/me', { schema: { response: { '4xx': { type: 'object', properties: { message: { type: 'string' } } } } } }, async () => ({}));
    });
    expect((await get(base, '/me')).body).toEqual({ error: 'unauthorized', error_description: 'Bearer access token required' });
  });
});

describe('every rejection is byte for byte what the Express adapter sends', () => {
  let down: JwksServer;
  let reference: ReferenceApp;
  let fastify: FastifyInstance;
  let fastifyBase: string;

  beforeAll(async () => {
    down = await startJwksServer([jwks.key.jwk]);
    down.setMode('error');
    reference = await startExpressReference({ issuer: jwks.server.issuer, outageIssuer: down.issuer, audience });
    fastify = Fastify();
    fastify.register(async (outage) => {
      await outage.register(tokenward, { issuer: down.issuer, audience });
      outage.get('/outage/me', async () => ({}));
    });
    fastify.register(async (api) => {
      await api.register(tokenward, { issuer: jwks.server.issuer, audience });
      api.get('/me', async () => ({}));
      api.get('/admin', { config: { scopes: ['admin'] } }, async () => ({}));
    });
    fastifyBase = await fastify.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await fastify.close();
    await reference.close();
    await down.close();
  });

  test.each(rejectionCases(token, () => mint(jwks.key, { issuer: down.issuer, audience })))('%s', async (_name, path, headers) => {
    const sent = headers();
    const fromExpress = await rawRequest(reference.base, path, sent);
    const fromFastify = await rawRequest(fastifyBase, path, sent);
    expect(fromExpress.status).toBeGreaterThanOrEqual(400);
    expect(comparable(fromFastify)).toEqual(comparable(fromExpress));
  });
});

describe('route config', () => {
  test('scopes: every scope is needed, a missing one is a 403 naming them all', async () => {
    const base = await serve((app) => whoami(app, '/both', { scopes: ['read:messages', 'write:messages'] }));
    const res = await get(base, '/both', bearer(token({ scope: 'read:messages' })));
    expect(res.status).toBe(403);
    expect(res.header('www-authenticate')).toBe(
      withDpop('Bearer realm="api", error="insufficient_scope", error_description="Token lacks the required scope", scope="read:messages write:messages"'),
    );
    expect(res.body).toEqual({ error: 'insufficient_scope', error_description: 'Token lacks the required scope' });
    expect((await get(base, '/both', bearer(token({ scope: 'write:messages read:messages' })))).body).toEqual({ user: 'user-42' });
  });

  test('anyScopes: one scope is enough, none is a 403 naming the choices', async () => {
    const base = await serve((app) => whoami(app, '/any', { anyScopes: ['admin', 'read:messages'] }));
    expect((await get(base, '/any', bearer(token({ scope: 'admin' })))).status).toBe(200);
    const res = await get(base, '/any', bearer(token({ scope: 'write:messages' })));
    expect(res.status).toBe(403);
    expect(res.header('www-authenticate')).toContain('scope="admin read:messages"');
  });

  test('public: no token needed, a broken one ignored, request.auth null', async () => {
    const base = await serve((app) => whoami(app, '/health', { public: true }));
    expect((await get(base, '/health')).body).toEqual({ user: null });
    expect((await get(base, '/health', bearer('x.y.z'))).body).toEqual({ user: null });
    expect((await get(base, '/health', bearer(token()))).body).toEqual({ user: null });
  });

  test('optional: no credentials pass with request.auth null, a valid token is seen, a bad one refused', async () => {
    const base = await serve((app) => whoami(app, '/optional', { optional: true }));
    expect((await get(base, '/optional')).body).toEqual({ user: null });
    expect((await get(base, '/optional', bearer(token()))).body).toEqual({ user: 'user-42' });
    const bad = await get(base, '/optional', bearer(token({ exp: 1000, iat: 900 })));
    expect(bad.status).toBe(401);
    expect(bad.header('www-authenticate')).toContain('error="invalid_token"');
  });

  test('optional: false requires credentials even when the plugin does not', async () => {
    const base = await serve((app) => whoami(app, '/strict', { optional: false }), { credentialsRequired: false });
    expect((await get(base, '/strict')).status).toBe(401);
  });

  test('scopes on an optional route still refuse an anonymous request with a 401', async () => {
    const base = await serve((app) => whoami(app, '/odd', { optional: true, scopes: ['read:messages'] }));
    const res = await get(base, '/odd');
    expect(res.status).toBe(401);
    expect(res.header('www-authenticate')).toBe(withDpop('Bearer realm="api"'));
    expect((await get(base, '/odd', bearer(token()))).body).toEqual({ user: 'user-42' });
  });

  test('a route both public and scoped is protected: the scopes win (fails closed, as in Nest)', async () => {
    const base = await serve((app) => whoami(app, '/both', { public: true, scopes: ['admin'] }));
    expect((await get(base, '/both')).status).toBe(401);
    const forbidden = await get(base, '/both', bearer(token()));
    expect(forbidden.status).toBe(403);
    expect(forbidden.header('www-authenticate')).toContain('scope="admin"');
    expect(await get(base, '/both', bearer(token({ scope: 'admin' })))).toMatchObject({ status: 200, body: { user: 'user-42' } });
  });
});

describe('app.requireScopes and app.requireAnyScope', () => {
  test('requireScopes: a missing scope is a 403 naming it; every scope passes', async () => {
    const base = await serve((app) => {
      app.get('/both', { onRequest: app.requireScopes('read:messages', 'write:messages') }, async (req) => ({ user: req.auth?.subject }));
    });
    const res = await get(base, '/both', bearer(token()));
    expect(res.status).toBe(403);
    expect(res.header('www-authenticate')).toContain('scope="read:messages write:messages"');
    expect((await get(base, '/both', bearer(token({ scope: 'read:messages write:messages' })))).status).toBe(200);
  });

  test('requireAnyScope: none is a 403 naming the choices; one passes', async () => {
    const base = await serve((app) => {
      app.get('/any', { onRequest: app.requireAnyScope('admin', 'read:messages') }, async (req) => ({ user: req.auth?.subject }));
    });
    expect((await get(base, '/any', bearer(token()))).status).toBe(200);
    const res = await get(base, '/any', bearer(token({ scope: 'write:messages' })));
    expect(res.status).toBe(403);
    expect(res.header('www-authenticate')).toContain('scope="admin read:messages"');
  });

  test('on an optional route, an anonymous request is a 401, not a 403', async () => {
    const base = await serve((app) => {
      app.get('/x', { config: { optional: true }, onRequest: app.requireScopes('read:messages') }, async () => ({ ok: true }));
    });
    const res = await get(base, '/x');
    expect(res.status).toBe(401);
    expect(res.header('www-authenticate')).toBe(withDpop('Bearer realm="api"'));
  });

  test('on a route the plugin skipped, the guard authenticates the request itself', async () => {
    const base = await serve((app) => {
      app.get('/x', { config: { public: true }, onRequest: app.requireScopes('read:messages') }, async (req) => ({ user: req.auth?.subject }));
    });
    expect((await get(base, '/x')).status).toBe(401);
    expect((await get(base, '/x', bearer('a.b.c'))).status).toBe(401);
    expect((await get(base, '/x', bearer(token()))).body).toEqual({ user: 'user-42' });
  });
});

describe('plugin options', () => {
  test('credentialsRequired: false lets anonymous requests through but still refuses bad tokens', async () => {
    const base = await serve(
      (app) => {
        whoami(app);
        whoami(app, '/messages', { scopes: ['read:messages'] });
      },
      { credentialsRequired: false },
    );
    expect((await get(base, '/me')).body).toEqual({ user: null });
    expect((await get(base, '/me', bearer(token()))).body).toEqual({ user: 'user-42' });
    expect((await get(base, '/me', bearer('a.b.c'))).status).toBe(401);
    // A route that declares scopes never admits an anonymous request.
    expect((await get(base, '/messages')).status).toBe(401);
  });

  test('protectAll: false authenticates only the routes that ask for it', async () => {
    const base = await serve(
      (app) => {
        whoami(app, '/open');
        whoami(app, '/declared', { public: false });
        whoami(app, '/scoped', { scopes: ['read:messages'] });
        app.get('/guarded', { onRequest: app.requireAnyScope('read:messages') }, async (req) => ({ user: req.auth?.subject }));
      },
      { protectAll: false },
    );
    expect((await get(base, '/open', bearer('a.b.c'))).body).toEqual({ user: null });
    for (const path of ['/declared', '/scoped', '/guarded']) {
      expect((await get(base, path)).status).toBe(401);
      expect((await get(base, path, bearer(token()))).body).toEqual({ user: 'user-42' });
    }
  });

  test('registered in an encapsulated scope, the plugin protects that scope only', async () => {
    const app = Fastify();
    whoami(app, '/outside');
    app.register(async (api) => {
      await api.register(tokenward, { issuer: jwks.server.issuer, audience });
      whoami(api, '/inside');
    });
    const base = await listen(app);
    expect((await get(base, '/outside')).body).toEqual({ user: null });
    expect((await get(base, '/inside')).status).toBe(401);
  });

  test('routes declared before the plugin is registered are protected too', async () => {
    const app = Fastify();
    whoami(app, '/early');
    await app.register(tokenward, { issuer: jwks.server.issuer, audience });
    const base = await listen(app);
    expect((await get(base, '/early')).status).toBe(401);
    expect((await get(base, '/early', bearer(token()))).body).toEqual({ user: 'user-42' });
  });

  test('an existing verifier is used as is, revocation list included, and left open at close', async () => {
    const revocation = new RevocationList();
    const verifier: Verifier = createVerifier({ issuer: jwks.server.issuer, audience, revocation });
    const close = jest.spyOn(verifier, 'close');
    const app = Fastify();
    await app.register(tokenward, { verifier });
    whoami(app);
    const base = await listen(app);
    expect(app.tokenward).toBe(verifier);
    const jwt = token();
    expect((await get(base, '/me', bearer(jwt))).status).toBe(200);
    revocation.revokeSubject('user-42', { before: Math.floor(Date.now() / 1000) + 1 });
    const res = await get(base, '/me', bearer(jwt));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_token', error_description: 'Token revoked' });
    await app.close();
    expect(close).not.toHaveBeenCalled();
  });

  test('a verifier the plugin created is closed with the app', async () => {
    const app = Fastify();
    await app.register(tokenward, { issuer: jwks.server.issuer, audience });
    const close = jest.spyOn(app.tokenward, 'close');
    await app.close();
    expect(close).toHaveBeenCalledTimes(1);
  });
});

describe("passErrorsToErrorHandler: the app's own error handler", () => {
  // What an app with a uniform error format might do with the error it is given.
  function uniform(error: unknown, _req: unknown, reply: FastifyReply) {
    if (!isTokenwardError(error)) return reply.code(500).send({ failure: 'other' });
    const { statusCode, code, headers, body, reason } = error;
    return reply.code(statusCode).headers(headers).send({ failure: reason, code, rfc6750: body });
  }
  const handOver = { passErrorsToErrorHandler: true };

  test('without the option, the plugin answers even where the app set an error handler', async () => {
    const app = Fastify();
    app.setErrorHandler(uniform);
    await app.register(tokenward, { issuer: jwks.server.issuer, audience });
    whoami(app, '/admin', { scopes: ['admin'] });
    const base = await listen(app);
    const missing = await get(base, '/admin');
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual(new TokenwardError('credentials_missing').body);
  });

  test('set before the plugin is registered, it receives the TokenwardError and answers', async () => {
    const app = Fastify();
    app.setErrorHandler(uniform);
    await app.register(tokenward, { issuer: jwks.server.issuer, audience, ...handOver });
    whoami(app, '/admin', { scopes: ['admin'] });
    const base = await listen(app);
    const missing = await get(base, '/admin');
    expect(missing.status).toBe(401);
    expect(missing.header('www-authenticate')).toBe(withDpop('Bearer realm="api"'));
    expect(missing.body).toEqual({ failure: 'credentials_missing', rfc6750: { error: 'unauthorized', error_description: 'Bearer access token required' } });
    const forbidden = await get(base, '/admin', bearer(token()));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toEqual({ failure: 'insufficient_scope', code: 'insufficient_scope', rfc6750: { error: 'insufficient_scope', error_description: 'Token lacks the required scope' } });
  });

  test('set after the plugin is registered, it receives the TokenwardError too', async () => {
    const app = Fastify();
    await app.register(tokenward, { issuer: jwks.server.issuer, audience, ...handOver });
    app.get('/admin', { onRequest: app.requireScopes('admin') }, async () => ({ ok: true }));
    app.setErrorHandler(uniform);
    const base = await listen(app);
    expect((await get(base, '/admin', bearer('a.b.c'))).body).toMatchObject({ failure: 'token_malformed', code: 'invalid_token' });
    expect((await get(base, '/admin', bearer(token()))).body).toMatchObject({ failure: 'insufficient_scope' });
  });

  test("set in a child scope, it receives that scope's errors; elsewhere Fastify's default handler sends status and challenge", async () => {
    const base = await serve(
      (app) => {
        whoami(app, '/root');
        app.register(async (child) => {
          child.setErrorHandler(uniform);
          whoami(child, '/child');
        });
      },
      handOver,
    );
    expect((await get(base, '/child')).body).toMatchObject({ failure: 'credentials_missing' });
    const root = await get(base, '/root');
    expect(root.status).toBe(401);
    expect(root.header('www-authenticate')).toBe(withDpop('Bearer realm="api"'));
    expect(root.header('cache-control')).toBe('no-store');
    expect(root.body).toMatchObject({ statusCode: 401, message: 'Bearer access token required' });
  });

  test("a route's own errorHandler option receives the errors of that route", async () => {
    const base = await serve((app) => {
      app.get('/own', { errorHandler: uniform }, async () => ({ ok: true }));
      whoami(app);
    }, handOver);
    expect((await get(base, '/own')).body).toMatchObject({ failure: 'credentials_missing' });
    expect((await get(base, '/me')).body).toMatchObject({ statusCode: 401 });
  });

  test('respond() lets a handler send the standard answer for tokenward errors', async () => {
    const app = Fastify();
    app.setErrorHandler((error, _req, reply) => (isTokenwardError(error) ? respond(reply, error) : reply.code(500).send({ failure: 'other' })));
    await app.register(tokenward, { issuer: jwks.server.issuer, audience, ...handOver });
    app.get('/boom', async () => {
      throw new Error('boom');
    });
    const base = await listen(app);
    const res = await get(base, '/boom');
    expect(res.status).toBe(401);
    expect(res.header('cache-control')).toBe('no-store');
    expect(res.body).toEqual(new TokenwardError('credentials_missing').body);
    expect((await get(base, '/boom', bearer(token()))).body).toEqual({ failure: 'other' });
  });
});

describe('failFast', () => {
  test('app.ready() waits for the keys, and fails with what is wrong instead of a 503 at the first request', async () => {
    const good = Fastify();
    running.push(good);
    await good.register(tokenward, { issuer: jwks.server.issuer, audience, failFast: true });
    const before = jwks.server.jwksRequests;
    await good.ready();
    expect(jwks.server.jwksRequests).toBe(before + 1);

    const broken = Fastify();
    running.push(broken);
    await broken.register(tokenward, { issuer: jwks.server.issuer, audience, jwksUri: `${jwks.server.issuer}/no-such-jwks.json`, failFast: true });
    await expect(broken.ready()).rejects.toMatchObject({ name: 'TokenwardSetupError', failure: 'http_status' });
  });
});
