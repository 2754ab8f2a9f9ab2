/**
 * Scopes from the token (RFC 8693 §4.2 / RFC 9068 §2.2.3 `scope`, space-delimited; Azure AD `scp`;
 * Auth0 `permissions`), matched exactly: `read` is never satisfied by `readwrite` or `read:all`.
 */
import { TokenwardError } from './errors.js';

export const DEFAULT_SCOPE_CLAIMS: readonly string[] = ['scope', 'scp', 'permissions'];

/** Each claim may be a space-delimited string or an array of strings; anything else is refused. */
export function collectScopes(claims: Record<string, unknown>, scopeClaims: readonly string[]): Set<string> {
  const scopes = new Set<string>();
  for (const name of scopeClaims) {
    const value = claims[name];
    if (value === undefined) continue;
    if (typeof value === 'string') {
      for (const scope of value.split(' ')) if (scope !== '') scopes.add(scope);
    } else if (Array.isArray(value) && value.every((scope) => typeof scope === 'string')) {
      for (const scope of value as string[]) if (scope !== '') scopes.add(scope);
    } else {
      throw new TokenwardError('claim_invalid');
    }
  }
  return scopes;
}

export interface ScopeRequirement {
  /** Every one of these (all-of). */
  scopes?: readonly string[];
  /** At least one of these (any-of). */
  anyScopes?: readonly string[];
}

export function checkScopes(granted: ReadonlySet<string>, required: ScopeRequirement): void {
  const all = required.scopes;
  if (all !== undefined && all.length > 0 && !all.every((scope) => granted.has(scope))) {
    throw new TokenwardError('insufficient_scope', { scope: all.join(' ') });
  }
  const any = required.anyScopes;
  if (any !== undefined && any.length > 0 && !any.some((scope) => granted.has(scope))) {
    throw new TokenwardError('insufficient_scope', { scope: any.join(' ') });
  }
}
