import type { AddressInfo } from 'node:net';
import express5, { type NextFunction, type Request, type Response } from 'express';
import express4 from 'express4';
import request from 'supertest';
import { createVerifier, RevocationList, type Verifier } from '@tokenward/core';
import { backchannelLogout, receiver, requireAnyScope, requireScopes, tokenward, type TokenwardOptions } from '@tokenward/express';
import { makeKey } from '../../../test/support/keys';
import { serveOneKey, startJwksServer } from '../../../test/support/jwks-server';
import { mint } from '../../../test/support/tokens';
import { rawRequest } from '../../../test/support/raw-http';
import { withDpop } from '../../../test/support/challenges';
import { logoutForm, logoutToken } from '../../../test/support/logout';

// Express 4 and 5 differ in routing and in how they treat returned promises; the adapter must
// behave the same on both.
const flavours = [
  ['Express 5', express5 as unknown as typeof express5],
  ['Express 4', express4 as unknown as typeof express5],
] as const;

const jwks = serveOneKey('RS256', 'k1');
const audience = 'https://api.example.com';

const token = (claims: Record<string, unknown> = {}) => mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims });

describe.each(flavours)('%s', (_name, express) => {
  function app(options: Partial<TokenwardOptions> = {}) {
    const app = express();
    app.use('/api', tokenward({ issuer: jwks.server.issuer, audience, ...options }));
    app.get('/api/me', (req, res) => {
      res.json({ user: req.auth?.subject ?? null, scopes: [...(req.auth?.scopes ?? [])], kid: req.auth?.header?.kid, iss: req.auth?.claims.iss });
    });
    app.get('/api/messages', requireScopes('read:messages'), (req, res) => {
      res.json({ user: req.auth?.subject });
    });
    app.get('/api/both', requireScopes('read:messages', 'write:messages'), (_req, res) => {
      res.json({ ok: true });
    });
    app.get('/api/any', requireAnyScope('admin', 'read:messages'), (_req, res) => {
      res.json({ ok: true });
    });
    return app;
  }

  describe('a valid token', () => {
    test('passes and sets req.auth with subject, scopes, header and claims', async () => {
      const res = await request(app()).get('/api/me').set('Authorization', `Bearer ${token({ scope: 'read:messages write:messages' })}`).expect(200);
      expect(res.body).toEqual({ user: 'user-42', scopes: ['read:messages', 'write:messages'], kid: 'k1', iss: jwks.server.issuer });
    });

    test('passes requireScopes when every scope is granted and requireAnyScope when one is', async () => {
      const both = token({ scope: 'read:messages write:messages' });
      await request(app()).get('/api/both').set('Authorization', `Bearer ${both}`).expect(200);
      await request(app()).get('/api/any').set('Authorization', `Bearer ${token({ scope: 'read:messages' })}`).expect(200);
    });

    test('is accepted with a lowercase scheme', async () => {
      await request(app()).get('/api/messages').set('Authorization', `bearer ${token()}`).expect(200, { user: 'user-42' });
    });
  });

  describe('rejections are answered with RFC 6750 status, challenge and JSON body', () => {
    test('no credentials: 401 with a bare challenge', async () => {
      const res = await request(app()).get('/api/me').expect(401);
      expect(res.headers['www-authenticate']).toBe(withDpop('Bearer realm="api"'));
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({ error: 'unauthorized', error_description: 'Bearer access token required' });
    });

    test('another scheme (Basic): 401 with a bare challenge', async () => {
      const res = await request(app()).get('/api/me').set('Authorization', 'Basic dXNlcjpwYXNz').expect(401);
      expect(res.headers['www-authenticate']).toBe(withDpop('Bearer realm="api"'));
    });

    test('an invalid token: 401 invalid_token', async () => {
      const res = await request(app()).get('/api/me').set('Authorization', `Bearer ${token({ exp: 1000, iat: 900 })}`).expect(401);
      expect(res.headers['www-authenticate']).toBe(withDpop('Bearer realm="api", error="invalid_token", error_description="Token expired"'));
      expect(res.body).toEqual({ error: 'invalid_token', error_description: 'Token expired' });
    });

    test('a missing scope: 403 insufficient_scope naming the scope', async () => {
      const res = await request(app()).get('/api/both').set('Authorization', `Bearer ${token()}`).expect(403);
      expect(res.headers['www-authenticate']).toBe(
        withDpop('Bearer realm="api", error="insufficient_scope", error_description="Token lacks the required scope", scope="read:messages write:messages"'),
      );
      expect(res.body).toEqual({ error: 'insufficient_scope', error_description: 'Token lacks the required scope' });
      await request(app()).get('/api/any').set('Authorization', `Bearer ${token({ scope: 'write:messages' })}`).expect(403);
    });

    test('two Authorization headers: 400 invalid_request', async () => {
      const server = app().listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      try {
        const { status, headers } = await rawRequest(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, '/api/me', [
          ['Authorization', `Bearer ${token()}`],
          ['Authorization', `Bearer ${token()}`],
        ]);
        expect(status).toBe(400);
        expect(headers['www-authenticate']).toBe(
          withDpop('Bearer realm="api", error="invalid_request", error_description="More than one bearer token or method used"'),
        );
      } finally {
        server.close();
      }
    });

    test('a custom realm is used in every challenge', async () => {
      const res = await request(app({ realm: 'messages' })).get('/api/me').expect(401);
      expect(res.headers['www-authenticate']).toBe(withDpop('Bearer realm="messages"', 'messages'));
    });

    test('a response never carries a stack, a path or the token', async () => {
      const bad = `${token()}x`;
      const res = await request(app()).get('/api/me').set('Authorization', `Bearer ${bad}`).expect(401);
      const text = JSON.stringify(res.body) + String(res.headers['www-authenticate']);
      expect(text).not.toMatch(/at |\.ts|\.js|node_modules/);
      expect(text).not.toContain(bad.slice(0, 20));
    });
  });

  describe('a key source that is down', () => {
    test('answers 503 with Retry-After and no challenge', async () => {
      const down = await startJwksServer([jwks.key.jwk]);
      down.setMode('error');
      try {
        const tokenFromDown = mint(jwks.key, { issuer: down.issuer, audience });
        const res = await request(app({ issuer: down.issuer })).get('/api/me').set('Authorization', `Bearer ${tokenFromDown}`).expect(503);
        expect(res.headers['retry-after']).toBe('30');
        expect(res.headers['www-authenticate']).toBeUndefined();
        expect(res.body).toEqual({ error: 'temporarily_unavailable', error_description: 'Signing keys are temporarily unavailable' });
      } finally {
        await down.close();
      }
    });
  });

  describe('optional authentication (credentialsRequired: false)', () => {
    test('lets a request without credentials through with req.auth unset', async () => {
      await request(app({ credentialsRequired: false })).get('/api/me').expect(200, { user: null, scopes: [] });
    });

    test('still refuses a bad token', async () => {
      await request(app({ credentialsRequired: false })).get('/api/me').set('Authorization', 'Bearer a.b.c').expect(401);
    });

    test('requireScopes on an anonymous request is a 401, not a 403', async () => {
      const res = await request(app({ credentialsRequired: false })).get('/api/messages').expect(401);
      expect(res.headers['www-authenticate']).toBe(withDpop('Bearer realm="api"'));
    });
  });

  describe('passErrorsToNext', () => {
    test('hands the error to the app error handler with status, headers and reason', async () => {
      const application = express();
      application.use(tokenward({ issuer: jwks.server.issuer, audience, passErrorsToNext: true }));
      application.get('/x', requireScopes('admin'), (_req, res) => {
        res.json({ ok: true });
      });
      application.use((err: { status: number; headers: Record<string, string>; reason: string }, _req: unknown, res: express5.Response, _next: unknown) => {
        res.status(err.status).set(err.headers).json({ mine: err.reason });
      });
      const missing = await request(application).get('/x').expect(401, { mine: 'credentials_missing' });
      expect(missing.headers['www-authenticate']).toBe(withDpop('Bearer realm="api"'));
      await request(application).get('/x').set('Authorization', `Bearer ${token()}`).expect(403, { mine: 'insufficient_scope' });
    });

    test("Express's own error handler sends the status and challenge and no stack, even outside production", async () => {
      const previous = process.env.NODE_ENV;
      process.env.NODE_ENV = 'development';
      // Outside env 'test', Express's handler logs the error it answers: kept, to be checked below.
      const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
      try {
        const application = express();
        application.set('env', 'development');
        application.use(tokenward({ issuer: jwks.server.issuer, audience, passErrorsToNext: true }));
        application.get('/x', (_req, res) => {
          res.json({ ok: true });
        });
        const res = await request(application).get('/x').set('Authorization', 'Bearer a.b.c').expect(401);
        expect(res.headers['www-authenticate']).toBe(withDpop('Bearer realm="api", error="invalid_token", error_description="Token is not a compact JWS"'));
        expect(res.text).not.toMatch(/\bat .*\(|node_modules|\.ts:/);
        // What it logged is the error, with no stack either (Express 5 logs the error, 4 its stack).
        expect(logged).toHaveBeenCalledTimes(1);
        const [entry] = logged.mock.calls[0] as [unknown];
        expect(entry instanceof Error ? entry.stack : entry).toBe('TokenwardError: Token is not a compact JWS');
      } finally {
        logged.mockRestore();
        process.env.NODE_ENV = previous;
      }
    });
  });

  describe('requireScopes without tokenward() in front', () => {
    test("is the app's mistake: refused (fail closed) and handed to the error handler with a message that names it", async () => {
      const application = express();
      application.get('/x', requireScopes('read:messages'), (_req, res) => {
        res.json({ ok: true });
      });
      application.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
        res.status(500).json({ message: error.message });
      });
      const res = await request(application).get('/x').set('Authorization', `Bearer ${token()}`).expect(500);
      expect(res.body.message).toBe('tokenward: requireScopes()/requireAnyScope()/requireStepUp()/requireDpop() needs tokenward() mounted in front of it on this route');
    });
  });

  describe('an existing verifier', () => {
    test('is taken as { verifier } too, as the Fastify and Nest adapters take it, with adapter options beside', async () => {
      const verifier = createVerifier({ issuer: jwks.server.issuer, audience });
      const application = express();
      application.use(tokenward({ verifier, credentialsRequired: false }));
      application.get('/x', (req, res) => {
        res.json({ user: req.auth?.subject ?? null });
      });
      await request(application).get('/x').expect(200, { user: null });
      await request(application).get('/x').set('Authorization', `Bearer ${token()}`).expect(200, { user: 'user-42' });
    });

    test('is used as is, revocation list included', async () => {
      const revocation = new RevocationList();
      const verifier: Verifier = createVerifier({ issuer: jwks.server.issuer, audience, revocation });
      const application = express();
      application.use(tokenward(verifier));
      application.get('/x', (req, res) => {
        res.json({ user: req.auth?.subject });
      });
      const jwt = token();
      await request(application).get('/x').set('Authorization', `Bearer ${jwt}`).expect(200, { user: 'user-42' });
      revocation.revokeSubject('user-42', { before: Math.floor(Date.now() / 1000) + 1 });
      const res = await request(application).get('/x').set('Authorization', `Bearer ${jwt}`).expect(401);
      expect(res.body.error_description).toBe('Token revoked');
    });
  });

  describe('receiver() mounts an event receiver of core', () => {
    function logoutApp(parser: boolean) {
      const verifier = createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri });
      const app = express();
      if (parser) app.use(express.urlencoded({ extended: false }));
      app.post('/backchannel-logout', receiver(backchannelLogout({ verifier, clientId: 'web-app' })));
      app.use(tokenward(verifier));
      app.get('/me', (req, res) => {
        res.json({ user: req.auth?.subject });
      });
      return app;
    }

    test.each([
      ['read by the receiver', false],
      ['parsed by express.urlencoded() in front', true],
    ])('a logout with its body %s is a 200, and the session token is refused afterwards', async (_how, parser) => {
      const app = logoutApp(parser);
      const access = token({ sid: 'session-1', iat: Math.floor(Date.now() / 1000) - 5 });
      await request(app).get('/me').set('Authorization', `Bearer ${access}`).expect(200);
      const logout = logoutForm(logoutToken({ key: jwks.key, issuer: jwks.server.issuer, clientId: 'web-app' }));
      const res = await request(app).post('/backchannel-logout').type('form').send(logout).expect(200);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.text).toBe('');
      await request(app).get('/me').set('Authorization', `Bearer ${access}`).expect(401);
    });

    test('a bad logout token is a 400 with the JSON error, never a 500', async () => {
      const res = await request(logoutApp(true)).post('/backchannel-logout').type('form').send('logout_token=x').expect(400);
      expect(res.body).toEqual({ error: 'invalid_request', error_description: expect.any(String) });
    });
  });
});

describe('optional authentication on a route that asks for scopes', () => {
  test('an anonymous request is a 401: scopes cannot be had without credentials', async () => {
    const key2 = makeKey('ES256', 'k2');
    const server = await startJwksServer([key2.jwk]);
    try {
      const application = express5();
      application.get('/x', tokenward({ issuer: server.issuer, audience, credentialsRequired: false, scopes: ['read:messages'] }), (_req, res) => {
        res.json({ ok: true });
      });
      const res = await request(application).get('/x').expect(401);
      expect(res.headers['www-authenticate']).toBe(withDpop('Bearer realm="api"'));
      const jwt = mint(key2, { issuer: server.issuer, audience });
      await request(application).get('/x').set('Authorization', `Bearer ${jwt}`).expect(200, { ok: true });
    } finally {
      await server.close();
    }
  });
});
