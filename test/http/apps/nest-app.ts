/** The shared suite's routes as a Nest application, for both platforms (see ../app-factory.ts). */
import 'reflect-metadata';
import { Controller, Get, Module, UseGuards, type INestApplication } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AnyScope, Auth, Dpop, OptionalAuth, Public, Scopes, StepUp, TokenwardGuard, TokenwardModule, TokenwardReceiverModule, type AccessToken } from '@tokenward/nest';
import type { VerifierOptions } from '@tokenward/core';
import type { AddressInfo } from 'node:net';
import type { AppSettings, SuiteApp } from '../app-factory';

@Controller()
class SuiteController {
  @Get('public')
  @Public()
  public() {
    return { ok: true };
  }

  @Get('optional')
  @OptionalAuth()
  optional(@Auth() auth?: AccessToken) {
    return { user: auth?.subject ?? null };
  }

  @Get('me')
  me(@Auth() auth: AccessToken) {
    return { user: auth.subject, scopes: [...auth.scopes].sort() };
  }

  @Get('messages')
  @Scopes('read:messages')
  messages(@Auth() auth: AccessToken) {
    return { user: auth.subject };
  }

  @Get('both')
  @Scopes('read:messages', 'write:messages')
  both(@Auth() auth: AccessToken) {
    return { user: auth.subject };
  }

  @Get('any')
  @AnyScope('admin', 'read:messages')
  any(@Auth() auth: AccessToken) {
    return { user: auth.subject };
  }

  @Get('admin')
  @Scopes('admin')
  admin(@Auth() auth: AccessToken) {
    return { user: auth.subject };
  }

  @Get('optional-admin')
  @OptionalAuth()
  @Scopes('admin')
  optionalAdmin(@Auth() auth: AccessToken) {
    return { user: auth.subject };
  }

  // The global guard, then this one again.
  @Get('twice')
  @UseGuards(TokenwardGuard)
  twice(@Auth() auth: AccessToken) {
    return { user: auth.subject };
  }

  @Get('binding')
  binding(@Auth() auth: AccessToken) {
    return { binding: auth.binding ?? null };
  }

  @Get('dpop-only')
  @Dpop('required')
  dpopOnly(@Auth() auth: AccessToken) {
    return { user: auth.subject };
  }

  @Get('step-up')
  @StepUp({ acrValues: ['mfa'], maxAge: 300 })
  stepUp(@Auth() auth: AccessToken) {
    return { user: auth.subject };
  }

  @Get('public-admin')
  @Public()
  @Scopes('admin')
  publicAdmin(@Auth() auth: AccessToken) {
    return { user: auth.subject };
  }
}

// Route policy across a controller and its handlers (see ../app-factory.ts).
@Controller('open')
@Public()
class OpenController {
  @Get('guarded')
  @Scopes('read:messages')
  guarded(@Auth() auth: AccessToken) {
    return { user: auth.subject };
  }

  @Get('optional')
  @OptionalAuth()
  optional(@Auth() auth?: AccessToken) {
    return { user: auth?.subject ?? null };
  }
}

@Controller('scoped')
@Scopes('admin')
class ScopedController {
  @Get('health')
  @Public()
  health() {
    return { ok: true };
  }
}

/** The module: tokenward from forRoot, the guard global, as most Nest apps would have it. */
export function suiteModule(options: VerifierOptions, receivers: AppSettings['receivers'] = {}): new () => unknown {
  @Module({
    imports: [TokenwardModule.forRoot(options), ...Object.entries(receivers).map(([path, receiver]) => TokenwardReceiverModule.register({ path, receiver }))],
    controllers: [SuiteController, OpenController, ScopedController],
    providers: [{ provide: APP_GUARD, useClass: TokenwardGuard }],
  })
  class SuiteModule {}
  return SuiteModule;
}

export async function listen(app: INestApplication, tls = false): Promise<SuiteApp> {
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer();
  return {
    baseUrl: `${tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: () => app.close(),
  };
}
