/**
 * Which issuers the verifier accepts, and the key set of each. An issuer is matched exactly
 * against `iss` (RFC 7519 §4.1.1, OIDC Core §3.1.3.7), and its keys come only from its own JWKS,
 * so one issuer's keys never verify another's tokens.
 *
 * Multi-tenant providers (Microsoft Entra ID) issue from one URL per tenant:
 * `https://login.microsoftonline.com/{tenantid}/v2.0`. Such an issuer is configured as a template;
 * a token matches it only when its `iss` is the template with the token's own `tid` claim in
 * place of `{tenantid}`, so the tenant is read from the token and then the issuer is exact. The
 * tenants accepted are a list, or `'*'` with one key set configured for the template (Entra's
 * keys are common to all tenants): a token naming a made-up tenant never makes us fetch anything.
 */
import { LRUCache } from 'lru-cache';
import type { RemoteJwks } from './keys/remote-jwks.js';

export const TENANT_PLACEHOLDER = '{tenantid}';
// Entra tenant ids are GUIDs.
const TENANT_ID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
// Tenants of a listed template whose key sets are kept; more are fetched again when they come back.
const MAX_TENANT_KEY_SETS = 100;

/** Makes the key set of an issuer: its configured JWKS URL, else discovery from the issuer. */
export type KeySetFactory = (issuer: string, jwksUri: string | undefined) => RemoteJwks;

interface Template {
  readonly template: string;
  readonly pattern: RegExp;
  readonly tenants: ReadonlySet<string> | '*';
  /** One key set for every tenant (a JWKS URL configured for the template). */
  readonly shared: RemoteJwks | undefined;
  readonly perTenant: LRUCache<string, RemoteJwks>;
  readonly jwksUri: string | undefined;
}

export class Issuers {
  private readonly exact = new Map<string, RemoteJwks>();
  private readonly templates: Template[] = [];

  constructor(
    issuers: readonly string[],
    jwksUriOf: (issuer: string) => string | undefined,
    tenants: readonly string[] | '*' | undefined,
    private readonly keySet: KeySetFactory,
  ) {
    for (const issuer of issuers) {
      const jwksUri = jwksUriOf(issuer);
      if (!isTemplate(issuer)) {
        this.exact.set(issuer, keySet(issuer, jwksUri));
        continue;
      }
      const [before, after] = issuer.split(TENANT_PLACEHOLDER) as [string, string];
      this.templates.push({
        template: issuer,
        pattern: new RegExp(`^${escape(before)}(${TENANT_ID})${escape(after)}$`),
        tenants: tenants === '*' ? '*' : new Set((tenants ?? []).map((tenant) => tenant.toLowerCase())),
        shared: jwksUri === undefined ? undefined : keySet(issuer, jwksUri),
        perTenant: new LRUCache({ max: MAX_TENANT_KEY_SETS }),
        jwksUri,
      });
    }
  }

  /**
   * The key set for a token from `iss` (with `claims`, not yet verified), or undefined when the
   * issuer is not one we accept: then nothing is fetched.
   */
  keysFor(iss: unknown, claims: Readonly<Record<string, unknown>>): RemoteJwks | undefined {
    if (typeof iss !== 'string') return undefined;
    const exact = this.exact.get(iss);
    if (exact !== undefined || this.templates.length === 0) return exact;
    const match = this.templateOf(iss, claims);
    if (match === undefined) return undefined;
    const { template, tenant } = match;
    if (template.shared !== undefined) return template.shared;
    let keys = template.perTenant.get(tenant);
    if (keys === undefined) template.perTenant.set(tenant, (keys = this.keySet(iss, undefined)));
    return keys;
  }

  /** Whether `iss` is an issuer we accept for a token with these (verified) claims. */
  accepts(iss: string, claims: Readonly<Record<string, unknown>>): boolean {
    return this.exact.has(iss) || this.templateOf(iss, claims) !== undefined;
  }

  /** Every key set that can be loaded ahead of any token, with an issuer it serves (for `ready()`). */
  get knownKeySets(): Array<{ issuer: string; keys: RemoteJwks }> {
    const sets = new Map<RemoteJwks, string>();
    for (const [issuer, keys] of this.exact) if (!sets.has(keys)) sets.set(keys, issuer);
    for (const template of this.templates) {
      if (template.shared !== undefined) {
        if (!sets.has(template.shared)) sets.set(template.shared, template.template);
      } else if (template.tenants !== '*') {
        for (const tenant of template.tenants) {
          const issuer = template.template.replace(TENANT_PLACEHOLDER, tenant);
          sets.set(this.keysFor(issuer, { tid: tenant }) as RemoteJwks, issuer);
        }
      }
    }
    return [...sets].map(([keys, issuer]) => ({ issuer, keys }));
  }

  /** Every key set made so far (for `close()`: none is made to be closed). */
  get keySets(): RemoteJwks[] {
    const sets = new Set(this.exact.values());
    for (const template of this.templates) {
      if (template.shared !== undefined) sets.add(template.shared);
      for (const keys of template.perTenant.values()) sets.add(keys);
    }
    return [...sets];
  }

  /** The configured issuers, templates as written. */
  get configured(): string[] {
    return [...this.exact.keys(), ...this.templates.map((template) => template.template)];
  }

  private templateOf(iss: string, claims: Readonly<Record<string, unknown>>): { template: Template; tenant: string } | undefined {
    for (const template of this.templates) {
      const tenant = template.pattern.exec(iss)?.[1]?.toLowerCase();
      // The tenant in the issuer must be the token's own tid, and one we accept.
      if (tenant === undefined || typeof claims.tid !== 'string' || claims.tid.toLowerCase() !== tenant) continue;
      if (template.tenants === '*' || template.tenants.has(tenant)) return { template, tenant };
    }
    return undefined;
  }
}

export function isTemplate(issuer: string): boolean {
  return issuer.includes(TENANT_PLACEHOLDER);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
