/**
 * Rejections on the wire, on both platforms: the RFC 6750 status, exactly TokenwardError.body as
 * the body, and the headers (WWW-Authenticate, or Retry-After for a 503, and Cache-Control:
 * no-store), which HttpException cannot carry and the guard sets through the platform adapter.
 * Every answer is compared byte for byte with what @tokenward/express sends.
 */
import 'reflect-metadata';
import { Catch, Controller, Get, HttpException, Module, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import { Auth, isTokenwardError, Scopes, TokenwardGuard, TokenwardModule, type AccessToken } from '@tokenward/nest';
import { serveOneKey, startJwksServer, type JwksServer } from '../../../test/support/jwks-server';
import { comparable, rejectionCases, startExpressReference, type ReferenceApp } from '../../../test/support/express-reference';
import { rawRequest } from '../../../test/support/raw-http';
import { mint } from '../../../test/support/tokens';
import { bearer, closeAll, get, platforms, start, type Platform } from './support';
import { expectedError, withDpop } from '../../../test/support/challenges';

const audience = 'https://api.example.com';
const jwks = serveOneKey('RS256', 'k1');
let down: JwksServer;
beforeAll(async () => {
  // A key source that answers 500 from the start: no key is known, so core says 503.
  down = await startJwksServer([jwks.key.jwk]);
  down.setMode('error');
});
afterAll(() => down.close());

const token = (claims: Record<string, unknown> = {}) => mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims });
const outageToken = () => mint(jwks.key, { issuer: down.issuer, audience });

@Controller()
class ApiController {
  @Get('me')
  me(@Auth() auth: AccessToken) {
    return { user: auth.subject };
  }

  @Get('admin')
  @Scopes('admin')
  admin() {
    return {};
  }
}

/** The API with the global guard, against `issuer`'s keys. */
function apiModule(issuer: string): new () => unknown {
  @Module({
    imports: [TokenwardModule.forRoot({ issuer, audience })],
    controllers: [ApiController],
    providers: [{ provide: APP_GUARD, useClass: TokenwardGuard }],
  })
  class ApiModule {}
  return ApiModule;
}

// An app's catch-all filter, answering every error its own way.
@Catch()
class UniformErrors implements ExceptionFilter {
  constructor(private readonly host: HttpAdapterHost) {}

  catch(exception: unknown, context: ArgumentsHost): void {
    const cause = exception instanceof HttpException ? exception.cause : undefined;
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    const reason = isTokenwardError(cause) ? cause.reason : 'other';
    this.host.httpAdapter.reply(context.switchToHttp().getResponse(), { failed: reason }, status);
  }
}

describe.each(platforms)('on the %s platform', (platform: Platform) => {
  afterEach(closeAll);
  const api = (issuer = jwks.server.issuer) => start({ imports: [apiModule(issuer)] }, platform);

  test('no credentials: 401 with a bare challenge, no-store and the JSON body', async () => {
    const { base } = await api();
    const res = await get(base, '/me');
    expect(res.status).toBe(401);
    expect(res.header('www-authenticate')).toBe(withDpop('Bearer realm="api"'));
    expect(res.header('cache-control')).toBe('no-store');
    expect(res.header('content-type')).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual({ error: 'unauthorized', error_description: 'Bearer access token required' });
  });

  test('another scheme (Basic): 401 with a bare challenge', async () => {
    const { base } = await api();
    const res = await get(base, '/me', { authorization: 'Basic dXNlcjpwYXNz' });
    expect(res.status).toBe(401);
    expect(res.header('www-authenticate')).toBe(withDpop('Bearer realm="api"'));
  });

  test('an invalid token: 401 invalid_token naming the reason in the challenge', async () => {
    const { base } = await api();
    const res = await get(base, '/me', bearer(token({ exp: 1000, iat: 900 })));
    expect(res.status).toBe(401);
    expect(res.header('www-authenticate')).toBe(withDpop('Bearer realm="api", error="invalid_token", error_description="Token expired"'));
    expect(res.header('cache-control')).toBe('no-store');
    expect(res.body).toEqual({ error: 'invalid_token', error_description: 'Token expired' });
  });

  test('a forged signature: 401 invalid_token, nothing of the token echoed', async () => {
    const { base } = await api();
    const [header, payload] = token().split('.');
    const forged = `${header}.${payload}.${Buffer.alloc(256, 1).toString('base64url')}`;
    const res = await get(base, '/me', bearer(forged));
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: 'invalid_token', error_description: 'Token signature is invalid' });
    expect(JSON.stringify(res.body)).not.toContain(payload);
  });

  test('a missing scope: 403 insufficient_scope with scope="..."', async () => {
    const { base } = await api();
    const res = await get(base, '/admin', bearer(token({ scope: 'read' })));
    expect(res.status).toBe(403);
    expect(res.header('www-authenticate')).toBe(withDpop('Bearer realm="api", error="insufficient_scope", error_description="Token lacks the required scope", scope="admin"'));
    expect(res.header('cache-control')).toBe('no-store');
    expect(res.body).toEqual({ error: 'insufficient_scope', error_description: 'Token lacks the required scope' });
  });

  test('two Authorization headers: 400 invalid_request', async () => {
    const { base } = await api();
    const res = await rawRequest(base, '/me', [
      ['Authorization', `Bearer ${token()}`],
      ['Authorization', `Bearer ${token()}`],
    ]);
    expect(res.status).toBe(400);
    expect(res.headers['www-authenticate']).toBe(withDpop('Bearer realm="api", error="invalid_request", error_description="More than one bearer token or method used"'));
    expect(JSON.parse(res.body)).toEqual({ error: 'invalid_request', error_description: 'More than one bearer token or method used' });
  });

  test('a key source that is down: 503 with Retry-After and no challenge, never 500', async () => {
    const { base } = await api(down.issuer);
    const res = await get(base, '/me', bearer(outageToken()));
    expect(res.status).toBe(503);
    expect(res.header('retry-after')).toBe('30');
    expect(res.header('www-authenticate')).toBeNull();
    expect(res.header('cache-control')).toBe('no-store');
    expect(res.body).toEqual({ error: 'temporarily_unavailable', error_description: 'Signing keys are temporarily unavailable' });
  });

  test('a valid token gets no challenge and no no-store', async () => {
    const { base } = await api();
    const res = await get(base, '/me', bearer(token()));
    expect(res.status).toBe(200);
    expect(res.header('www-authenticate')).toBeNull();
    expect(res.header('cache-control')).toBeNull();
  });

  test("an app's catch-all exception filter gets an HttpException caused by the TokenwardError, and the challenge still reaches the client", async () => {
    const { base } = await start({ imports: [apiModule(jwks.server.issuer)], providers: [{ provide: APP_FILTER, useClass: UniformErrors }] }, platform);
    const res = await get(base, '/admin', bearer(token({ scope: 'read' })));
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ failed: 'insufficient_scope' });
    expect(res.header('www-authenticate')).toBe(expectedError('insufficient_scope', { scope: 'admin' }).wwwAuthenticate);
  });
});

describe('every rejection is byte for byte what the Express adapter sends', () => {
  let reference: ReferenceApp;
  const nest: Record<Platform, { api: string; outage: string }> = { Express: { api: '', outage: '' }, Fastify: { api: '', outage: '' } };

  beforeAll(async () => {
    reference = await startExpressReference({ issuer: jwks.server.issuer, outageIssuer: down.issuer, audience });
    for (const platform of platforms) {
      nest[platform] = { api: (await start({ imports: [apiModule(jwks.server.issuer)] }, platform)).base, outage: (await start({ imports: [apiModule(down.issuer)] }, platform)).base };
    }
  });
  afterAll(async () => {
    await closeAll();
    await reference.close();
  });

  const cases = rejectionCases(token, outageToken);
  test.each(platforms.flatMap((platform) => cases.map(([name, path, headers]) => [platform, name, path, headers] as const)))(
    'Nest on %s: %s',
    async (platform, _name, path, headers) => {
      const sent = headers();
      const fromExpress = await rawRequest(reference.base, path, sent);
      const { api, outage } = nest[platform];
      const fromNest = path.startsWith('/outage') ? await rawRequest(outage, path.slice('/outage'.length), sent) : await rawRequest(api, path, sent);
      expect(fromExpress.status).toBeGreaterThanOrEqual(400);
      expect(comparable(fromNest)).toEqual(comparable(fromExpress));
    },
  );
});
