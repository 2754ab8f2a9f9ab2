/**
 * Finding an SSF transmitter's `jwks_uri` (Shared Signals Framework 1.0 §7): its configuration
 * at `/.well-known/ssf-configuration`, placed between the host and the issuer's path (§7.2:
 * `https://tr.example.com/issuer1` is read at `https://tr.example.com/.well-known/ssf-configuration/issuer1`).
 * The document's `issuer` must equal the configured issuer exactly (§7.2.4), so one transmitter's
 * configuration cannot hand out another's keys; the SETs' `iss` is then held to the same value.
 * Legacy locations (`risc-configuration`, `sse-configuration`) are not tried: a transmitter that
 * only has those is configured with its `jwksUri`.
 */
import { checkUrl, fetchJson, SourceError, type FetchJsonOptions } from '../fetch-json.js';

/** §7.2: the well-known segment between host and path, the path's trailing "/" dropped. */
export function ssfConfigurationUrl(issuer: string): string {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, '');
  return `${url.origin}/.well-known/ssf-configuration${path}`;
}

export async function discoverTransmitterJwksUri(issuer: string, options: FetchJsonOptions): Promise<string> {
  const url = ssfConfigurationUrl(issuer);
  const configuration = await fetchJson(url, options);
  if (typeof configuration !== 'object' || configuration === null || Array.isArray(configuration)) throw new SourceError('metadata_invalid', `${url} is not a JSON object`);
  const { issuer: stated, jwks_uri: jwksUri } = configuration as Record<string, unknown>;
  if (stated !== issuer) {
    const slash = typeof stated === 'string' && stated.replace(/\/$/, '') === issuer.replace(/\/$/, '') ? ' (they differ only in a trailing slash: configure the transmitter issuer exactly as its configuration writes it)' : '';
    throw new SourceError('metadata_invalid', `${url} names the issuer ${JSON.stringify(stated)}, not the configured transmitter ${JSON.stringify(issuer)}${slash}`);
  }
  // §7.1: jwks_uri is optional in general, but a transmitter that signs its SETs publishes one.
  if (typeof jwksUri !== 'string') throw new SourceError('metadata_invalid', `${url} has no jwks_uri`);
  checkUrl(jwksUri, options.allowInsecureHttp);
  return jwksUri;
}
