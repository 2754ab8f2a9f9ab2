/** Route metadata read by TokenwardGuard, and the `@Auth()` parameter decorator. */
import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import { routePolicy, type AccessToken, type DpopMode, type StepUpRequirement } from '@tokenward/core';

export const SCOPES_KEY = 'tokenward:scopes';
export const ANY_SCOPE_KEY = 'tokenward:anyScopes';
export const PUBLIC_KEY = 'tokenward:public';
export const OPTIONAL_KEY = 'tokenward:optional';
export const DPOP_KEY = 'tokenward:dpop';
export const STEP_UP_KEY = 'tokenward:stepUp';

/** The token must carry every one of `scopes`. On a class and a handler, both sets apply. */
export const Scopes = (...scopes: string[]) => SetMetadata(SCOPES_KEY, scopes);

/** The token must carry at least one of `scopes`. On a class and a handler, both conditions apply. */
export const AnyScope = (...scopes: string[]) => SetMetadata(ANY_SCOPE_KEY, scopes);

/**
 * No authentication for this handler, or for every handler of this class. It never lifts scopes
 * declared on the same target or a more specific one (those routes stay protected); on a
 * handler it does lift its controller's scopes.
 */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/**
 * Requests without credentials pass with no token; a bad token is still refused, and a route
 * that also declares scopes still refuses an anonymous request (401).
 */
export const OptionalAuth = () => SetMetadata(OPTIONAL_KEY, true);

/**
 * DPoP (RFC 9449) on this handler or every handler of this class, the handler's winning:
 * 'required' refuses Bearer tokens, 'disabled' the DPoP scheme. Unset: the verifier's mode.
 */
export const Dpop = (mode: DpopMode) => SetMetadata(DPOP_KEY, mode);

/**
 * RFC 9470 step-up: the user must have authenticated as asked (the token's `acr` one of
 * `acrValues`, its `auth_time` at most `maxAge` seconds ago), else a 401
 * `insufficient_user_authentication`. On a class and a handler, both apply.
 */
export const StepUp = (required: StepUpRequirement) => {
  // Checked by core where it is declared: a mistake fails the app's start, not a request.
  routePolicy({ acrValues: required.acrValues, maxAge: required.maxAge });
  return SetMetadata(STEP_UP_KEY, required);
};

/** The verified access token of the request (undefined on public or optional routes without one). */
export const Auth = createParamDecorator((_data: unknown, context: ExecutionContext): AccessToken | undefined => {
  return context.switchToHttp().getRequest<{ auth?: AccessToken | null }>().auth ?? undefined;
});
