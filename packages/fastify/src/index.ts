/**
 * @tokenward/fastify: `await app.register(tokenward, { issuer, audience })` protects every route;
 * routes opt out with `config: { public: true }`, relax with `config: { optional: true }`, and
 * ask for scopes with `config: { scopes }` / `config: { anyScopes }` or
 * `onRequest: app.requireScopes(...)`. The plugin translates between Fastify and
 * @tokenward/core, which makes every decision.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import {
  authorizationValues,
  createVerifier,
  type AccessToken,
  type ScopeRequirement,
  type TokenwardError,
  type Verifier,
  type VerifierOptions,
  isTokenwardError,
} from '@tokenward/core';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token; null on public routes and optional-auth requests without one. */
    auth: AccessToken | null;
  }
  interface FastifyInstance {
    /** The verifier behind the plugin (shared key cache and revocation list). */
    tokenward: Verifier;
    /** An onRequest hook that lets the request through only with every one of `scopes`. */
    requireScopes(...scopes: string[]): onRequestAsyncHookHandler;
    /** An onRequest hook that lets the request through with at least one of `scopes`. */
    requireAnyScope(...scopes: string[]): onRequestAsyncHookHandler;
  }
  interface FastifyContextConfig {
    /** Skip authentication for this route. */
    public?: boolean;
    /** Authenticate when credentials are present; let anonymous requests through. */
    optional?: boolean;
    /** Scopes the token must all have. */
    scopes?: readonly string[];
    /** Scopes of which the token must have at least one. */
    anyScopes?: readonly string[];
  }
}

export interface FastifyAdapterOptions {
  /** When false, requests without credentials pass with `request.auth` null on every route. Default true. */
  credentialsRequired?: boolean;
  /** When false, no route is protected unless it uses `app.requireScopes(...)`/`requireAnyScope`. Default true. */
  protectAll?: boolean;
}

export type TokenwardPluginOptions = (VerifierOptions | { verifier: Verifier }) & FastifyAdapterOptions;

async function plugin(fastify: FastifyInstance, options: TokenwardPluginOptions): Promise<void> {
  const owned = !('verifier' in options);
  const verifier = 'verifier' in options ? options.verifier : createVerifier(options);
  const credentialsRequired = options.credentialsRequired ?? true;

  fastify.decorateRequest('auth', null);
  fastify.decorate('tokenward', verifier);
  fastify.decorate('requireScopes', (...scopes: string[]) => scopeHook(verifier, { scopes }));
  fastify.decorate('requireAnyScope', (...scopes: string[]) => scopeHook(verifier, { anyScopes: scopes }));

  if (options.protectAll !== false) {
    fastify.addHook('onRequest', async (request, reply) => {
      const config = request.routeOptions.config;
      if (config.public === true) return;
      try {
        const token = await verifier.authenticate(
          { authorization: authorizationValues(request.raw), url: request.raw.url },
          { credentialsRequired: credentialsRequired && config.optional !== true, scopes: config.scopes, anyScopes: config.anyScopes },
        );
        request.auth = token ?? null;
      } catch (error) {
        return reject(error, request, reply);
      }
    });
  }
  if (owned) fastify.addHook('onClose', async () => verifier.close());
}

function scopeHook(verifier: Verifier, required: ScopeRequirement): onRequestAsyncHookHandler {
  return async function tokenwardScopes(request, reply) {
    try {
      // With protectAll off there may be no token yet: authenticate here, then check the scopes.
      const token = request.auth ?? (await verifier.authenticate({ authorization: authorizationValues(request.raw), url: request.raw.url }));
      request.auth = verifier.authorize(token, required);
    } catch (error) {
      return reject(error, request, reply);
    }
  };
}

/**
 * A rejection goes to the user's error handler when the route has one (it gets the TokenwardError
 * with `statusCode`, `code`, `headers`, `body`, `reason`). Fastify's root default handler would
 * reshape the body into `{ statusCode, code, error, message }`, so when no user handler applies
 * the plugin answers itself, exactly as the other adapters do. Fastify's root handler is the
 * unbound function `defaultErrorHandler`; every handler set with setErrorHandler is bound, so
 * the name tells them apart.
 */
function reject(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (!isTokenwardError(error) || request.server.errorHandler.name !== 'defaultErrorHandler') throw error;
  return respond(reply, error);
}

/** Answers a rejection the RFC 6750 way: status, WWW-Authenticate (or Retry-After), JSON body. */
export function respond(reply: FastifyReply, error: TokenwardError): FastifyReply {
  return reply.code(error.status).headers(error.headers).header('cache-control', 'no-store').send(error.body);
}

export const tokenward = fp(plugin, { name: '@tokenward/fastify', fastify: '5.x' });
export default tokenward;

export { createVerifier, isTokenwardError, RevocationList, TokenwardError } from '@tokenward/core';
export type { AccessToken, TokenwardEvent, Verifier, VerifierOptions } from '@tokenward/core';
