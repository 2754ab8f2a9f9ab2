/**
 * TokenwardGuard and the decorators, in real Nest apps on both platforms, against a real JWKS
 * server: per controller with @UseGuards and global with APP_GUARD; @Public, @OptionalAuth,
 * @Scopes and @AnyScope at class and handler level; @Auth() in handlers.
 */
import 'reflect-metadata';
import { Controller, Get, UseGuards } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AnyScope, Auth, OptionalAuth, Public, Scopes, TokenwardGuard, TokenwardModule, type AccessToken } from '@tokenward/nest';
import { serveOneKey } from '../../../test/support/jwks-server';
import { mint, now } from '../../../test/support/tokens';
import { bearer, closeAll, get, platforms, start, type Platform } from './support';
import { withDpop } from '../../../test/support/challenges';

const audience = 'https://api.example.com';
const jwks = serveOneKey('ES256', 'k1');
afterEach(closeAll);

const token = (scope: string, claims: Record<string, unknown> = {}) => mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims: { scope, ...claims } });
const scopeOf = (challenge: string | null) => /scope="([^"]*)"/.exec(challenge ?? '')?.[1];

// Guarded per controller. Class @Scopes('reports') applies to every handler, on top of the handler's own.
@Controller('reports')
@UseGuards(TokenwardGuard)
@Scopes('reports')
class ReportsController {
  @Get()
  list(@Auth() auth: AccessToken) {
    return { user: auth.subject, scopes: [...auth.scopes].sort(), iss: auth.claims.iss };
  }

  @Get('export')
  @Scopes('export')
  export() {
    return { ok: true };
  }

  @Get('any')
  @AnyScope('admin', 'auditor')
  any() {
    return { ok: true };
  }

  // A handler's @Public() lifts its controller's scopes.
  @Get('health')
  @Public()
  health(@Auth() auth?: AccessToken) {
    return { ok: true, auth: auth ?? null };
  }
}

// Two any-of conditions: "read or write" (class) and "eu or us" (handler).
@Controller('regions')
@UseGuards(TokenwardGuard)
@AnyScope('read', 'write')
class RegionsController {
  @Get()
  @AnyScope('eu', 'us')
  get() {
    return { ok: true };
  }
}

@Controller('open')
class OpenController {
  @Get()
  open() {
    return { ok: true };
  }
}

// For the global guard.
@Controller('api')
class ApiController {
  @Get('me')
  me(@Auth() auth: AccessToken) {
    return { user: auth.subject };
  }

  @Get('public')
  @Public()
  public(@Auth() auth?: AccessToken) {
    return { user: auth?.subject ?? null };
  }

  @Get('optional')
  @OptionalAuth()
  optional(@Auth() auth?: AccessToken) {
    return { user: auth?.subject ?? null };
  }

  @Get('optional-admin')
  @OptionalAuth()
  @Scopes('admin')
  optionalAdmin(@Auth() auth?: AccessToken) {
    return { user: auth?.subject ?? null };
  }

  // Contradictory on one target: fails closed.
  @Get('public-admin')
  @Public()
  @Scopes('admin')
  publicAdmin() {
    return { ok: true };
  }
}

@Controller('site')
@Public()
class SiteController {
  @Get()
  index() {
    return { ok: true };
  }

  // More specific than the class's @Public(): protected.
  @Get('admin')
  @Scopes('admin')
  admin() {
    return { ok: true };
  }
}

@Controller('members')
@OptionalAuth()
class MembersController {
  @Get()
  list(@Auth() auth?: AccessToken) {
    return { user: auth?.subject ?? null };
  }
}

const forRoot = () => TokenwardModule.forRoot({ issuer: jwks.server.issuer, audience });

describe.each(platforms)('on the %s platform', (platform: Platform) => {
  describe('@UseGuards(TokenwardGuard) on a controller', () => {
    test('protects that controller and leaves the others alone', async () => {
      const { base } = await start({ imports: [forRoot()], controllers: [ReportsController, OpenController] }, platform);
      expect(await get(base, '/open')).toMatchObject({ status: 200, body: { ok: true } });
      const denied = await get(base, '/reports');
      expect(denied.status).toBe(401);
      expect(denied.header('www-authenticate')).toBe(withDpop('Bearer realm="api"'));
      expect(await get(base, '/reports', bearer(token('reports')))).toMatchObject({ status: 200, body: { user: 'user-42' } });
    });

    test('@Auth() gives the handler the verified AccessToken', async () => {
      const { base } = await start({ imports: [forRoot()], controllers: [ReportsController] }, platform);
      const res = await get(base, '/reports', bearer(token('reports extra')));
      expect(res.body).toEqual({ user: 'user-42', scopes: ['extra', 'reports'], iss: jwks.server.issuer });
    });
  });

  describe('class and handler @Scopes combine: both must hold', () => {
    test('only the class scope is a 403 naming the handler scope', async () => {
      const { base } = await start({ imports: [forRoot()], controllers: [ReportsController] }, platform);
      const res = await get(base, '/reports/export', bearer(token('reports')));
      expect(res.status).toBe(403);
      expect(scopeOf(res.header('www-authenticate'))).toBe('export');
      expect(res.body).toEqual({ error: 'insufficient_scope', error_description: 'Token lacks the required scope' });
    });

    test('only the handler scope is a 403 naming the class scope', async () => {
      const { base } = await start({ imports: [forRoot()], controllers: [ReportsController] }, platform);
      const res = await get(base, '/reports/export', bearer(token('export')));
      expect(res.status).toBe(403);
      expect(scopeOf(res.header('www-authenticate'))).toBe('reports');
    });

    test('both scopes pass', async () => {
      const { base } = await start({ imports: [forRoot()], controllers: [ReportsController] }, platform);
      expect(await get(base, '/reports/export', bearer(token('export reports')))).toMatchObject({ status: 200, body: { ok: true } });
    });
  });

  describe('@AnyScope', () => {
    test('on a handler, one of its scopes is enough, on top of the class @Scopes', async () => {
      const { base } = await start({ imports: [forRoot()], controllers: [ReportsController] }, platform);
      expect((await get(base, '/reports/any', bearer(token('reports auditor')))).status).toBe(200);
      expect((await get(base, '/reports/any', bearer(token('reports admin')))).status).toBe(200);
      const none = await get(base, '/reports/any', bearer(token('reports')));
      expect(none.status).toBe(403);
      expect(scopeOf(none.header('www-authenticate'))).toBe('admin auditor');
      const noClassScope = await get(base, '/reports/any', bearer(token('auditor')));
      expect(noClassScope.status).toBe(403);
      expect(scopeOf(noClassScope.header('www-authenticate'))).toBe('reports');
    });

    test('on the class and on the handler, each condition must hold', async () => {
      const { base } = await start({ imports: [forRoot()], controllers: [RegionsController] }, platform);
      expect((await get(base, '/regions', bearer(token('read eu')))).status).toBe(200);
      expect((await get(base, '/regions', bearer(token('write us')))).status).toBe(200);
      const classOnly = await get(base, '/regions', bearer(token('read write')));
      expect(classOnly.status).toBe(403);
      expect(scopeOf(classOnly.header('www-authenticate'))).toBe('eu us');
      const handlerOnly = await get(base, '/regions', bearer(token('eu us')));
      expect(handlerOnly.status).toBe(403);
      expect(scopeOf(handlerOnly.header('www-authenticate'))).toBe('read write');
    });
  });

  describe('as a global APP_GUARD', () => {
    const globalApp = () =>
      start({ imports: [forRoot()], controllers: [ApiController, SiteController, MembersController], providers: [{ provide: APP_GUARD, useClass: TokenwardGuard }] }, platform);

    test('protects every route', async () => {
      const { base } = await globalApp();
      const res = await get(base, '/api/me');
      expect(res.status).toBe(401);
      expect(res.header('www-authenticate')).toBe(withDpop('Bearer realm="api"'));
      expect(await get(base, '/api/me', bearer(token('')))).toMatchObject({ status: 200, body: { user: 'user-42' } });
    });

    test('@Public() on a handler needs no token and ignores a broken one', async () => {
      const { base } = await globalApp();
      expect(await get(base, '/api/public')).toMatchObject({ status: 200, body: { user: null } });
      expect(await get(base, '/api/public', bearer('x.y.z'))).toMatchObject({ status: 200, body: { user: null } });
    });

    test('@Public() on a controller opens its handlers, but not one that declares scopes', async () => {
      const { base } = await globalApp();
      expect(await get(base, '/site')).toMatchObject({ status: 200, body: { ok: true } });
      expect((await get(base, '/site/admin')).status).toBe(401);
      expect((await get(base, '/site/admin', bearer(token('read')))).status).toBe(403);
      expect((await get(base, '/site/admin', bearer(token('admin')))).status).toBe(200);
    });

    test('@Public() next to @Scopes on the same handler fails closed', async () => {
      const { base } = await globalApp();
      expect((await get(base, '/api/public-admin')).status).toBe(401);
      expect((await get(base, '/api/public-admin', bearer(token('admin')))).status).toBe(200);
    });

    test('a handler @Public() lifts its controller @Scopes', async () => {
      const { base } = await start({ imports: [forRoot()], controllers: [ReportsController] }, platform);
      expect(await get(base, '/reports/health')).toMatchObject({ status: 200, body: { ok: true, auth: null } });
    });
  });

  describe('@OptionalAuth()', () => {
    const optionalApp = () =>
      start({ imports: [forRoot()], controllers: [ApiController, MembersController], providers: [{ provide: APP_GUARD, useClass: TokenwardGuard }] }, platform);

    test('a request without credentials passes and @Auth() gives undefined', async () => {
      const { base } = await optionalApp();
      expect(await get(base, '/api/optional')).toMatchObject({ status: 200, body: { user: null } });
    });

    test('a valid token is seen by the handler', async () => {
      const { base } = await optionalApp();
      expect(await get(base, '/api/optional', bearer(token('')))).toMatchObject({ status: 200, body: { user: 'user-42' } });
    });

    test('a bad token is still refused', async () => {
      const { base } = await optionalApp();
      const res = await get(base, '/api/optional', bearer(token('', { exp: now() - 3600, iat: now() - 3700 })));
      expect(res.status).toBe(401);
      expect(res.header('www-authenticate')).toBe(withDpop('Bearer realm="api", error="invalid_token", error_description="Token expired"'));
    });

    test('on a controller it applies to every handler', async () => {
      const { base } = await optionalApp();
      expect(await get(base, '/members')).toMatchObject({ status: 200, body: { user: null } });
      expect(await get(base, '/members', bearer(token('')))).toMatchObject({ status: 200, body: { user: 'user-42' } });
    });

    test('with @Scopes, an anonymous request is a 401, not a 403, and the scope is still needed', async () => {
      const { base } = await optionalApp();
      const anonymous = await get(base, '/api/optional-admin');
      expect(anonymous.status).toBe(401);
      expect(anonymous.header('www-authenticate')).toBe(withDpop('Bearer realm="api"'));
      expect((await get(base, '/api/optional-admin', bearer(token('read')))).status).toBe(403);
      expect(await get(base, '/api/optional-admin', bearer(token('admin')))).toMatchObject({ status: 200, body: { user: 'user-42' } });
    });
  });

  test('a guard on the controller and a global one together answer as one', async () => {
    const { base } = await start({ imports: [forRoot()], controllers: [ReportsController], providers: [{ provide: APP_GUARD, useClass: TokenwardGuard }] }, platform);
    expect((await get(base, '/reports/export', bearer(token('export reports')))).status).toBe(200);
    expect((await get(base, '/reports/export', bearer(token('reports')))).status).toBe(403);
    expect((await get(base, '/reports/health')).status).toBe(200);
  });
});
