/**
 * @tokenward/express: `app.use(tokenward(options))` verifies the bearer token of each request and
 * sets `req.auth`; `requireScopes(...)` / `requireAnyScope(...)` guard single routes. This file
 * only translates between Express and @tokenward/core, which makes every decision.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  authorizationValues,
  authorizeToken,
  createVerifier,
  isTokenwardError,
  type AccessToken,
  type ScopeRequirement,
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

// What requireScopes() needs from the tokenward() in front of it: the verifier, so that it reports
// with the same realm and events, and where rejections go. One object per middleware, attached to
// each request as a single property: on an Express 5 request every property added cost about
// 1-2 µs in the bench's CPU profiles, and two tags plus req.auth were the largest part of what a
// cached token cost.
const CONTEXT = Symbol('tokenward.context');
interface Context {
  readonly verifier: Verifier;
  readonly passErrors: boolean;
}
type Tagged = Request & { [CONTEXT]?: Context };

/** The authentication middleware, from verifier options or an existing verifier. */
export function tokenward(options: TokenwardOptions | Verifier, adapter: ExpressAdapterOptions = {}): RequestHandler {
  const verifier = isVerifier(options) ? options : createVerifier(options);
  const settings: ExpressAdapterOptions = isVerifier(options) ? adapter : { ...pickAdapterOptions(options), ...adapter };
  const requirement = { credentialsRequired: settings.credentialsRequired, scopes: settings.scopes, anyScopes: settings.anyScopes };
  const passErrors = settings.passErrorsToNext === true;
  const context: Context = Object.freeze({ verifier, passErrors });

  return function tokenwardMiddleware(req: Request, res: Response, next: NextFunction): void {
    (req as Tagged)[CONTEXT] = context;
    let outcome: ReturnType<Verifier['check']>;
    try {
      outcome = verifier.check({ authorization: authorizationValues(req), url: req.originalUrl }, requirement);
    } catch (error) {
      reject(error, res, next, passErrors);
      return;
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (token) => {
          if (token !== undefined) req.auth = token;
          next();
        },
        (error: unknown) => reject(error, res, next, passErrors),
      );
      return;
    }
    if (outcome !== undefined) req.auth = outcome;
    next();
  };
}

/** Lets the request through only if its token has every one of `scopes`. */
export function requireScopes(...scopes: string[]): RequestHandler {
  return scopeGuard({ scopes });
}

/** Lets the request through only if its token has at least one of `scopes`. */
export function requireAnyScope(...scopes: string[]): RequestHandler {
  return scopeGuard({ anyScopes: scopes });
}

function scopeGuard(required: ScopeRequirement): RequestHandler {
  return function tokenwardScopes(req: Request, res: Response, next: NextFunction): void {
    const context = (req as Tagged)[CONTEXT];
    try {
      // Without tokenward() in front there is no token, which core refuses as a 401 (fail closed).
      if (context !== undefined) context.verifier.authorize(req.auth, required);
      else authorizeToken(req.auth, required);
    } catch (error) {
      reject(error, res, next, context?.passErrors === true);
      return;
    }
    next();
  };
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

function isVerifier(value: TokenwardOptions | Verifier): value is Verifier {
  return typeof (value as Verifier).authenticate === 'function';
}

function pickAdapterOptions(options: TokenwardOptions): ExpressAdapterOptions {
  const { credentialsRequired, passErrorsToNext, scopes, anyScopes } = options;
  return { credentialsRequired, passErrorsToNext, scopes, anyScopes };
}

export {
  createVerifier,
  isTokenwardError,
  RevocationList,
  TokenwardError,
} from '@tokenward/core';
export type { AccessToken, TokenwardEvent, Verifier, VerifierOptions } from '@tokenward/core';
