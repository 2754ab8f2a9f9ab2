/**
 * Route policy: what a route asks of a request, decided here for every adapter. An adapter maps
 * its own declarations onto RouteRequirement — Express middleware options and `requireScopes`,
 * Fastify plugin options, route `config` and hooks, Nest decorators on a controller and a handler —
 * passes them, most general first, to `routePolicy`, and applies the result with `check`.
 *
 * The rules, for levels from the most general to the most specific:
 * - `public` and `optional`: the most specific level that says wins. A level that says `optional`
 *   (either way) without `public` takes part in authentication, as if it said `public: false`;
 *   at one level, `public: true` wins over `optional`.
 * - scopes and authentication strength (RFC 9470 `acrValues`, `maxAge`; step-up.ts): each level's
 *   condition holds on its own (`scopes`: all of them, `anyScopes`: at least one), so a
 *   controller's `scopes: ['a']` with a handler's `anyScopes: ['b', 'c']` is "a, and b or c". A
 *   level that declares any of them, even an empty scope list, has a condition. Within a condition
 *   the authentication is checked before the scopes: a 401 to authenticate again comes before a 403.
 * - `public: true` lifts the conditions of the levels more general than its own, never those of
 *   its level or a more specific one: a health check inside a protected controller is public, a
 *   public controller's scoped handler is not, and a route both public and scoped is protected.
 *   A mistake fails closed.
 * - a route with a condition left authenticates and needs credentials, whatever `public` and
 *   `optional` say: declared scopes cannot be met anonymously.
 * - `dpop` (RFC 9449): the most specific level that says wins; unset, the verifier's mode holds.
 *   `required` refuses Bearer credentials, `disabled` does not accept the DPoP scheme.
 */
import { TokenwardError } from './errors.js';
import { checkScopes, type ScopeRequirement } from './scopes.js';
import { checkStepUp, stepUpOf, type StepUpRequirement } from './step-up.js';

/**
 * Which schemes a route accepts: `allowed`, Bearer and DPoP each with its own rules; `required`,
 * DPoP only; `disabled`, Bearer only. A token bound to a key needs its proof in every mode.
 */
export type DpopMode = 'allowed' | 'required' | 'disabled';

export const DPOP_MODES: readonly DpopMode[] = ['allowed', 'required', 'disabled'];

/** What one level asks of the token: scopes, and how the user authenticated (RFC 9470). */
export interface RouteCondition extends ScopeRequirement {
  readonly stepUp?: StepUpRequirement;
}

/** What one level declares. Unset members inherit from the levels above. */
export interface RouteRequirement extends ScopeRequirement, StepUpRequirement {
  /** DPoP on this route (RFC 9449). */
  dpop?: DpopMode;
  /** true: no authentication at all; false: authenticated even where a more general level is public. */
  public?: boolean;
  /** true: a request without credentials passes with no token (a bad token is still refused); false: credentials required. */
  optional?: boolean;
}

/** The options of `authenticate` and `check`: `credentialsRequired: false` is the older spelling of `optional: true`. */
export interface AuthenticateOptions extends RouteRequirement {
  credentialsRequired?: boolean;
}

/** The decision for a route, made once from its declarations and applied to each of its requests. */
export interface RoutePolicy {
  /** False: a public route; requests are not authenticated and carry no token. */
  readonly authenticate: boolean;
  /** False: a request without credentials passes with no token. */
  readonly credentialsRequired: boolean;
  /** Conditions, every one of which the token must meet (one per level that declared scopes or step-up). */
  readonly conditions: readonly RouteCondition[];
  /** The route's DPoP mode; undefined: the verifier's. */
  readonly dpop: DpopMode | undefined;
}

const PUBLIC: RoutePolicy = Object.freeze({ authenticate: false, credentialsRequired: false, conditions: Object.freeze([]), dpop: undefined });

/** The policy of a route whose levels declare `levels`, most general first. */
export function routePolicy(...levels: ReadonlyArray<AuthenticateOptions | undefined>): RoutePolicy {
  let isPublic = false;
  let publicLevel = -1;
  let optional = false;
  let dpop: DpopMode | undefined;
  levels.forEach((level, index) => {
    if (level === undefined) return;
    if (level.dpop !== undefined) {
      if (!DPOP_MODES.includes(level.dpop)) throw new TypeError(`tokenward: dpop must be one of ${DPOP_MODES.join(', ')}`);
      dpop = level.dpop;
    }
    const levelOptional = level.optional ?? (level.credentialsRequired === undefined ? undefined : !level.credentialsRequired);
    const levelPublic = level.public ?? (levelOptional === undefined ? undefined : false);
    if (levelPublic !== undefined) {
      isPublic = levelPublic;
      publicLevel = index;
    }
    if (levelOptional !== undefined) optional = levelOptional;
  });
  const conditions: RouteCondition[] = [];
  levels.forEach((level, index) => {
    if (level === undefined) return;
    // Checked even where lifted by `public`: a mistake in a declaration is a mistake everywhere.
    const stepUp = stepUpOf(level);
    if (isPublic && index < publicLevel) return;
    if (level.scopes !== undefined || level.anyScopes !== undefined || stepUp !== undefined) {
      conditions.push(Object.freeze({ scopes: level.scopes, anyScopes: level.anyScopes, ...(stepUp === undefined ? {} : { stepUp }) }));
    }
  });
  if (conditions.length > 0) return Object.freeze({ authenticate: true, credentialsRequired: true, conditions: Object.freeze(conditions), dpop });
  if (isPublic) return PUBLIC;
  return Object.freeze({ authenticate: true, credentialsRequired: !optional, conditions: Object.freeze([]), dpop });
}

/** The default: authenticated, credentials required, no scopes. */
export const AUTHENTICATED: RoutePolicy = routePolicy();

/** `value` itself when it is a resolved policy, else the policy it declares (one level). */
export function asPolicy(value: RoutePolicy | AuthenticateOptions): RoutePolicy {
  return Array.isArray((value as RoutePolicy).conditions) ? (value as RoutePolicy) : routePolicy(value as AuthenticateOptions);
}

/** The time conditions are judged at: seconds since the epoch, and the clock tolerance allowed. */
export interface Clock {
  readonly now: number;
  readonly tolerance: number;
}

/** The system's clock, no tolerance: for callers outside a verifier (which passes its own). */
const systemClock = (): Clock => ({ now: Date.now() / 1000, tolerance: 0 });

/**
 * The authorization half of a policy, for a token already verified (or none): no token where
 * credentials are required is a 401, a token without a DPoP binding where the route requires one
 * too, an authentication too weak or too old a 401 (RFC 9470), too few scopes a 403.
 */
export function admit<T extends { readonly scopes: ReadonlySet<string>; readonly claims: Readonly<Record<string, unknown>>; readonly binding?: { readonly jkt?: string } | undefined }>(
  token: T | undefined,
  policy: RoutePolicy,
  clock: () => Clock = systemClock,
): T | undefined {
  if (token === undefined) {
    if (policy.credentialsRequired && policy.authenticate) throw new TokenwardError('credentials_missing');
    return undefined;
  }
  if (policy.dpop === 'required' && token.binding?.jkt === undefined) throw new TokenwardError('dpop_required');
  // Indexed: for...of over the frozen array cost a cache hit about a fifth more (docs/performance.md).
  const { conditions } = policy;
  for (let i = 0; i < conditions.length; i++) {
    const condition = conditions[i] as RouteCondition;
    if (condition.stepUp !== undefined) {
      const { now, tolerance } = clock();
      checkStepUp(token.claims, condition.stepUp, now, tolerance);
    }
    checkScopes(token.scopes, condition);
  }
  return token;
}

/** What `requireScopes` means for a request: no token at all is a 401, too few scopes a 403. */
export function authorizeToken<T extends { readonly scopes: ReadonlySet<string>; readonly claims: Readonly<Record<string, unknown>> }>(
  token: T | undefined,
  required: RouteRequirement,
  clock: () => Clock = systemClock,
): T {
  return admit(token, routePolicy(required), clock) as T;
}
