/**
 * TokenwardGuard: authenticates the request through @tokenward/core under the route's policy,
 * made by core from the route's decorators (`@Public`, `@OptionalAuth`, `@Scopes`, `@AnyScope`, on
 * the controller and the handler). Works with `@UseGuards(TokenwardGuard)` and as a global
 * `APP_GUARD`, on the Express and Fastify platforms. This file reads metadata and translates
 * core's answer into Nest's idiom; every decision is core's.
 */
import { HttpException, Inject, Injectable, Logger, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import {
  isTokenwardError,
  nodeRequest,
  routePolicy,
  type AccessToken,
  type DpopMode,
  type RoutePolicy,
  type RouteRequirement,
  type StepUpRequirement,
  type TokenwardError,
  type Verifier,
} from '@tokenward/core';
import { ANY_SCOPE_KEY, DPOP_KEY, OPTIONAL_KEY, PUBLIC_KEY, SCOPES_KEY, STEP_UP_KEY } from './decorators.js';
import { TOKENWARD_REJECTION_LOG_LEVEL, TOKENWARD_VERIFIER, type RejectionLogLevel } from './tokens.js';

/** The request object the platform hands to guards: Express's request, or Fastify's wrapper. */
interface PlatformRequest {
  /** Fastify's wrapper holds Node's request here; Express's request is Node's request. */
  raw?: IncomingMessage;
  /** The request target before any rewriting (Express and Fastify both keep it). */
  originalUrl?: string;
  /** Both platforms' requests, honouring their trust-proxy setting: the public URL for DPoP's htu. */
  protocol?: string;
  host?: string;
  /** Where `@Auth()` finds the token; null on public routes and optional ones without credentials. */
  auth?: AccessToken | null;
}

/** A controller class or a handler method, where metadata is read. */
type Target = ReturnType<ExecutionContext['getHandler']>;

@Injectable()
export class TokenwardGuard implements CanActivate {
  // Decorators are fixed when a class is defined, so each (controller, handler) pair's policy is
  // made once; keyed by both, since a handler inherited by two controllers may serve both.
  private readonly policies = new WeakMap<Target, WeakMap<Target, RoutePolicy>>();
  private readonly logger = new Logger('Tokenward');

  constructor(
    private readonly reflector: Reflector,
    @Inject(TOKENWARD_VERIFIER) private readonly verifier: Verifier,
    private readonly adapterHost: HttpAdapterHost,
    @Optional() @Inject(TOKENWARD_REJECTION_LOG_LEVEL) private readonly rejectionLogLevel: RejectionLogLevel = 'log',
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    // Only HTTP carries bearer tokens the RFC 6750 way; as a global guard of a hybrid app, refuse
    // other transports (Nest answers 403) rather than wave them through.
    if (context.getType() !== 'http') return false;
    const policy = this.policyOf(context.getClass(), context.getHandler());
    const http = context.switchToHttp();
    const request = http.getRequest<PlatformRequest>();
    const raw = request.raw ?? (request as unknown as IncomingMessage);
    try {
      // check() rather than authenticate(): no promise when no I/O is needed (cache hits, no credentials).
      const outcome = this.verifier.check(
        nodeRequest(raw, request.originalUrl ?? raw.url, () => (request.host === undefined ? undefined : `${request.protocol}://${request.host}`)),
        policy,
        // A guard that already ran for this request (a global one, then @UseGuards) admitted the token.
        request.auth,
      );
      request.auth = (outcome instanceof Promise ? await outcome : outcome) ?? null;
      return true;
    } catch (error) {
      // Core only ever throws TokenwardError; anything else is not ours to describe.
      if (!isTokenwardError(error)) throw error;
      if (this.rejectionLogLevel !== false) this.logger[this.rejectionLogLevel]({ message: 'token rejected', ...error.logFields });
      throw this.rejection(error, http.getResponse());
    }
  }

  /** The route's policy from its decorators: the controller's, then the handler's (core decides). */
  private policyOf(controller: Target, handler: Target): RoutePolicy {
    let byHandler = this.policies.get(controller);
    if (byHandler === undefined) this.policies.set(controller, (byHandler = new WeakMap()));
    let policy = byHandler.get(handler);
    if (policy === undefined) byHandler.set(handler, (policy = routePolicy(this.declared(controller), this.declared(handler))));
    return policy;
  }

  private declared(target: Target): RouteRequirement {
    const stepUp = this.reflector.get<StepUpRequirement | undefined>(STEP_UP_KEY, target);
    return {
      public: this.reflector.get<boolean | undefined>(PUBLIC_KEY, target),
      optional: this.reflector.get<boolean | undefined>(OPTIONAL_KEY, target),
      scopes: this.reflector.get<string[] | undefined>(SCOPES_KEY, target),
      anyScopes: this.reflector.get<string[] | undefined>(ANY_SCOPE_KEY, target),
      dpop: this.reflector.get<DpopMode | undefined>(DPOP_KEY, target),
      acrValues: stepUp?.acrValues,
      maxAge: stepUp?.maxAge,
    };
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
