/**
 * The issuer's metadata: OpenID Connect Discovery 1.0 §4 first, then RFC 8414 §3. The metadata's
 * `issuer` must equal the configured issuer exactly (OIDC Discovery §4.3, RFC 8414 §3.3), so one
 * issuer's metadata cannot hand out another's keys or send its tokens to another's endpoint.
 */
import { checkUrl, SourceError, fetchJson, type FetchJsonOptions } from './fetch-json.js';

function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, '');
  return [
    `${url.origin}${path}/.well-known/openid-configuration`,
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
  ];
}

/** The URL `member` of the issuer's metadata (`jwks_uri`, `introspection_endpoint`), checked as every URL we fetch is. */
export async function discoverEndpoint(issuer: string, member: string, options: FetchJsonOptions): Promise<string> {
  let failure: SourceError | undefined;
  for (const url of metadataUrls(issuer)) {
    try {
      const metadata = await fetchJson(url, options);
      if (typeof metadata !== 'object' || metadata === null) throw new SourceError('metadata_invalid', `${url} is not a JSON object`);
      const { issuer: stated, [member]: endpoint } = metadata as Record<string, unknown>;
      if (stated !== issuer) {
        const slash = typeof stated === 'string' && stated.replace(/\/$/, '') === issuer.replace(/\/$/, '') ? ' (they differ only in a trailing slash: configure the issuer exactly as the metadata writes it)' : '';
        throw new SourceError('metadata_invalid', `${url} names the issuer ${JSON.stringify(stated)}, not the configured ${JSON.stringify(issuer)}${slash}`);
      }
      if (typeof endpoint !== 'string') throw new SourceError('metadata_invalid', `${url} has no ${member}`);
      checkUrl(endpoint, options.allowInsecureHttp);
      return endpoint;
    } catch (cause) {
      failure = cause instanceof SourceError ? cause : new SourceError('network', String(cause));
      // Only a missing document moves on to the next location; a wrong one is an answer.
      if (failure.failure !== 'http_status') throw failure;
    }
  }
  throw failure as SourceError;
}

export function discoverJwksUri(issuer: string, options: FetchJsonOptions): Promise<string> {
  return discoverEndpoint(issuer, 'jwks_uri', options);
}
