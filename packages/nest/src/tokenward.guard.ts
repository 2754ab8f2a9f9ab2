/**
 * TokenwardGuard: authenticates the request through @tokenward/core and enforces the route's
 * `@Scopes` / `@AnyScope` (class and handler level each), unless `@Public()`. Works with
 * `@UseGuards(TokenwardGuard)` and as a global `APP_GUARD`, on the Express and Fastify platforms.
 */
import { HttpException, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { authorizationValues, isTokenwardError, type AccessToken, type TokenwardError, type Verifier } from '@tokenward/core';
import { ANY_SCOPE_KEY, OPTIONAL_KEY, PUBLIC_KEY, SCOPES_KEY } from './decorators.js';
import { TOKENWARD_VERIFIER } from './tokens.js';

interface PlatformRequest {
  /** Fastify wraps Node's request; Express's request is Node's request. */
  raw?: IncomingMessage;
  auth?: AccessToken | null;
}

@Injectable()
export class TokenwardGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(TOKENWARD_VERIFIER) private readonly verifier: Verifier,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // Only HTTP carries bearer tokens the RFC 6750 way; refuse rather than wave other transports through.
    if (context.getType() !== 'http') return false;
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets) === true) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<PlatformRequest>();
    const raw = request.raw ?? (request as unknown as IncomingMessage);
    const optional = this.reflector.getAllAndOverride<boolean>(OPTIONAL_KEY, targets) === true;
    try {
      const outcome = this.verifier.check({ authorization: authorizationValues(raw), url: raw.url }, { credentialsRequired: !optional });
      const token = outcome instanceof Promise ? await outcome : outcome;
      request.auth = token ?? null;
      // Class and handler requirements are separate conditions: both must hold.
      for (const target of [context.getClass(), context.getHandler()]) {
        const scopes = this.reflector.get<string[] | undefined>(SCOPES_KEY, target);
        const anyScopes = this.reflector.get<string[] | undefined>(ANY_SCOPE_KEY, target);
        if (scopes !== undefined || anyScopes !== undefined) this.verifier.authorize(token, { scopes, anyScopes });
      }
      return true;
    } catch (error) {
      if (!isTokenwardError(error)) throw error;
      throw this.httpException(error, http.getResponse());
    }
  }

  /**
   * HttpException carries a status and a body but no headers, so the challenge is set on the
   * response through the platform's own adapter (Express `res.setHeader`, Fastify `reply.header`)
   * before Nest's exception filter writes the body: it reaches the client on both platforms, and
   * an app's own exception filter still sees a plain HttpException.
   */
  private httpException(error: TokenwardError, response: unknown): HttpException {
    const adapter = this.adapterHost.httpAdapter;
    for (const [name, value] of Object.entries(error.headers)) adapter.setHeader(response, name, value);
    return new HttpException(error.body, error.status, { cause: error });
  }
}
