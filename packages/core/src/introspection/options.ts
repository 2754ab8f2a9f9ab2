/**
 * The `introspection` option (RFC 7662) and its resolution, checked at construction like every
 * other option: a mistake is a TypeError at startup, not a 503 on the first opaque token.
 */
import { defaultFetch, isLoopbackHost, type FetchJsonOptions, type FetchLike } from '../fetch-json.js';
import { isTemplate } from '../issuers.js';

export interface IntrospectionOptions {
  /** The client this API authenticates as at the introspection endpoint (RFC 7662 §2.1). */
  clientId: string;
  clientSecret: string;
  /** RFC 6749 §2.3.1: 'client_secret_basic' (default) or 'client_secret_post'. */
  clientAuthentication?: ClientAuthentication;
  /** Default: `introspection_endpoint` of the issuer's metadata (RFC 8414 §2). */
  endpoint?: string;
  /** The issuer whose server introspects its tokens. Default: the one configured issuer. */
  issuer?: string;
  /**
   * Which tokens are introspected: 'opaque' (default), those that are not a compact JWS (a JWS is
   * verified here, by its issuer's keys, as without introspection); 'all', every token, for a
   * server whose revocations must count at once.
   */
  tokens?: 'opaque' | 'all';
  /** RFC 9701: ask for a signed JWT response and verify it with the issuer's keys. Default false. */
  signedResponse?: boolean;
  /**
   * Positive answers are kept until the token's `exp` or `maxAge` seconds, whichever is sooner
   * (default 300); `active: false` for `inactiveMaxAge` seconds (default 30). `max` bounds each
   * (default 10,000 active, 1,000 inactive). False: every request asks.
   */
  cache?: { max?: number; maxAge?: number; inactiveMax?: number; inactiveMaxAge?: number } | false;
  /**
   * At most `calls` introspections per `window` milliseconds (default 100 per 1,000): a flood of
   * made-up tokens cannot become a flood at the authorization server. Beyond it, a token that is
   * not cached is answered 503 with Retry-After until the window ends.
   */
  rateLimit?: { calls?: number; window?: number };
  /**
   * Refuse an active answer whose `token_type` is missing (RFC 7662 §2.2 makes it optional; a
   * refresh token introspected by mistake often has none). Default true; any `token_type` given
   * must be Bearer or DPoP either way.
   */
  requireTokenType?: boolean;
  /** Milliseconds for one introspection, body included. Default 5,000. */
  timeout?: number;
  /** Byte cap on the answer. Default 64 KiB. */
  maxBytes?: number;
  /** Default: `jwks.fetch`, else the global fetch. */
  fetch?: FetchLike;
}

export type ClientAuthentication = 'client_secret_basic' | 'client_secret_post';
const CLIENT_AUTHENTICATION: readonly ClientAuthentication[] = ['client_secret_basic', 'client_secret_post'];

export interface IntrospectionSettings {
  readonly issuer: string;
  /** Undefined: discovered from the issuer's metadata. */
  readonly endpoint: string | undefined;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly clientAuthentication: ClientAuthentication;
  readonly everyToken: boolean;
  readonly signedResponse: boolean;
  /** Undefined: nothing cached. */
  readonly cache: { readonly max: number; readonly maxAge: number; readonly inactiveMax: number; readonly inactiveMaxAge: number } | undefined;
  readonly rateLimit: { readonly calls: number; readonly window: number };
  readonly requireTokenType: boolean;
  readonly fetch: FetchJsonOptions;
}

export const INTROSPECTION_DEFAULTS = {
  cache: { max: 10_000, maxAge: 300, inactiveMax: 1_000, inactiveMaxAge: 30 },
  rateLimit: { calls: 100, window: 1_000 },
  timeout: 5_000,
  maxBytes: 64 * 1024,
} as const;

// RFC 7662 §2.2 answers are JSON; RFC 9701 §5 signed ones their own type.
const JSON_ACCEPT = 'application/json';
export const JWT_RESPONSE_TYPE = 'application/token-introspection+jwt';

/** What the rest of the options say that introspection needs. */
export interface IntrospectionContext {
  readonly issuers: readonly string[];
  readonly jwksFetch: FetchLike | undefined;
  readonly allowInsecureHttp: boolean;
}

export function introspectionSettings(options: IntrospectionOptions | undefined, context: IntrospectionContext): IntrospectionSettings | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) throw new TypeError('tokenward: introspection must be an object ({ clientId, clientSecret, ... })');
  for (const name of ['clientId', 'clientSecret'] as const) {
    if (typeof options[name] !== 'string' || options[name] === '') throw new TypeError(`tokenward: introspection.${name} is required (a non-empty string)`);
  }
  const issuer = options.issuer ?? (context.issuers.length === 1 ? context.issuers[0] : undefined);
  if (issuer === undefined) throw new TypeError('tokenward: introspection.issuer is required when several issuers are configured: say whose server introspects');
  if (!context.issuers.includes(issuer)) throw new TypeError(`tokenward: introspection.issuer ${JSON.stringify(issuer)} is not a configured issuer (${context.issuers.join(', ')})`);
  if (isTemplate(issuer)) throw new TypeError('tokenward: introspection needs an exact issuer, not a {tenantid} template');
  if (options.endpoint !== undefined) checkEndpoint(options.endpoint, context.allowInsecureHttp);
  const clientAuthentication = options.clientAuthentication ?? 'client_secret_basic';
  if (!CLIENT_AUTHENTICATION.includes(clientAuthentication)) throw new TypeError(`tokenward: introspection.clientAuthentication must be one of ${CLIENT_AUTHENTICATION.join(', ')}`);
  if (options.tokens !== undefined && options.tokens !== 'opaque' && options.tokens !== 'all') throw new TypeError("tokenward: introspection.tokens must be 'opaque' or 'all'");
  // Every token to one issuer's server would hand it the other issuers' tokens too.
  if (options.tokens === 'all' && context.issuers.length > 1) throw new TypeError("tokenward: introspection.tokens 'all' needs a single configured issuer (the other issuers' tokens would be sent to its server)");
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw new TypeError('tokenward: introspection.fetch must be a function');
  const rateLimit = options.rateLimit ?? INTROSPECTION_DEFAULTS.rateLimit;
  if (typeof rateLimit !== 'object' || rateLimit === null) throw new TypeError('tokenward: introspection.rateLimit must be { calls, window }');
  const signedResponse = options.signedResponse === true;
  return {
    issuer,
    endpoint: options.endpoint,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    clientAuthentication,
    everyToken: options.tokens === 'all',
    signedResponse,
    cache: cacheSettings(options.cache),
    rateLimit: {
      calls: count(rateLimit.calls, INTROSPECTION_DEFAULTS.rateLimit.calls, 'introspection.rateLimit.calls'),
      window: count(rateLimit.window, INTROSPECTION_DEFAULTS.rateLimit.window, 'introspection.rateLimit.window'),
    },
    requireTokenType: options.requireTokenType ?? true,
    fetch: {
      timeout: count(options.timeout, INTROSPECTION_DEFAULTS.timeout, 'introspection.timeout'),
      maxBytes: count(options.maxBytes, INTROSPECTION_DEFAULTS.maxBytes, 'introspection.maxBytes'),
      fetch: options.fetch ?? context.jwksFetch ?? defaultFetch,
      accept: signedResponse ? JWT_RESPONSE_TYPE : JSON_ACCEPT,
      allowInsecureHttp: context.allowInsecureHttp,
    },
  };
}

function cacheSettings(cache: IntrospectionOptions['cache']): IntrospectionSettings['cache'] {
  if (cache === false) return undefined;
  if (cache !== undefined && (typeof cache !== 'object' || cache === null)) throw new TypeError('tokenward: introspection.cache must be an object or false');
  const defaults = INTROSPECTION_DEFAULTS.cache;
  return {
    max: count(cache?.max, defaults.max, 'introspection.cache.max'),
    maxAge: count(cache?.maxAge, defaults.maxAge, 'introspection.cache.maxAge'),
    inactiveMax: count(cache?.inactiveMax, defaults.inactiveMax, 'introspection.cache.inactiveMax'),
    inactiveMaxAge: count(cache?.inactiveMaxAge, defaults.inactiveMaxAge, 'introspection.cache.inactiveMaxAge'),
  };
}

function count(value: number | undefined, fallback: number | undefined, name: string): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (!(Number.isInteger(value) && (value as number) > 0)) throw new TypeError(`tokenward: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return value as number;
}

function checkEndpoint(endpoint: string, allowInsecureHttp: boolean): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TypeError(`tokenward: introspection.endpoint must be an absolute https URL, got ${JSON.stringify(endpoint)}`);
  }
  // The client secret travels with every call: never in the clear past this machine.
  if (url.protocol === 'https:' || (url.protocol === 'http:' && (allowInsecureHttp || isLoopbackHost(url.hostname)))) return;
  throw new TypeError(`tokenward: introspection.endpoint must be an https URL (http only for loopback, or with jwks.allowInsecureHttp), got ${JSON.stringify(endpoint)}`);
}
