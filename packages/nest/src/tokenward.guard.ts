/**
 * TokenwardGuard: authenticates the request through @tokenward/core and enforces the route's
 * `@Scopes` / `@AnyScope`, class level and handler level each, unless the route is `@Public()`.
 * Works with `@UseGuards(TokenwardGuard)` and as a global `APP_GUARD`, on the Express and Fastify
 * platforms. Every decision about tokens is core's; this file reads route metadata and
 * translates core's answer into Nest's idiom.
 */
import { HttpException, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { authorizationValues, isTokenwardError, type AccessToken, type ScopeRequirement, type TokenwardError, type Verifier } from '@tokenward/core';
import { ANY_SCOPE_KEY, OPTIONAL_KEY, PUBLIC_KEY, SCOPES_KEY } from './decorators.js';
import { TOKENWARD_VERIFIER } from './tokens.js';

/** The request object the platform hands to guards: Express's request, or Fastify's wrapper. */
interface PlatformRequest {
  /** Fastify's wrapper holds Node's request here; Express's request is Node's request. */
  raw?: IncomingMessage;
  /** The request target before any rewriting (Express and Fastify both keep it). */
  originalUrl?: string;
  /** Where `@Auth()` finds the token; null on public routes and optional ones without credentials. */
  auth?: AccessToken | null;
}

/** A controller class or a handler method, where metadata is read. */
type Target = ReturnType<ExecutionContext['getHandler']>;

@Injectable()
export class TokenwardGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(TOKENWARD_VERIFIER) private readonly verifier: Verifier,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // Only HTTP carries bearer tokens the RFC 6750 way; as a global guard of a hybrid app, refuse
    // other transports (Nest answers 403) rather than wave them through.
    if (context.getType() !== 'http') return false;
    const handler = context.getHandler();
    const controller = context.getClass();
    // Class and handler requirements are separate conditions, checked one by one so that each
    // keeps its own meaning: class @Scopes('a') with handler @AnyScope('b', 'c') is "a, and b or c".
    const levels = [this.requirement(controller), this.requirement(handler)];
    if (this.isPublic(handler, controller, levels)) return true;

    const http = context.switchToHttp();
    const request = http.getRequest<PlatformRequest>();
    const raw = request.raw ?? (request as unknown as IncomingMessage);
    const optional = this.reflector.getAllAndOverride<boolean | undefined>(OPTIONAL_KEY, [handler, controller]) === true;
    try {
      // check() rather than authenticate(): no promise when no I/O is needed (cache hits, no credentials).
      const outcome = this.verifier.check({ authorization: authorizationValues(raw), url: request.originalUrl ?? raw.url }, { credentialsRequired: !optional });
      const token = outcome instanceof Promise ? await outcome : outcome;
      request.auth = token ?? null;
      // Core answers an anonymous request on an optional route that declares scopes with a 401.
      for (const required of levels) if (required !== undefined) this.verifier.authorize(token, required);
      return true;
    } catch (error) {
      // Core only ever throws TokenwardError; anything else is not ours to describe.
      if (!isTokenwardError(error)) throw error;
      throw this.rejection(error, http.getResponse());
    }
  }

  /** The scope requirement declared on a controller or handler, if any. */
  private requirement(target: Target): ScopeRequirement | undefined {
    const scopes = this.reflector.get<string[] | undefined>(SCOPES_KEY, target);
    const anyScopes = this.reflector.get<string[] | undefined>(ANY_SCOPE_KEY, target);
    return scopes === undefined && anyScopes === undefined ? undefined : { scopes, anyScopes };
  }

  /**
   * `@Public()` opts out of authentication, handler over class (getAllAndOverride), but never out
   * of scopes declared at its own level or a more specific one, so a mistake fails closed:
   * `@Public()` on a controller leaves a handler with `@Scopes` protected, and `@Public()` next to
   * `@Scopes` on the same target is protected. A handler's `@Public()` does opt out of its
   * controller's scopes (a health check inside a protected controller).
   */
  private isPublic(handler: Target, controller: Target, [onController, onHandler]: Array<ScopeRequirement | undefined>): boolean {
    if (this.reflector.getAllAndOverride<boolean | undefined>(PUBLIC_KEY, [handler, controller]) !== true) return false;
    if (onHandler !== undefined) return false;
    return this.reflector.get<boolean | undefined>(PUBLIC_KEY, handler) === true || onController === undefined;
  }

  /**
   * HttpException carries a status and a body but no headers. The headers (WWW-Authenticate, or
   * Retry-After for a 503, and Cache-Control: no-store) are set on the response here, through the
   * platform's own adapter (Express `res.set`, Fastify `reply.header`), before Nest's exception
   * filter writes status and body. Chosen over an exception filter because it needs nothing
   * registered by the app and survives an app's catch-all filter, which would otherwise take the
   * exception first and drop the challenge; such a filter still sees a plain HttpException with
   * the TokenwardError as its `cause` (reason, headers, body).
   */
  private rejection(error: TokenwardError, response: unknown): HttpException {
    const adapter = this.adapterHost.httpAdapter;
    for (const [name, value] of Object.entries(error.headers)) adapter.setHeader(response, name, value);
    return new HttpException(error.body, error.status, { cause: error });
  }
}
