/**
 * @tokenward/fastify: `app.register(tokenward, options)` verifies the bearer token of each request
 * in an onRequest hook and sets `request.auth`; routes say what they need in their `config`
 * (`public`, `optional`, `scopes`, `anyScopes`) or with `app.requireScopes(...)` /
 * `app.requireAnyScope(...)`. This file only translates between Fastify and @tokenward/core, which
 * makes every decision about tokens.
 */
import type {
  FastifyContextConfig,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  onRequestHookHandler,
  RouteOptions,
} from 'fastify';
import fp from 'fastify-plugin';
import {
  authorizationValues,
  createVerifier,
  isTokenwardError,
  type AccessToken,
  type AuthenticateOptions,
  type ScopeRequirement,
  type TokenwardError,
  type Verifier,
  type VerifierOptions,
} from '@tokenward/core';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token; null on public routes and on optional ones without credentials. */
    auth: AccessToken | null;
  }
  interface FastifyInstance {
    /** An onRequest hook: the request's token must carry every one of `scopes`. */
    requireScopes(...scopes: string[]): onRequestHookHandler;
    /** An onRequest hook: the request's token must carry at least one of `scopes`. */
    requireAnyScope(...scopes: string[]): onRequestHookHandler;
    /** The verifier behind the plugin (its `revocation` list, `verify`, ...). */
    tokenward: Verifier;
  }
  interface FastifyContextConfig {
    /** No authentication at all on this route. */
    public?: boolean;
    /** true: a request without credentials passes with `request.auth` null; false: credentials required. */
    optional?: boolean;
    /** Every one of these scopes (all-of). */
    scopes?: readonly string[];
    /** At least one of these scopes (any-of). */
    anyScopes?: readonly string[];
  }
}

export interface FastifyAdapterOptions {
  /** When false, requests without bearer credentials pass with `request.auth` null. Default true. */
  credentialsRequired?: boolean;
  /**
   * When true, every route in the scope where the plugin is registered is authenticated unless its
   * config says `public: true`. When false, only routes whose config declares `scopes`,
   * `anyScopes`, `optional` or `public: false`, and routes using requireScopes/requireAnyScope.
   * Default true: forgetting to protect a route should fail closed.
   */
  protectAll?: boolean;
}

/** Verifier options (the plugin creates the verifier and closes it with the app), or an existing verifier. */
export type TokenwardOptions = (VerifierOptions | { verifier: Verifier }) & FastifyAdapterOptions;

// Set by the onRoute hook on routes that have their own `errorHandler` option, which Fastify
// exposes nowhere on the request.
const ROUTE_ERROR_HANDLER = Symbol('tokenward.routeErrorHandler');
type RouteConfig = FastifyContextConfig & { [ROUTE_ERROR_HANDLER]?: true };

const plugin: FastifyPluginAsync<TokenwardOptions> = async (fastify, options) => {
  const { credentialsRequired = true, protectAll = true } = options;
  const verifier = 'verifier' in options ? options.verifier : createVerifier(options);

  /** Authenticates the request as `required` says and sets request.auth; may answer synchronously. */
  function authenticate(request: FastifyRequest, required: AuthenticateOptions): void | Promise<void> {
    // check() rather than authenticate(): no promise when no I/O is needed (cache hits, no credentials).
    const outcome = verifier.check({ authorization: authorizationValues(request.raw), url: request.raw.url }, required);
    if (!(outcome instanceof Promise)) {
      request.auth = outcome ?? null;
      return;
    }
    return outcome.then((token) => {
      request.auth = token ?? null;
    });
  }

  function guard(required: ScopeRequirement): onRequestHookHandler {
    return function tokenwardScopes(request, reply, done) {
      // A request the plugin's hook did not authenticate (public route, protectAll: false) or that
      // came without credentials (optional route) is authenticated here with credentials required,
      // so a guard never lets an anonymous request through.
      proceed(
        () => {
          if (request.auth === null) return authenticate(request, required);
          verifier.authorize(request.auth, required);
        },
        request,
        reply,
        done,
      );
    };
  }

  fastify.decorateRequest('auth', null);
  fastify.decorate('tokenward', verifier);
  fastify.decorate('requireScopes', (...scopes: string[]) => guard({ scopes }));
  fastify.decorate('requireAnyScope', (...scopes: string[]) => guard({ anyScopes: scopes }));

  fastify.addHook('onRoute', (route: RouteOptions) => {
    const config = route.config as RouteConfig | undefined;
    if (config?.public === true && (config.scopes !== undefined || config.anyScopes !== undefined)) {
      throw new TypeError(`tokenward: route ${String(route.method)} ${route.url} is public but requires scopes`);
    }
    if (route.errorHandler !== undefined) route.config = { ...config, [ROUTE_ERROR_HANDLER]: true } as RouteOptions['config'];
  });

  fastify.addHook('onRequest', function tokenwardAuthenticate(request, reply, done) {
    const required = routeRequirement(request.routeOptions.config ?? {}, credentialsRequired, protectAll);
    if (required === undefined) {
      done();
      return;
    }
    proceed(() => authenticate(request, required), request, reply, done);
  });

  // A verifier passed in belongs to the caller, who may share it between apps.
  if (!('verifier' in options)) fastify.addHook('onClose', async () => verifier.close());
};

/**
 * What a route asks of the plugin's hook, from its config: undefined to skip it, else the
 * options for core. A route that declares scopes is always authenticated with credentials
 * required, like requireScopes: neither `optional`, `credentialsRequired: false` nor
 * `protectAll: false` lets an anonymous request reach it.
 */
function routeRequirement(config: FastifyContextConfig, credentialsRequired: boolean, protectAll: boolean): AuthenticateOptions | undefined {
  const { scopes, anyScopes } = config;
  if (scopes !== undefined || anyScopes !== undefined) return { credentialsRequired: true, scopes, anyScopes };
  const enforced = config.public === undefined ? protectAll || config.optional !== undefined : !config.public;
  if (!enforced) return undefined;
  return { credentialsRequired: config.optional === undefined ? credentialsRequired : !config.optional };
}

/** Runs a step that may finish synchronously, return a promise, or throw, then continues the hook. */
function proceed(step: () => void | Promise<void>, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  let pending: void | Promise<void>;
  try {
    pending = step();
  } catch (error) {
    reject(error, request, reply, done);
    return;
  }
  if (pending === undefined) done();
  else pending.then(() => done(), (error: unknown) => reject(error, request, reply, done));
}

/**
 * A rejection goes to the app's own error handler when the route has one, so that apps with a
 * uniform error format keep it; the error carries `statusCode`, `code`, `headers`, `body` and
 * `reason`. Otherwise it is answered here, because Fastify's default handler would send
 * `{ statusCode, code, error, message }` without Cache-Control, unlike every other adapter.
 *
 * Fastify exposes the handler of the request's context as `request.server.errorHandler`. Fastify
 * binds every function given to setErrorHandler, so a user's handler is named "bound ...", and
 * only Fastify's root handler is named `defaultErrorHandler`, whatever a user called theirs.
 * That holds for a handler set before or after the plugin is registered, in the same scope or
 * a parent one (routes read their scope's handler when the app boots). A route's own
 * `errorHandler` option is not visible there; the onRoute hook marks those routes.
 */
function reject(error: unknown, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const config = request.routeOptions.config as RouteConfig | undefined;
  const ownHandler = config?.[ROUTE_ERROR_HANDLER] === true || request.server.errorHandler.name !== 'defaultErrorHandler';
  // Core only ever throws TokenwardError; anything else is not ours to describe.
  if (ownHandler || !isTokenwardError(error) || reply.sent) done(error as Error);
  else respond(reply, error);
}

/**
 * Answers a rejection the RFC 6750 way: status, WWW-Authenticate (or Retry-After), JSON body, and
 * byte for byte what @tokenward/express sends. Also for apps' error handlers.
 */
export function respond(reply: FastifyReply, error: TokenwardError): FastifyReply {
  // Serialized here: a route's response schema must not reshape the RFC 6750 body.
  return reply
    .code(error.status)
    .headers(error.headers)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify(error.body));
}

export const tokenward = fp(plugin, { name: '@tokenward/fastify', fastify: '5.x' });
export default tokenward;

export { createVerifier, isTokenwardError, RevocationList, TokenwardError } from '@tokenward/core';
export type { AccessToken, TokenwardEvent, Verifier, VerifierOptions } from '@tokenward/core';
