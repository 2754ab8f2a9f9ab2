/**
 * RFC 9728 (OAuth 2.0 Protected Resource Metadata): what a client that meets our 401 can learn
 * without prior configuration — which authorization servers issue tokens for this resource, and
 * how to present them. Opt-in with the verifier's `protectedResource` option.
 * - §2: the document, made once from the verifier's settings: `resource`, `authorization_servers`
 *   (the configured issuers, or the option's list), `bearer_methods_supported`, `scopes_supported`,
 *   `resource_documentation`, `resource_name`, `dpop_signing_alg_values_supported` and
 *   `dpop_bound_access_tokens_required` (RFC 9449 §5.2), `tls_client_certificate_bound_access_tokens`
 *   (RFC 8705) when `mtls.certificateHeader` is set (a TLS server of the app's own cannot be seen
 *   from here).
 * - §3.1: it is served at `/.well-known/oauth-protected-resource` inserted between the resource
 *   identifier's host and its path (`https://api.example.com/v1` →
 *   `https://api.example.com/.well-known/oauth-protected-resource/v1`).
 * - §3.3: the document's `resource` is the identifier exactly, so a client can check it.
 * - §5.1: every challenge carries `resource_metadata="<that URL>"` (errors.ts).
 */
import { isLoopbackHost } from './fetch-json.js';
import type { DpopMode } from './route.js';

export interface ProtectedResourceOptions {
  /** The resource identifier (RFC 9728 §1.2): an https URL (http only on loopback) without query or fragment; usually the audience. */
  resource: string;
  /** `authorization_servers`: default, the configured issuers (without `{tenantid}` templates). */
  authorizationServers?: readonly string[];
  /** `scopes_supported`: the scopes clients may ask for this resource (recommended). */
  scopesSupported?: readonly string[];
  /** `resource_documentation`: a page for developers. */
  documentation?: string;
  /** `resource_name`: a name for people. */
  name?: string;
}

/** What the verifier knows to serve: the document, where, and how to answer a request for it. */
export interface ProtectedResourceMetadata {
  /** The path the document is served at, e.g. '/.well-known/oauth-protected-resource'. */
  readonly path: string;
  /** Its absolute URL: the challenges' `resource_metadata`. */
  readonly url: string;
  readonly document: Readonly<Record<string, unknown>>;
  /** The answer to a request for the document: 200 with it (GET, HEAD), else 405. */
  answer(method: string): { status: number; headers: Record<string, string>; body: string | undefined };
}

const WELL_KNOWN = '/.well-known/oauth-protected-resource';
// Clients may cache it; an hour keeps a changed list of authorization servers from lingering long.
const CACHE_CONTROL = 'public, max-age=3600';

export interface ResourceFacts {
  readonly issuers: readonly string[];
  readonly dpopMode: DpopMode;
  /** The DPoP proof algorithms accepted, when DPoP is on. */
  readonly dpopAlgorithms: readonly string[] | undefined;
  readonly allowQueryToken: boolean;
  /** True when a proxy forwards client certificates (mtls.certificateHeader): mTLS-bound tokens can be proven. */
  readonly certificateHeader: boolean;
}

export function protectedResourceMetadata(options: ProtectedResourceOptions, facts: ResourceFacts): ProtectedResourceMetadata {
  if (typeof options !== 'object' || options === null) throw new TypeError('tokenward: protectedResource must be { resource, ... }');
  const resource = resourceUrl(options.resource);
  const servers = options.authorizationServers ?? facts.issuers.filter((issuer) => !issuer.includes('{'));
  if (!Array.isArray(servers) || servers.length === 0 || !servers.every((server) => typeof server === 'string' && URL.canParse(server))) {
    throw new TypeError('tokenward: protectedResource.authorizationServers must be a non-empty list of issuer URLs (an issuer template cannot be listed)');
  }
  const scopes = options.scopesSupported;
  if (scopes !== undefined && (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string' && scope !== '' && !scope.includes(' ')))) {
    throw new TypeError('tokenward: protectedResource.scopesSupported must be a list of scopes');
  }
  if (options.documentation !== undefined && !(typeof options.documentation === 'string' && URL.canParse(options.documentation))) {
    throw new TypeError('tokenward: protectedResource.documentation must be a URL');
  }
  if (options.name !== undefined && typeof options.name !== 'string') throw new TypeError('tokenward: protectedResource.name must be a string');

  const document: Record<string, unknown> = {
    resource: options.resource,
    authorization_servers: [...servers],
    bearer_methods_supported: facts.allowQueryToken ? ['header', 'query'] : ['header'],
    ...(scopes === undefined ? {} : { scopes_supported: [...scopes] }),
    ...(options.documentation === undefined ? {} : { resource_documentation: options.documentation }),
    ...(options.name === undefined ? {} : { resource_name: options.name }),
    ...(facts.dpopMode === 'disabled' || facts.dpopAlgorithms === undefined ? {} : { dpop_signing_alg_values_supported: [...facts.dpopAlgorithms] }),
    ...(facts.dpopMode === 'required' ? { dpop_bound_access_tokens_required: true } : {}),
    // Only where certificates can reach the verifier: a TLS socket is the app's, a forwarded header is configured.
    ...(facts.certificateHeader ? { tls_client_certificate_bound_access_tokens: true } : {}),
  };
  const path = WELL_KNOWN + (resource.pathname === '/' ? '' : resource.pathname);
  const body = JSON.stringify(document);
  return Object.freeze({
    path,
    url: resource.origin + path,
    document: Object.freeze(document),
    answer(method: string): { status: number; headers: Record<string, string>; body: string | undefined } {
      if (method !== 'GET' && method !== 'HEAD') return { status: 405, headers: { Allow: 'GET, HEAD' }, body: undefined };
      return { status: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': CACHE_CONTROL }, body: method === 'HEAD' ? undefined : body };
    },
  });
}

function resourceUrl(value: unknown): URL {
  if (typeof value !== 'string' || !URL.canParse(value)) throw new TypeError(`tokenward: protectedResource.resource must be a URL; got ${JSON.stringify(value)}`);
  const url = new URL(value);
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname))) || url.search !== '' || value.includes('#') || url.username !== '' || url.password !== '') {
    throw new TypeError(`tokenward: protectedResource.resource must be an https URL (http only on loopback) without query, fragment or credentials; got ${JSON.stringify(value)}`);
  }
  return url;
}
