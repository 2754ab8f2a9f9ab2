/**
 * The verifier's options, and their resolution: every default applied and every value checked
 * here, once, at construction, so that a mistake is a TypeError at startup rather than a wrong
 * answer on the first request, and the verifier itself only wires resolved settings together.
 */
import { DEFAULT_MAX_TOKEN_LIFETIME, MAX_CLOCK_TOLERANCE, type ClaimsPolicy } from './claims.js';
import { originOf } from './dpop/htu.js';
import { isTemplate, TENANT_PLACEHOLDER } from './issuers.js';
import { isLoopbackHost } from './fetch-json.js';
import { DpopNonces, type DpopNonceOptions } from './dpop/nonce.js';
import type { ProofPolicy } from './dpop/proof.js';
import { MemoryReplayStore, type DpopReplayStore } from './dpop/replay.js';
import type { Challenges } from './errors.js';
import { emitter, type EventListener } from './events.js';
import { defaultFetch, type FetchJsonOptions } from './fetch-json.js';
import { algorithm, DEFAULT_ALGORITHMS } from './jwa.js';
import type { HeaderPolicy } from './jws/compact.js';
import { JWKS_DEFAULTS, type JwksOptions, type RefreshPolicy, type UnknownKidInCooldown } from './keys/remote-jwks.js';
import { introspectionSettings, type IntrospectionOptions, type IntrospectionSettings } from './introspection/options.js';
import { instrumentsOf, type Instruments, type MetricsOptions } from './metrics.js';
import type { MtlsOptions } from './mtls.js';
import { protectedResourceMetadata, type ProtectedResourceMetadata, type ProtectedResourceOptions } from './protected-resource.js';
import { RevocationList } from './revocation.js';
import { DPOP_MODES, type DpopMode } from './route.js';
import { DEFAULT_SCOPE_CLAIMS } from './scopes.js';
import { SIGNATURE_WORK, type SignatureWork } from './signature-work.js';

export interface VerifierOptions {
  /**
   * Accepted issuer(s), matched exactly against `iss`; each has its own key set. An issuer with
   * `{tenantid}` (Entra: `https://login.microsoftonline.com/{tenantid}/v2.0`) is a template: the
   * tenant comes from the token's `tid`, see `tenants`.
   */
  issuer: string | readonly string[];
  /** Accepted audience(s): the token's `aud` must contain one. */
  audience: string | readonly string[];
  /**
   * The tenants a `{tenantid}` issuer accepts: their ids, or `'*'` for any (only with a jwksUri for
   * the template, so that a made-up tenant never causes a fetch). Required with a template.
   */
  tenants?: readonly string[] | '*';
  /** A token without `aud` is matched by its `client_id` against `audience` (Amazon Cognito access tokens). Default false. */
  clientIdAsAudience?: boolean;
  /** 'specific' (default): each rejection's own description; 'generic': clients see one per error code only. */
  errorDescriptions?: 'specific' | 'generic';
  /** The JWKS URL, or one per issuer. Default: discovered from each issuer's metadata. */
  jwksUri?: string | Readonly<Record<string, string>>;
  /** Accepted `alg` values: a subset of the asymmetric ones. Default: all of RS*, PS*, ES*, EdDSA. */
  algorithms?: readonly string[];
  /** Seconds of clock skew allowed on exp/nbf/iat. Default 5, at most 300. */
  clockTolerance?: number;
  /** Seconds: longest accepted exp - iat (and exp - now). Default 24 h. */
  maxTokenLifetime?: number;
  /** Require RFC 9068 `typ: at+jwt`. Default false. */
  requireTyp?: boolean;
  /** Claims that carry scopes. Default ['scope', 'scp', 'permissions']. */
  scopeClaims?: readonly string[];
  /** Consulted on every verify; false for none. Default: a new RevocationList (see `revocation`). */
  revocation?: RevocationList | false;
  /** Verified-token cache; entries die at exp and with their key. Default { max: 10,000 }. */
  tokenCache?: { max: number } | false;
  /** Key fetching and caching. */
  jwks?: JwksOptions;
  /** Byte cap on a token, checked before parsing. Default 8 KiB. */
  maxTokenBytes?: number;
  /** Accept `?access_token=` (RFC 6750 §2.3). Default false. */
  allowQueryToken?: boolean;
  /** `realm` of the WWW-Authenticate challenge. Default 'api'. */
  realm?: string;
  /**
   * Where signatures are checked: 'inline' on the event loop, 'threadpool' on libuv's thread pool,
   * or 'auto' (the pool only when verifications overlap on a multi-core machine). Default 'auto'.
   */
  signatureWork?: SignatureWork;
  /** DPoP-bound tokens (RFC 9449). Default: accepted beside Bearer (mode 'allowed'); false: mode 'disabled'. */
  dpop?: DpopOptions | false;
  /** Certificate-bound tokens (RFC 8705). */
  mtls?: MtlsOptions;
  /**
   * Opaque tokens (RFC 7662): the issuer's server is asked about each token that is not a compact
   * JWS (or about every token), and its answer goes through the same rules. Off by default.
   */
  introspection?: IntrospectionOptions;
  /**
   * RFC 9728: serve this resource's metadata at /.well-known/oauth-protected-resource (each
   * adapter does) and name it in every challenge (`resource_metadata`). Off by default.
   */
  protectedResource?: ProtectedResourceOptions;
  /** OpenTelemetry metrics (metrics.ts): the global MeterProvider by default (a no-op without an SDK); `false` records nothing. */
  metrics?: MetricsOptions | false;
  /**
   * `scheme://host[:port]` that clients use to reach this API, when a proxy in front changes what
   * the request says: the DPoP `htu` is then compared against it. Default: what the framework
   * reports for the request (its trust-proxy setting decides whether X-Forwarded-* count).
   */
  publicOrigin?: string;
  onEvent?: EventListener;
  /** Milliseconds since the epoch; for tests. */
  clock?: () => number;
}

export interface DpopOptions {
  /** 'allowed' (default): Bearer and DPoP; 'required': DPoP only; 'disabled': Bearer only. Routes may say otherwise. */
  mode?: DpopMode;
  /** Accepted proof `alg` values, asymmetric only. Default: the same as for tokens' default. */
  algorithms?: readonly string[];
  /** Seconds a proof's `iat` may lie in the past. Default 300. */
  maxAge?: number;
  /** Seconds a proof's `iat` may lie in the future. Default 30. */
  leeway?: number;
  /** Byte cap on a proof, checked before it is parsed. Default 8 KiB. */
  maxProofBytes?: number;
  /** Server nonces (RFC 9449 §9): true or options to require them. Default off. */
  nonce?: boolean | DpopNonceOptions;
  /** Where proofs already used are remembered. Default: a MemoryReplayStore of this verifier. */
  replay?: DpopReplayStore;
  /** Milliseconds an asynchronous replay store has to answer; then the proof is refused (503). Default 1000. */
  replayTimeout?: number;
}

/** The DPoP part of Settings. */
export interface DpopSettings {
  readonly mode: DpopMode;
  /** Undefined when DPoP is disabled for the whole verifier. */
  readonly proofs: ProofPolicy | undefined;
  /** The challenges for each mode (RFC 9449 §7.1 `algs`). */
  readonly challenges: Readonly<Record<DpopMode, Challenges>>;
}

/** VerifierOptions with every default applied and every value checked. */
export interface Settings {
  readonly issuers: readonly string[];
  readonly tenants: readonly string[] | '*' | undefined;
  readonly genericDescriptions: boolean;
  /** The configured JWKS URL for `issuer`, if any (otherwise it is discovered). */
  readonly jwksUri: (issuer: string) => string | undefined;
  /** True when one JWKS URL serves every issuer: they then share one key set. */
  readonly sharedJwks: boolean;
  readonly header: HeaderPolicy;
  /** The claims policy but for the issuer check, which needs the key sets (issuers.ts). */
  readonly claims: Omit<ClaimsPolicy, 'acceptsIssuer'>;
  readonly scopeClaims: readonly string[];
  readonly revocation: RevocationList | undefined;
  /** Entries of the verified-token cache; undefined for no cache. */
  readonly tokenCacheMax: number | undefined;
  readonly maxTokenBytes: number;
  readonly allowQueryToken: boolean;
  readonly realm: string;
  readonly signatureWork: SignatureWork;
  readonly refresh: RefreshPolicy;
  readonly jwksFetch: FetchJsonOptions;
  readonly metadataFetch: FetchJsonOptions;
  readonly dpop: DpopSettings;
  readonly mtls: MtlsOptions;
  /** Undefined: no introspection, every token must be a compact JWS. */
  readonly introspection: IntrospectionSettings | undefined;
  readonly protectedResource: ProtectedResourceMetadata | undefined;
  readonly publicOrigin: string | undefined;
  readonly emit: EventListener;
  readonly instruments: Instruments;
  readonly clock: () => number;
}

const DEFAULT_CLOCK_TOLERANCE = 5;
const DEFAULT_MAX_TOKEN_BYTES = 8 * 1024;
const DEFAULT_TOKEN_CACHE_MAX = 10_000;
// RFC 7517 §8.5.1 names application/jwk-set+json; many servers answer application/json.
const JWKS_ACCEPT = 'application/jwk-set+json, application/json';
const METADATA_ACCEPT = 'application/json';
// RFC 9449 §11.1 leaves the window to the server; these are auth0's and Spring's defaults.
const DPOP_MAX_AGE = 300;
const DPOP_LEEWAY = 30;
const DEFAULT_MAX_PROOF_BYTES = 8 * 1024;
// A shared store on the local network answers in milliseconds; a second means it is not answering.
const DEFAULT_REPLAY_TIMEOUT = 1000;
const UNKNOWN_KID_IN_COOLDOWN: readonly UnknownKidInCooldown[] = ['retry-later', 'reject'];

export function resolveOptions(options: VerifierOptions): Settings {
  if (typeof options !== 'object' || options === null) throw new TypeError('tokenward: options are required ({ issuer, audience, ... })');
  const issuers = nonEmptyList(options.issuer, 'issuer');
  const audiences = nonEmptyList(options.audience, 'audience');
  const jwks = options.jwks ?? {};
  checkJwksOptions(jwks);
  const { jwksUri } = options;
  checkIssuers(issuers, jwksUri, options.tenants, jwks.allowInsecureHttp ?? false);
  const algorithms = options.algorithms ?? DEFAULT_ALGORITHMS;
  const refused = algorithms.filter((alg) => algorithm(alg) === undefined);
  if (algorithms.length === 0 || refused.length > 0) {
    throw new TypeError(`tokenward: algorithms must be asymmetric JWS algorithms; refused: ${refused.join(', ') || '(empty list)'}`);
  }
  const clockTolerance = options.clockTolerance ?? DEFAULT_CLOCK_TOLERANCE;
  if (!(clockTolerance >= 0 && clockTolerance <= MAX_CLOCK_TOLERANCE)) {
    throw new TypeError(`tokenward: clockTolerance must be between 0 and ${MAX_CLOCK_TOLERANCE} seconds`);
  }
  const maxTokenLifetime = options.maxTokenLifetime ?? DEFAULT_MAX_TOKEN_LIFETIME;
  if (!(maxTokenLifetime > 0)) throw new TypeError('tokenward: maxTokenLifetime must be a positive number of seconds');
  const signatureWork = options.signatureWork ?? 'auto';
  if (!SIGNATURE_WORK.includes(signatureWork)) throw new TypeError("tokenward: signatureWork must be 'auto', 'inline' or 'threadpool'");

  const clock = options.clock ?? Date.now;
  const revocation = options.revocation === false ? undefined : (options.revocation ?? new RevocationList({ maxTokenLifetime, clock }));
  if (revocation !== undefined && revocation.maxTokenLifetime < maxTokenLifetime) {
    // Otherwise a "log out everywhere" entry could expire while a token it covers is still accepted.
    throw new TypeError('tokenward: the RevocationList maxTokenLifetime must be at least the verifier maxTokenLifetime');
  }

  if (options.errorDescriptions !== undefined && options.errorDescriptions !== 'specific' && options.errorDescriptions !== 'generic') {
    throw new TypeError(`tokenward: errorDescriptions must be 'specific' or 'generic', got ${JSON.stringify(options.errorDescriptions)}`);
  }
  if (options.realm !== undefined && (typeof options.realm !== 'string' || hasControlCharacter(options.realm))) {
    throw new TypeError('tokenward: realm must be a string without control characters');
  }
  const listener = emitter(options.onEvent);
  const instruments = instrumentsOf(options.metrics, () => revocation?.size);
  const emit: EventListener = (event) => {
    instruments.onEvent(event);
    listener(event);
  };
  const dpop = dpopSettings(options.dpop, signatureWork, clock);
  const allowQueryToken = options.allowQueryToken ?? false;
  const protectedResource =
    options.protectedResource === undefined
      ? undefined
      : protectedResourceMetadata(options.protectedResource, {
          issuers,
          dpopMode: dpop.mode,
          dpopAlgorithms: dpop.proofs === undefined ? undefined : dpop.challenges.required.dpopAlgs?.split(' '),
          allowQueryToken,
          certificateHeader: options.mtls?.certificateHeader !== undefined,
        });
  return {
    issuers,
    tenants: options.tenants,
    genericDescriptions: options.errorDescriptions === 'generic',
    jwksUri: (issuer) => (typeof jwksUri === 'string' ? jwksUri : jwksUri?.[issuer]),
    sharedJwks: typeof jwksUri === 'string',
    header: { algorithms: new Set(algorithms), requireTyp: options.requireTyp ?? false },
    claims: { issuers, audiences: new Set(audiences), clientIdAsAudience: options.clientIdAsAudience === true, clockTolerance, maxTokenLifetime },
    scopeClaims: options.scopeClaims ?? DEFAULT_SCOPE_CLAIMS,
    revocation,
    tokenCacheMax: options.tokenCache === false ? undefined : positiveInteger(options.tokenCache?.max, DEFAULT_TOKEN_CACHE_MAX, 'tokenCache.max'),
    maxTokenBytes: positiveInteger(options.maxTokenBytes, DEFAULT_MAX_TOKEN_BYTES, 'maxTokenBytes'),
    allowQueryToken,
    realm: options.realm ?? 'api',
    signatureWork,
    refresh: {
      cacheMaxAge: jwks.cacheMaxAge ?? JWKS_DEFAULTS.cacheMaxAge,
      // Capped: a rotated key must be picked up within 30 s, whatever is configured.
      cooldown: Math.min(jwks.cooldown ?? JWKS_DEFAULTS.cooldown, JWKS_DEFAULTS.cooldown),
      maxStale: jwks.maxStale ?? JWKS_DEFAULTS.maxStale,
      maxKeys: jwks.maxKeys ?? JWKS_DEFAULTS.maxKeys,
      unknownKidInCooldown: jwks.unknownKidInCooldown ?? JWKS_DEFAULTS.unknownKidInCooldown,
      clockTolerance,
    },
    jwksFetch: fetchOptions(jwks, JWKS_ACCEPT),
    metadataFetch: fetchOptions(jwks, METADATA_ACCEPT),
    dpop,
    mtls: { certificateHeader: options.mtls?.certificateHeader },
    introspection: introspectionSettings(options.introspection, { issuers, jwksFetch: jwks.fetch, allowInsecureHttp: jwks.allowInsecureHttp ?? false }),
    protectedResource,
    publicOrigin: options.publicOrigin === undefined ? undefined : publicOriginOf(options.publicOrigin),
    emit,
    instruments,
    clock,
  };
}

function dpopSettings(options: DpopOptions | false | undefined, signatureWork: SignatureWork, clock: () => number): DpopSettings {
  const dpop = options === false ? { mode: 'disabled' as const } : (options ?? {});
  const mode = dpop.mode ?? 'allowed';
  if (!DPOP_MODES.includes(mode)) throw new TypeError(`tokenward: dpop.mode must be one of ${DPOP_MODES.join(', ')}`);
  const algorithms = dpop.algorithms ?? DEFAULT_ALGORITHMS;
  const refused = algorithms.filter((alg) => algorithm(alg) === undefined);
  if (algorithms.length === 0 || refused.length > 0) {
    throw new TypeError(`tokenward: dpop.algorithms must be asymmetric JWS algorithms; refused: ${refused.join(', ') || '(empty list)'}`);
  }
  const maxAge = seconds(dpop.maxAge, DPOP_MAX_AGE, 'dpop.maxAge');
  const leeway = seconds(dpop.leeway, DPOP_LEEWAY, 'dpop.leeway');
  const algs = algorithms.join(' ');
  // A route may turn DPoP on where the verifier has it off, so the proof policy exists unless DPoP is off by `dpop: false`.
  const proofs: ProofPolicy | undefined =
    options === false
      ? undefined
      : {
          algorithms: new Set(algorithms),
          maxAge,
          leeway,
          maxProofBytes: positiveInteger(dpop.maxProofBytes, DEFAULT_MAX_PROOF_BYTES, 'dpop.maxProofBytes'),
          nonces: dpop.nonce === undefined || dpop.nonce === false ? undefined : new DpopNonces(dpop.nonce === true ? {} : dpop.nonce, clock),
          replay: dpop.replay ?? new MemoryReplayStore({ clock }),
          replayTimeout: positiveInteger(dpop.replayTimeout, DEFAULT_REPLAY_TIMEOUT, 'dpop.replayTimeout'),
          signatureWork,
          clock,
        };
  return {
    mode,
    proofs,
    challenges: {
      allowed: Object.freeze({ bearer: true, dpopAlgs: proofs === undefined ? undefined : algs }),
      required: Object.freeze({ bearer: false, dpopAlgs: algs }),
      disabled: Object.freeze({ bearer: true }),
    },
  };
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(Number.isInteger(value) && value > 0)) throw new TypeError(`tokenward: ${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return value;
}

function seconds(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && value >= 0 && Number.isFinite(value))) throw new TypeError(`tokenward: ${name} must be a number of seconds`);
  return value;
}

function publicOriginOf(value: string): string {
  const origin = typeof value === 'string' ? originOf(value) : undefined;
  if (origin === undefined) throw new TypeError(`tokenward: publicOrigin must be scheme://host[:port], got ${JSON.stringify(value)}`);
  return origin;
}
/** The same limits for the key set and the issuer metadata. */
function fetchOptions(jwks: JwksOptions, accept: string): FetchJsonOptions {
  return {
    timeout: jwks.timeout ?? JWKS_DEFAULTS.timeout,
    maxBytes: jwks.maxBytes ?? JWKS_DEFAULTS.maxBytes,
    fetch: jwks.fetch ?? defaultFetch,
    accept,
    allowInsecureHttp: jwks.allowInsecureHttp ?? false,
  };
}

function nonEmptyList(value: unknown, name: string): string[] {
  const values: unknown[] = typeof value === 'string' ? [value] : Array.isArray(value) ? [...(value as unknown[])] : [];
  if (values.length === 0 || values.some((v) => typeof v !== 'string' || v === '')) {
    throw new TypeError(`tokenward: ${name} is required (a non-empty string or list of strings)`);
  }
  return values as string[];
}

/**
 * Each issuer is an http(s) URL unless it has a configured JWKS URL (discovery needs one); a
 * remote `http:` one, a JWKS URL that is not absolute, and a jwksUri key naming no issuer are
 * refused here rather than found out at the first request.
 */
function checkIssuers(issuers: readonly string[], jwksUri: VerifierOptions['jwksUri'], tenants: VerifierOptions['tenants'], allowInsecureHttp: boolean): void {
  const uriOf = (issuer: string) => (typeof jwksUri === 'string' ? jwksUri : jwksUri?.[issuer]);
  if (jwksUri !== undefined && typeof jwksUri !== 'string') {
    if (typeof jwksUri !== 'object' || jwksUri === null) throw new TypeError('tokenward: jwksUri must be a URL or { [issuer]: url }');
    for (const key of Object.keys(jwksUri)) {
      if (!issuers.includes(key)) throw new TypeError(`tokenward: jwksUri names ${JSON.stringify(key)}, which is not a configured issuer (${issuers.join(', ')})`);
    }
  }
  for (const issuer of issuers) {
    const uri = uriOf(issuer);
    if (uri !== undefined) checkAbsolute(uri, `jwksUri for ${issuer}`, allowInsecureHttp);
    else checkAbsolute(issuer.replace(TENANT_PLACEHOLDER, '00000000-0000-0000-0000-000000000000'), `issuer ${JSON.stringify(issuer)}`, allowInsecureHttp, ' (its metadata is read from it: give jwksUri for an issuer that is not a URL)');
    if (!isTemplate(issuer)) continue;
    if (tenants === undefined) throw new TypeError(`tokenward: issuer ${issuer} is a template; say which tenants it accepts (tenants: ['<tenant id>', ...], or '*' with a jwksUri for it)`);
    if (tenants === '*' && uri === undefined) throw new TypeError(`tokenward: tenants '*' needs a jwksUri for ${issuer} (Entra: https://login.microsoftonline.com/common/discovery/v2.0/keys), so that a token naming any tenant causes no fetch`);
  }
  if (tenants !== undefined && tenants !== '*' && (!Array.isArray(tenants) || tenants.some((tenant) => typeof tenant !== 'string'))) {
    throw new TypeError("tokenward: tenants must be a list of tenant ids or '*'");
  }
}

function checkAbsolute(value: string, what: string, allowInsecureHttp: boolean, notUrlHint = ''): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new TypeError(`tokenward: ${what} must be an absolute https URL, got ${JSON.stringify(value)}${notUrlHint}`);
  }
  if (url.protocol === 'https:') return;
  if (url.protocol !== 'http:') throw new TypeError(`tokenward: ${what} must be an https URL, got ${JSON.stringify(value)}`);
  if (!allowInsecureHttp && !isLoopbackHost(url.hostname)) {
    throw new TypeError(`tokenward: ${what} uses http to ${url.hostname}; keys must come over https (http is allowed for loopback, or with jwks.allowInsecureHttp)`);
  }
}

function checkJwksOptions(jwks: JwksOptions): void {
  if (typeof jwks !== 'object' || jwks === null) throw new TypeError('tokenward: jwks must be an object');
  for (const name of ['cacheMaxAge', 'timeout', 'maxBytes', 'maxKeys'] as const) positiveInteger(jwks[name], 1, `jwks.${name}`);
  for (const name of ['cooldown', 'maxStale'] as const) {
    const value = jwks[name];
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) throw new TypeError(`tokenward: jwks.${name} must be a whole number of milliseconds, got ${JSON.stringify(value)}`);
  }
  if (jwks.fetch !== undefined && typeof jwks.fetch !== 'function') throw new TypeError('tokenward: jwks.fetch must be a function');
  if (jwks.unknownKidInCooldown !== undefined && !UNKNOWN_KID_IN_COOLDOWN.includes(jwks.unknownKidInCooldown)) {
    throw new TypeError(`tokenward: jwks.unknownKidInCooldown must be 'retry-later' or 'reject', got ${JSON.stringify(jwks.unknownKidInCooldown)}`);
  }
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
