/**
 * @tokenward/express: `app.use(tokenward(options))` verifies the bearer token of each request and
 * sets `req.auth`; `requireScopes(...)` / `requireAnyScope(...)` guard single routes. This file
 * only translates between Express and @tokenward/core, which makes every decision.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
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
  type ScopeRequirement,
  type StepUpRequirement,
  type TokenwardError,
  type Verifier,
  type VerifierOptions,
} from '@tokenward/core';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified access token, set by tokenward(); undefined on optional-auth routes without one. */
      auth?: AccessToken;
    }
  }
}

export interface ExpressAdapterOptions extends ScopeRequirement {
  /** When false, requests without bearer credentials pass with `req.auth` undefined. Default true. */
  credentialsRequired?: boolean;
  /**
   * When true, rejections go to `next(err)` (the error has `status`, `statusCode`, `headers`,
   * `body`, `reason`) instead of being answered here. Default false.
   */
  passErrorsToNext?: boolean;
}

export type TokenwardOptions = VerifierOptions & ExpressAdapterOptions;

/**
 * The second argument of `tokenward()`: the adapter options, and the DPoP mode of the routes
 * behind this middleware (RFC 9449: 'required' refuses Bearer tokens, 'disabled' the DPoP
 * scheme). In the first argument `dpop` configures the verifier's DPoP instead.
 */
export interface ExpressRouteOptions extends ExpressAdapterOptions {
  dpop?: DpopMode;
}

// What requireScopes() needs from the tokenward() in front of it: the verifier, so that it reports
// with the same realm and events, and where rejections go. Kept beside the request, not on it:
// each property added to an Express 5 request copies the request's whole map (README,
// Contributing), and a WeakMap entry costs less (callgrind, Express repeated token: 592,000
// instructions per request against 605,000 with a symbol property; the no-op gauge 563,000).
const CONTEXTS = new WeakMap<Request, Context>();
interface Context {
  readonly verifier: Verifier;
  readonly passErrors: boolean;
}

/**
 * The authentication middleware, from verifier options or an existing verifier: `tokenward(verifier)`,
 * or `{ verifier }` as the Fastify and Nest adapters take it.
 */
export function tokenward(options: TokenwardOptions | Verifier | ({ verifier: Verifier } & ExpressAdapterOptions), adapter: ExpressRouteOptions = {}): RequestHandler {
  const given = isVerifier(options) ? options : 'verifier' in options ? options.verifier : undefined;
  const verifier = given ?? createVerifier(options as TokenwardOptions);
  const settings: ExpressRouteOptions = isVerifier(options) ? adapter : { ...pickAdapterOptions(options as ExpressAdapterOptions), ...adapter };
  const policy = routePolicy({ credentialsRequired: settings.credentialsRequired, scopes: settings.scopes, anyScopes: settings.anyScopes, dpop: settings.dpop });
  const context: Context = Object.freeze({ verifier, passErrors: settings.passErrorsToNext === true });
  const metadata = verifier.resourceMetadata;

  return function tokenwardMiddleware(req: Request, res: Response, next: NextFunction): void {
    // RFC 9728: the resource's metadata, public, answered by the middleware that guards the rest.
    if (metadata !== undefined && pathOf(req.originalUrl) === metadata.path) {
      const answer = metadata.answer(req.method);
      res.status(answer.status).set(answer.headers).end(answer.body);
      return;
    }
    CONTEXTS.set(req, context);
    // A tokenward() in front already admitted the token: checked against this policy, not verified again.
    run(context, policy, req, res, next, req.auth);
  };
}

/** Lets the request through only if its token has every one of `scopes`. */
export function requireScopes(...scopes: string[]): RequestHandler {
  return guard({ scopes });
}

/** Lets the request through only if its token has at least one of `scopes`. */
export function requireAnyScope(...scopes: string[]): RequestHandler {
  return guard({ anyScopes: scopes });
}

/**
 * Lets the request through only if the user authenticated as the route asks (RFC 9470): the
 * token's `acr` one of `acrValues`, its `auth_time` at most `maxAge` seconds ago. Else a 401
 * `insufficient_user_authentication` whose challenge says what to ask the provider for.
 */
export function requireStepUp(required: StepUpRequirement): RequestHandler {
  return guard({ acrValues: required.acrValues, maxAge: required.maxAge });
}

/** Lets the request through only with a DPoP-bound token and its proof (RFC 9449): Bearer tokens are refused here. */
export function requireDpop(): RequestHandler {
  return guard({ dpop: 'required' });
}

/** A later stage of `required` after tokenward(): its token checked again, never verified again. */
function guard(required: RouteRequirement): RequestHandler {
  const policy = routePolicy(required);
  return function tokenwardScopes(req: Request, res: Response, next: NextFunction): void {
    const context = CONTEXTS.get(req);
    if (context !== undefined) {
      run(context, policy, req, res, next, req.auth);
      return;
    }
    // No tokenward() in front: a mistake in the app, not the client's. Refused (fail closed) and
    // handed to Express's error handler as a 500 that names it, rather than a silent 401.
    next(new Error('tokenward: requireScopes()/requireAnyScope()/requireStepUp()/requireDpop() needs tokenward() mounted in front of it on this route'));
  };
}

/** Core's decision on the request under `policy`, then on to the next handler or the rejection. */
function run(context: Context, policy: RoutePolicy, req: Request, res: Response, next: NextFunction, admitted?: AccessToken): void {
  let outcome: ReturnType<Verifier['check']>;
  try {
    outcome = context.verifier.check(nodeRequest(req, req.originalUrl, () => originOf(req)), policy, admitted);
  } catch (error) {
    reject(error, res, next, context.passErrors);
    return;
  }
  if (outcome instanceof Promise) {
    outcome.then(
      (token) => {
        if (token !== undefined) req.auth = token;
        next();
      },
      (error: unknown) => reject(error, res, next, context.passErrors),
    );
    return;
  }
  if (outcome !== undefined && outcome !== admitted) req.auth = outcome;
  next();
}

/**
 * `scheme://host[:port]` as Express sees the request, for the DPoP `htu`: `req.protocol` honours
 * the app's `trust proxy` for X-Forwarded-Proto, and the host is X-Forwarded-Host only when that
 * setting trusts the peer, else Host, as Express 5's `req.host` reads it (Express 4 has no
 * getter that keeps the port).
 */
function originOf(req: Request): string | undefined {
  const trust = req.app.get('trust proxy fn') as ((address: string | undefined, hop: number) => boolean) | undefined;
  const forwarded = req.get('x-forwarded-host');
  const host = forwarded !== undefined && trust?.(req.socket.remoteAddress, 0) === true ? forwarded.split(',')[0]?.trim() : req.get('host');
  return host === undefined || host === '' ? undefined : `${req.protocol}://${host}`;
}

function reject(error: unknown, res: Response, next: NextFunction, passErrors: boolean): void {
  // Core only ever throws TokenwardError; anything else is not ours to describe.
  if (passErrors || !isTokenwardError(error) || res.headersSent) {
    next(error);
    return;
  }
  respond(res, error);
}

/** Answers a rejection the RFC 6750 way: status, WWW-Authenticate (or Retry-After), JSON body. */
export function respond(res: Response, error: TokenwardError): void {
  res.status(error.status).set(error.headers).json(error.body);
}

/**
 * An event receiver of core (`backchannelLogout`, `securityEvents`) as a route handler:
 * `app.post('/backchannel-logout', receiver(backchannelLogout({ verifier, clientId })))`, mounted
 * in front of tokenward(), since the provider's POST carries no access token. A body an Express
 * parser already read (`express.urlencoded()`) is used as it made it; otherwise it is read here,
 * capped. Core answers; this only writes the answer.
 */
export function receiver(eventReceiver: EventReceiver): RequestHandler {
  return function tokenwardReceiver(req: Request, res: Response, next: NextFunction): void {
    const body = req.readableEnded ? Promise.resolve(req.body as Parameters<EventReceiver['handle']>[0]['body']) : readBody(req, eventReceiver.maxBytes);
    body
      .then((read) => eventReceiver.handle({ method: req.method, contentType: req.get('content-type'), body: read }))
      .then((answer) => {
        res.status(answer.status).set(answer.headers);
        if (answer.body === undefined) res.end();
        else res.send(answer.body);
      }, next);
  };
}

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

function isVerifier(value: object): value is Verifier {
  return typeof (value as Verifier).authenticate === 'function';
}

function pickAdapterOptions(options: ExpressAdapterOptions): ExpressAdapterOptions {
  const { credentialsRequired, passErrorsToNext, scopes, anyScopes } = options;
  return { credentialsRequired, passErrorsToNext, scopes, anyScopes };
}

export {
  backchannelLogout,
  createVerifier,
  isTokenwardError,
  RevocationList,
  TokenwardError,
} from '@tokenward/core';
export type { AccessToken, BackchannelLogoutOptions, EventReceiver, SignalEvent, StepUpRequirement, TokenwardEvent, Verifier, VerifierOptions } from '@tokenward/core';
