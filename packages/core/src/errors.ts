/**
 * Every rejection tokenward makes is a TokenwardError: an HTTP status, an RFC 6750 error code, a
 * stable `reason` that callers and logs can branch on, a fixed human description (never built from
 * the token, a key or a stack), and the ready `WWW-Authenticate` value.
 */

/**
 * RFC 6750 §3.1 error codes, RFC 9449 §7.1 and §9 (`invalid_dpop_proof`, `use_dpop_nonce`), RFC
 * 9470 §3 (`insufficient_user_authentication`), and `temporarily_unavailable` for the 503 case
 * (RFC 6749 §4.1.2.1).
 */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'insufficient_user_authentication'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'temporarily_unavailable';

interface ReasonSpec {
  readonly status: 400 | 401 | 403 | 503;
  /** Absent only for missing credentials: RFC 6750 §3.1 says not to send an error code then. */
  readonly code?: ErrorCode;
  readonly description: string;
}

const REASONS = {
  // The request carried no bearer credentials (no Authorization header, or another scheme).
  credentials_missing: { status: 401, description: 'Bearer access token required' },
  // RFC 6750 §3.1 invalid_request: the request itself is malformed.
  multiple_credentials: { status: 400, code: 'invalid_request', description: 'More than one bearer token or method used' },
  authorization_malformed: { status: 400, code: 'invalid_request', description: 'Malformed Authorization header' },
  // RFC 6750 §3.1 invalid_token, token shape.
  token_too_large: { status: 401, code: 'invalid_token', description: 'Token too large' },
  token_malformed: { status: 401, code: 'invalid_token', description: 'Token is not a compact JWS' },
  token_encrypted: { status: 401, code: 'invalid_token', description: 'Encrypted tokens are not accepted' },
  header_invalid: { status: 401, code: 'invalid_token', description: 'Token header is invalid' },
  alg_not_allowed: { status: 401, code: 'invalid_token', description: 'Token algorithm not allowed' },
  crit_unsupported: { status: 401, code: 'invalid_token', description: 'Token has unsupported critical header parameters' },
  key_reference_header: { status: 401, code: 'invalid_token', description: 'Token headers that reference keys are not accepted' },
  typ_invalid: { status: 401, code: 'invalid_token', description: 'Token type not accepted' },
  kid_invalid: { status: 401, code: 'invalid_token', description: 'Token key id is invalid' },
  // Keys and signature.
  unknown_kid: { status: 401, code: 'invalid_token', description: 'No key found for the token' },
  kid_ambiguous: { status: 401, code: 'invalid_token', description: 'Token key id is ambiguous' },
  key_mismatch: { status: 401, code: 'invalid_token', description: 'Token algorithm does not match its key' },
  signature_invalid: { status: 401, code: 'invalid_token', description: 'Token signature is invalid' },
  // Claims.
  payload_invalid: { status: 401, code: 'invalid_token', description: 'Token claims are invalid' },
  exp_missing: { status: 401, code: 'invalid_token', description: 'Token has no expiry' },
  claim_invalid: { status: 401, code: 'invalid_token', description: 'Token has a claim of the wrong type' },
  token_expired: { status: 401, code: 'invalid_token', description: 'Token expired' },
  token_not_yet_valid: { status: 401, code: 'invalid_token', description: 'Token not yet valid' },
  iat_in_future: { status: 401, code: 'invalid_token', description: 'Token issued in the future' },
  lifetime_exceeded: { status: 401, code: 'invalid_token', description: 'Token lifetime exceeds the maximum' },
  issuer_mismatch: { status: 401, code: 'invalid_token', description: 'Token issuer not accepted' },
  audience_mismatch: { status: 401, code: 'invalid_token', description: 'Token audience not accepted' },
  token_revoked: { status: 401, code: 'invalid_token', description: 'Token revoked' },
  // RFC 7662 §2.2 `active: false`: the authorization server does not vouch for the token.
  token_inactive: { status: 401, code: 'invalid_token', description: 'Token is not active' },
  // Sender-constrained tokens (RFC 7800 cnf): the binding is never ignored (binding.ts).
  cnf_unsupported: { status: 401, code: 'invalid_token', description: 'Token confirmation method not supported' },
  binding_unproven: { status: 401, code: 'invalid_token', description: 'Token is bound to a key and needs its proof' },
  dpop_bound_as_bearer: { status: 401, code: 'invalid_token', description: 'DPoP-bound token presented as a bearer token' },
  token_not_dpop_bound: { status: 401, code: 'invalid_token', description: 'Token is not bound to a DPoP key' },
  dpop_key_mismatch: { status: 401, code: 'invalid_token', description: 'Token is bound to another DPoP key' },
  mtls_certificate_missing: { status: 401, code: 'invalid_token', description: 'Token is bound to a client certificate and none was presented' },
  mtls_certificate_mismatch: { status: 401, code: 'invalid_token', description: 'Token is bound to another client certificate' },
  // RFC 9449 §4.3 and §7.1: the DPoP proof of the request (dpop/).
  dpop_required: { status: 401, description: 'DPoP-bound access token required' },
  dpop_proof_with_bearer: { status: 400, code: 'invalid_request', description: 'DPoP proof sent with the Bearer scheme' },
  dpop_proof_missing: { status: 401, code: 'invalid_dpop_proof', description: 'DPoP proof required' },
  dpop_proof_multiple: { status: 401, code: 'invalid_dpop_proof', description: 'More than one DPoP proof' },
  dpop_proof_malformed: { status: 401, code: 'invalid_dpop_proof', description: 'DPoP proof is malformed' },
  dpop_typ_invalid: { status: 401, code: 'invalid_dpop_proof', description: 'DPoP proof type is not dpop+jwt' },
  dpop_alg_not_allowed: { status: 401, code: 'invalid_dpop_proof', description: 'DPoP proof algorithm not allowed' },
  dpop_jwk_invalid: { status: 401, code: 'invalid_dpop_proof', description: 'DPoP proof key is invalid' },
  dpop_signature_invalid: { status: 401, code: 'invalid_dpop_proof', description: 'DPoP proof signature is invalid' },
  dpop_htm_mismatch: { status: 401, code: 'invalid_dpop_proof', description: 'DPoP proof is for another HTTP method' },
  dpop_htu_mismatch: { status: 401, code: 'invalid_dpop_proof', description: 'DPoP proof is for another URL' },
  dpop_iat_invalid: { status: 401, code: 'invalid_dpop_proof', description: 'DPoP proof is too old or issued in the future' },
  dpop_ath_mismatch: { status: 401, code: 'invalid_dpop_proof', description: 'DPoP proof is for another access token' },
  dpop_replayed: { status: 401, code: 'invalid_dpop_proof', description: 'DPoP proof was used before' },
  // RFC 9449 §9: the proof lacks the resource server's current nonce; the answer carries one.
  dpop_nonce_required: { status: 401, code: 'use_dpop_nonce', description: 'Resource server requires nonce in DPoP proof' },
  // An unexpected failure inside verification: refused (fail closed), reported with its cause.
  verification_failed: { status: 401, code: 'invalid_token', description: 'Token could not be verified' },
  // RFC 6750 §3.1 insufficient_scope.
  insufficient_scope: { status: 403, code: 'insufficient_scope', description: 'Token lacks the required scope' },
  // RFC 9470 §3: the user must authenticate again, more strongly or more recently (step-up.ts).
  acr_insufficient: { status: 401, code: 'insufficient_user_authentication', description: 'A different authentication level is required' },
  auth_time_too_old: { status: 401, code: 'insufficient_user_authentication', description: 'More recent authentication is required' },
  // The key source is down and no usable key is known: not the client's fault, so not a 401.
  jwks_unavailable: { status: 503, code: 'temporarily_unavailable', description: 'Signing keys are temporarily unavailable' },
  // The token may be signed by a key its issuer published after our last fetch, and the cooldown
  // forbids asking again yet: a 401 would make the client drop a good token (keys/remote-jwks.ts).
  key_pending: { status: 503, code: 'temporarily_unavailable', description: 'Signing key not yet known; retry shortly' },
  // The DPoP replay store did not answer: the proof is refused, but it is not the client's fault.
  dpop_replay_unavailable: { status: 503, code: 'temporarily_unavailable', description: 'DPoP proofs cannot be checked right now' },
  // RFC 7662: the introspection endpoint did not answer, or not as it must (introspection/).
  introspection_unavailable: { status: 503, code: 'temporarily_unavailable', description: 'Token introspection is temporarily unavailable' },
  // More new tokens than the introspection rate limit allows in this window.
  introspection_throttled: { status: 503, code: 'temporarily_unavailable', description: 'Too many new tokens to introspect; retry shortly' },
} as const satisfies Record<string, ReasonSpec>;

/** Stable machine-readable reason for a rejection. */
export type Reason = keyof typeof REASONS;

/** The list of all reasons with their status, code and description (for docs and tests). */
export const reasons: Readonly<Record<Reason, ReasonSpec>> = REASONS;

/** Seconds a client should wait before retrying after a 503, unless the error knows (retryAfter). */
const RETRY_AFTER_SECONDS = 30;

// A brand rather than instanceof: an app can load our ESM and CommonJS builds side by side, and an
// error thrown by one copy must still be recognised by the other.
const BRAND = Symbol.for('tokenward.error');

/** The authentication schemes a resource accepts, each answered with its challenge (RFC 9449 §7.2). */
export interface Challenges {
  /** RFC 6750 Bearer. */
  readonly bearer: boolean;
  /** RFC 9449 DPoP, with the proof algorithms accepted (`algs`, space-delimited); undefined: not accepted. */
  readonly dpopAlgs?: string;
}

/** Authorization schemes a token can arrive with. */
export type Scheme = 'Bearer' | 'DPoP';

/**
 * What the developer needs to know about a rejection (expected and actual values, the key id),
 * reported with the `token_rejected` event and never sent to the client.
 */
export interface RejectionDetail {
  /** The claim or header parameter at fault. */
  readonly claim?: string;
  /** The token's value. */
  readonly actual?: unknown;
  /** What the verifier accepts. */
  readonly expected?: readonly string[];
  readonly kid?: string;
  /** A likely cause, when one is known. */
  readonly hint?: string;
}

// RFC 6750 §3: descriptions for clients when `errorDescriptions: 'generic'` says to tell them nothing specific.
const GENERIC: Readonly<Record<ErrorCode, string>> = {
  invalid_request: 'The request is malformed',
  invalid_token: 'The access token is invalid',
  insufficient_scope: 'Token lacks the required scope',
  insufficient_user_authentication: 'Stronger or more recent authentication is required',
  invalid_dpop_proof: 'The DPoP proof is invalid',
  use_dpop_nonce: 'Resource server requires nonce in DPoP proof',
  temporarily_unavailable: 'Temporarily unavailable',
};

export interface TokenwardErrorOptions {
  /** Space-delimited scopes required (insufficient_scope only), for the challenge's `scope`. */
  scope?: string;
  /** RFC 9470: space-delimited acr values and the max age the route asks for, for the challenge. */
  acrValues?: string;
  maxAge?: number;
  /** Challenge realm. */
  realm?: string;
  /** Which challenges to send. Default: Bearer only. */
  challenges?: Challenges;
  /** The scheme the request's credentials came with: its challenge carries the error. */
  scheme?: Scheme;
  /** use_dpop_nonce: the nonce the client must put in its next proof (`DPoP-Nonce`). */
  dpopNonce?: string;
  /** A 503's `Retry-After`, in whole seconds, when the wait is known (key_pending). Default 30. */
  retryAfter?: number;
  /** For the developer only (the `token_rejected` event). */
  detail?: RejectionDetail;
  cause?: unknown;
}

const BEARER_ONLY: Challenges = Object.freeze({ bearer: true });

export class TokenwardError extends Error {
  declare readonly [BRAND]: true;
  readonly reason: Reason;
  readonly status: 400 | 401 | 403 | 503;
  readonly code: ErrorCode | undefined;
  /** Fixed text for the reason; safe to send to clients. */
  readonly description: string;
  readonly scope: string | undefined;
  readonly acrValues: string | undefined;
  readonly maxAge: number | undefined;
  realm: string | undefined;
  /** RFC 9728 §5.1: the URL of the resource's metadata, sent on every challenge. */
  resourceMetadata: string | undefined;
  challenges: Challenges;
  scheme: Scheme | undefined;
  dpopNonce: string | undefined;
  /** Seconds for a 503's `Retry-After`; undefined: the default 30. */
  readonly retryAfter: number | undefined;
  /** What the developer needs to know; never in `body`, `headers` or `toJSON()`. */
  readonly detail: RejectionDetail | undefined;
  /** True: the body and the challenge carry a generic description of the error code. */
  generic = false;

  constructor(reason: Reason, options: TokenwardErrorOptions = {}) {
    const spec: ReasonSpec = REASONS[reason];
    super(spec.description, options.cause === undefined ? undefined : { cause: options.cause });
    Object.defineProperty(this, BRAND, { value: true });
    this.name = 'TokenwardError';
    this.reason = reason;
    this.status = spec.status;
    this.code = spec.code;
    this.description = spec.description;
    this.scope = options.scope;
    this.acrValues = options.acrValues;
    this.maxAge = options.maxAge;
    this.realm = options.realm;
    this.resourceMetadata = undefined;
    this.challenges = options.challenges ?? BEARER_ONLY;
    this.scheme = options.scheme;
    this.dpopNonce = options.dpopNonce;
    this.retryAfter = options.retryAfter;
    this.detail = options.detail;
    // A rejection is an expected outcome, not a bug: no frames to leak through an error page
    // (Express's default handler prints err.stack outside production). A `cause` keeps its own.
    this.stack = `${this.name}: ${this.message}`;
  }

  /** Alias of `status`, for frameworks that read `statusCode`. */
  get statusCode(): number {
    return this.status;
  }

  /**
   * The `WWW-Authenticate` value; undefined for the 503 case. One challenge per accepted scheme
   * (RFC 6750 §3 Bearer, RFC 9449 §7.1 DPoP with `algs`), in one header as RFC 9110 §11.6.1
   * allows; the error's parameters go on the challenge of the scheme it concerns: DPoP for a proof,
   * else the scheme the credentials came with (Bearer when that is not known, as for a malformed
   * header, unless only DPoP is accepted).
   */
  get wwwAuthenticate(): string | undefined {
    if (this.status === 503) return undefined;
    const carrier: Scheme | undefined =
      this.code === 'invalid_dpop_proof' || this.code === 'use_dpop_nonce' || this.reason === 'dpop_required'
        ? 'DPoP'
        : (this.scheme ?? (this.code === undefined ? undefined : this.challenges.bearer ? 'Bearer' : 'DPoP'));
    const challenges: string[] = [];
    if (this.challenges.bearer || carrier === 'Bearer') challenges.push(this.challenge('Bearer', carrier === 'Bearer'));
    if (this.challenges.dpopAlgs !== undefined || carrier === 'DPoP') challenges.push(this.challenge('DPoP', carrier === 'DPoP'));
    return challenges.join(', ');
  }

  /**
   * Response headers to send with the rejection: the challenge (or Retry-After for a 503), a new
   * `DPoP-Nonce` when one is required (RFC 9449 §9), and `Cache-Control: no-store` so that no
   * cache keeps an answer about someone's credentials.
   */
  get headers(): Record<string, string> {
    if (this.status === 503) return { 'Retry-After': String(this.retryAfter ?? RETRY_AFTER_SECONDS), 'Cache-Control': 'no-store' };
    const headers: Record<string, string> = { 'WWW-Authenticate': this.wwwAuthenticate as string, 'Cache-Control': 'no-store' };
    if (this.dpopNonce !== undefined) headers['DPoP-Nonce'] = this.dpopNonce;
    return headers;
  }

  /** The JSON body to send: `{ error, error_description }`, never anything from the token. */
  get body(): { error: string; error_description: string } {
    return { error: this.code ?? 'unauthorized', error_description: this.clientDescription };
  }

  /** The description clients see: the reason's, or the generic one of its code. */
  get clientDescription(): string {
    return this.generic && this.code !== undefined ? GENERIC[this.code] : this.description;
  }

  /**
   * What a log line of the rejection carries (the adapters log it through the framework's logger):
   * the reason, status and code, and the developer's detail (the claim, its value and what is
   * accepted, the kid, a hint). Never the token, a proof or key material.
   */
  get logFields(): { reason: Reason; status: number; code: ErrorCode | undefined } & RejectionDetail {
    return { reason: this.reason, status: this.status, code: this.code, ...this.detail };
  }

  /** Keeps stacks and causes out of accidental JSON serialisation of the error. */
  toJSON(): { error: string; error_description: string; reason: Reason } {
    return { ...this.body, reason: this.reason };
  }

  private challenge(scheme: Scheme, withError: boolean): string {
    const params: string[] = [];
    if (this.realm !== undefined) params.push(`realm=${quote(this.realm)}`);
    if (withError && this.code !== undefined) {
      params.push(`error=${quote(this.code)}`, `error_description=${quote(this.clientDescription)}`);
      if (this.scope !== undefined) params.push(`scope=${quote(this.scope)}`);
      if (this.acrValues !== undefined) params.push(`acr_values=${quote(this.acrValues)}`);
      if (this.maxAge !== undefined) params.push(`max_age=${quote(String(this.maxAge))}`);
    }
    if (scheme === 'DPoP' && this.challenges.dpopAlgs !== undefined) params.push(`algs=${quote(this.challenges.dpopAlgs)}`);
    if (this.resourceMetadata !== undefined) params.push(`resource_metadata=${quote(this.resourceMetadata)}`);
    return params.length === 0 ? scheme : `${scheme} ${params.join(', ')}`;
  }
}

/**
 * What `verifier.ready()` rejects with when the verifier cannot work as configured (an issuer
 * unreachable, a metadata document naming another issuer, a key set with no usable key): a
 * startup failure with a message for the developer, never an answer to a request.
 */
export class TokenwardSetupError extends Error {
  constructor(
    /** A stable code: a fetch failure (`network`, `timeout`, `http_status`, `metadata_invalid`, ...), `jwks_empty`. */
    readonly failure: string,
    message: string,
    /** The issuer whose keys could not be had. */
    readonly issuer?: string,
  ) {
    super(message);
    this.name = 'TokenwardSetupError';
  }
}

export function isTokenwardError(value: unknown): value is TokenwardError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

// RFC 7235 quoted-string; our values never hold quotes or backslashes except a user's realm.
function quote(value: string): string {
  return `"${value.replace(/[\\"]/g, '\\$&')}"`;
}
