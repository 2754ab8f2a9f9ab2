/** Route metadata read by TokenwardGuard, and the `@Auth()` parameter decorator. */
import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { AccessToken } from '@tokenward/core';

export const SCOPES_KEY = 'tokenward:scopes';
export const ANY_SCOPE_KEY = 'tokenward:anyScopes';
export const PUBLIC_KEY = 'tokenward:public';
export const OPTIONAL_KEY = 'tokenward:optional';

/** The token must carry every one of `scopes`. On a class and a handler, both sets apply. */
export const Scopes = (...scopes: string[]) => SetMetadata(SCOPES_KEY, scopes);

/** The token must carry at least one of `scopes`. On a class and a handler, both conditions apply. */
export const AnyScope = (...scopes: string[]) => SetMetadata(ANY_SCOPE_KEY, scopes);

/** No authentication for this handler (or every handler of this class). */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

/** Requests without credentials pass with no token; a bad token is still refused. */
export const OptionalAuth = () => SetMetadata(OPTIONAL_KEY, true);

/** The verified access token of the request (undefined on public or optional routes without one). */
export const Auth = createParamDecorator((_data: unknown, context: ExecutionContext): AccessToken | undefined => {
  return context.switchToHttp().getRequest<{ auth?: AccessToken | null }>().auth ?? undefined;
});
