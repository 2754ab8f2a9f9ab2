/**
 * @tokenward/fastify: `app.register(tokenward, options)` verifies the bearer token of each request
 * in an onRequest hook and sets `request.auth`; routes say what they need in their `config`
 * (`public`, `optional`, `scopes`, `anyScopes`) or with `app.requireScopes(...)` /
 * `app.requireAnyScope(...)`. This file only translates between Fastify and @tokenward/core, which
 * makes every decision about tokens.
 */
import type { FastifyContextConfig, FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import {
  createVerifier,
  isTokenwardError,
  nodeRequest,
  readBody,
  routePolicy,
  type AccessToken,
  type EventReceiver,
  type DpopMode,
  type RoutePolicy,
  type RouteRequirement,
  type StepUpRequirement,
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
    /** An onRequest hook: the user must have authenticated as asked (RFC 9470 `acr`, `auth_time`). */
    requireStepUp(required: StepUpRequirement): onRequestHookHandler;
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
    /** DPoP on this route (RFC 9449): 'required' refuses Bearer tokens, 'disabled' the DPoP scheme. */
    dpop?: DpopMode;
    /** RFC 9470: the token's `acr` must be one of these. */
    acrValues?: readonly string[];
    /** RFC 9470: the token's `auth_time` must be at most this many seconds ago. */
    maxAge?: number;
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
  /**
   * When true, rejections go to Fastify's error handler for the route (the app's
   * `setErrorHandler`, a route's `errorHandler`, or Fastify's default), with `statusCode`, `code`,
   * `headers`, `body` and `reason` set. Default false: the plugin answers them itself, byte for
   * byte as the other adapters do.
   */
  passErrorsToErrorHandler?: boolean;
  /**
   * When true, `app.ready()` (and so `listen`) waits for the verifier's metadata and keys and
   * fails with a TokenwardSetupError that says what is wrong. Default false: keys load on the
   * first request.
   */
  failFast?: boolean;
  /**
   * The level at which rejections are logged through `request.log` (Fastify's pino logger), with
   * their `logFields` (reason, status, code, the claim at fault, kid; never the token) under
   * `tokenward`. Default 'info'; false: not logged.
   */
  rejectionLogLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | false;
}

/** Verifier options (the plugin creates the verifier and closes it with the app), or an existing verifier. */
export type TokenwardOptions = (VerifierOptions | { verifier: Verifier }) & FastifyAdapterOptions;

// The route's policy, made from its config when the route is declared.
const POLICY = Symbol('tokenward.policy');
type RouteConfig = FastifyContextConfig & { [POLICY]?: RoutePolicy };

const plugin: FastifyPluginAsync<TokenwardOptions> = async (fastify, options) => {
  const { credentialsRequired, protectAll = true, passErrorsToErrorHandler = false, failFast = false, rejectionLogLevel = 'info' } = options;
  const verifier = 'verifier' in options ? options.verifier : createVerifier(options);
  // The plugin's options are the most general level of every route's policy.
  const defaults: RouteRequirement = { public: protectAll ? undefined : true, optional: credentialsRequired === false ? true : undefined };
  const policyOf = (config: FastifyContextConfig = {}): RoutePolicy =>
    (config as RouteConfig)[POLICY] ??
    routePolicy(defaults, {
      public: config.public,
      optional: config.optional,
      scopes: config.scopes,
      anyScopes: config.anyScopes,
      dpop: config.dpop,
      acrValues: config.acrValues,
      maxAge: config.maxAge,
    });

  /** Core's decision on the request under `policy`, then on to the next hook or the rejection. */
  function run(policy: RoutePolicy, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    let outcome: ReturnType<Verifier['check']>;
    try {
      // request.protocol and request.host honour the app's trustProxy: the public URL for DPoP's htu.
      outcome = verifier.check(
        nodeRequest(request.raw, request.originalUrl, () => `${request.protocol}://${request.host}`),
        policy,
        request.auth,
      );
    } catch (error) {
      reject(error, reply, done);
      return;
    }
    if (!(outcome instanceof Promise)) {
      request.auth = outcome ?? null;
      done();
      return;
    }
    outcome.then(
      (token) => {
        request.auth = token ?? null;
        done();
      },
      (error: unknown) => reject(error, reply, done),
    );
  }

  /** Core only ever throws TokenwardError; anything else is not ours to describe. */
  function reject(error: unknown, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    if (rejectionLogLevel !== false && isTokenwardError(error)) reply.request.log[rejectionLogLevel]({ tokenward: error.logFields }, 'tokenward: token rejected');
    if (passErrorsToErrorHandler || !isTokenwardError(error) || reply.sent) done(error as Error);
    else respond(reply, error);
  }

  function guard(required: RouteRequirement): onRequestHookHandler {
    const policy = routePolicy(required);
    // After the plugin's hook: its token is checked against `required`; a request it did not
    // authenticate (a public route, protectAll: false) is authenticated here.
    return function tokenwardScopes(request, reply, done) {
      run(policy, request, reply, done);
    };
  }

  fastify.decorateRequest('auth', null);
  fastify.decorate('tokenward', verifier);
  fastify.decorate('requireScopes', (...scopes: string[]) => guard({ scopes }));
  fastify.decorate('requireAnyScope', (...scopes: string[]) => guard({ anyScopes: scopes }));
  fastify.decorate('requireStepUp', (required: StepUpRequirement) => guard({ acrValues: required.acrValues, maxAge: required.maxAge }));

  // RFC 9728: the resource's metadata, public (GET, and HEAD by Fastify's exposeHeadRoutes).
  const metadata = verifier.resourceMetadata;
  if (metadata !== undefined) {
    fastify.get(metadata.path, { config: { public: true } }, async (request, reply) => {
      const answer = metadata.answer(request.method);
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    });
  }

  fastify.addHook('onRoute', (route: RouteOptions) => {
    const config = (route.config ?? {}) as FastifyContextConfig;
    route.config = { ...config, [POLICY]: policyOf(config) } as RouteOptions['config'];
  });

  fastify.addHook('onRequest', function tokenwardAuthenticate(request, reply, done) {
    run(policyOf(request.routeOptions.config), request, reply, done);
  });

  if (failFast) fastify.addHook('onReady', () => verifier.ready());
  // A verifier passed in belongs to the caller, who may share it between apps.
  if (!('verifier' in options)) fastify.addHook('onClose', async () => verifier.close());
};

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

export interface ReceiverOptions {
  /** The route's path, e.g. '/backchannel-logout'. */
  path: string;
  /** An event receiver of core: `backchannelLogout({ verifier: app.tokenward, clientId })`, `securityEvents(...)`. */
  receiver: EventReceiver;
}

/**
 * An event receiver of core as a POST route: `app.register(receiver, { path, receiver:
 * backchannelLogout({ verifier: app.tokenward, clientId }) })`. Public (the provider's POST carries
 * no access token). Not wrapped with fastify-plugin: the body parser it adds stays in its own
 * scope, where every body is read raw and capped, so that core decides on media type and size
 * alike on every adapter. Core answers; this only writes the answer.
 */
export const receiver: FastifyPluginAsync<ReceiverOptions> = async (fastify, options) => {
  const { path, receiver: eventReceiver } = options;
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (request, payload, done) => {
    readBody(payload, eventReceiver.maxBytes).then((body) => done(null, body), done);
  });
  fastify.post(path, { config: { public: true } }, async (request, reply) => {
    const answer = await eventReceiver.handle({ method: request.method, contentType: request.headers['content-type'], body: request.body as Buffer | undefined });
    reply.code(answer.status).headers(answer.headers);
    return reply.send(answer.body);
  });
};

export { backchannelLogout, createVerifier, isTokenwardError, RevocationList, TokenwardError } from '@tokenward/core';
export type { AccessToken, BackchannelLogoutOptions, EventReceiver, SignalEvent, TokenwardEvent, Verifier, VerifierOptions } from '@tokenward/core';
