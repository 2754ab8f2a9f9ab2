/**
 * OpenID Connect Back-Channel Logout 1.0 (errata set 1), the receiving side: the provider POSTs a
 * logout token when a user logs out there, and the access tokens of that session or user stop
 * being accepted here at once, instead of at their `exp`.
 * - §2.5: POST, `application/x-www-form-urlencoded`, a single `logout_token` (other parameters
 *   ignored); the body capped before it is parsed.
 * - §2.6: signature under the issuer's keys (the verifier's key sets: one cache), `iss` one of the
 *   verifier's issuers, `aud` containing our client id, `iat` and `exp` (event-token.ts), `sub`
 *   and/or `sid`, the `events` member http://schemas.openid.net/event/backchannel-logout holding
 *   an object, no `nonce`; `typ`, recommended by §2.4, is `logout+jwt` when present (or `JWT`,
 *   which older providers send), and required with `requireTyp`.
 * - §2.7: the logout revokes, in the verifier's RevocationList, the tokens issued up to the
 *   logout token's `iat`: of the session (`sid`, for access tokens that carry it) and of the user
 *   (`sub`), unless `revokes: 'session'` keeps other sessions of the user working.
 * - §2.8: 200 on success, 400 `{ error, error_description }` on failure, `Cache-Control: no-store`.
 *   A logout token seen before is answered 200 again and changes nothing (§2.7: an already
 *   logged-out user counts as logged out). Keys that cannot be fetched are a 503 with
 *   Retry-After, not a 400: the token is not at fault, and a provider that retries can succeed.
 */
import { emitter } from '../events.js';
import type { RevocationList } from '../revocation.js';
import { internalsOf, type Verifier } from '../verify.js';
import { EventTokenError, EventTokens } from './event-token.js';
import { answer, MAX_EVENT_BYTES, mediaTypeOf, rawText, type EventReceiver, type ReceiverRequest, type ReceiverResponse } from './receiver.js';
import type { SignalEvent } from './signal-events.js';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export interface BackchannelLogoutOptions {
  /** The verifier whose issuers send the logouts and whose revocation list they feed. */
  verifier: Verifier;
  /** This application's client id(s) at the provider: a logout token's `aud` must contain one. */
  clientId: string | readonly string[];
  /** 'subject' (default): a logout revokes the user's tokens and the session's; 'session': only tokens whose `sid` is the session's (a logout token without `sid` still revokes the user's). */
  revokes?: 'subject' | 'session';
  /** Require the `typ` header `logout+jwt` (§2.4 recommends it; §4.1 warns many providers omit it). Default false. */
  requireTyp?: boolean;
  /** Seconds: the oldest `iat` accepted. Default 300 (providers set `exp` about 2 minutes after `iat`, §4). */
  maxAge?: number;
  /** Algorithms accepted. Default: the verifier's. */
  algorithms?: readonly string[];
  /** Reports each logout and each refusal. Default: none. */
  onEvent?: (event: SignalEvent) => void;
}

// §2.4: typ when present; `JWT` is what providers sent before explicit typing.
const LOGOUT_TYP = /^(application\/)?(logout\+jwt|jwt)$/i;
const EXPLICIT_TYP = /^(application\/)?logout\+jwt$/i;
const FORM = 'application/x-www-form-urlencoded';
const RETRY_AFTER_SECONDS = '30';

export function backchannelLogout(options: BackchannelLogoutOptions): EventReceiver {
  return new BackchannelLogout(options);
}

class BackchannelLogout implements EventReceiver {
  readonly mediaType = FORM;
  readonly maxBytes = MAX_EVENT_BYTES;
  private readonly tokens: EventTokens;
  private readonly revocation: RevocationList;
  private readonly revokes: 'subject' | 'session';
  private readonly requireTyp: boolean;
  private readonly emit: (event: SignalEvent) => void;

  constructor(options: BackchannelLogoutOptions) {
    const internals = internalsOf(options.verifier);
    if (internals === undefined) throw new TypeError('tokenward: backchannelLogout needs a verifier made by createVerifier');
    const revocation = options.verifier.revocation;
    if (revocation === undefined) throw new TypeError('tokenward: backchannelLogout needs a verifier with a revocation list (revocation: false turns it off)');
    const clientIds = typeof options.clientId === 'string' ? [options.clientId] : [...(options.clientId ?? [])];
    if (clientIds.length === 0 || clientIds.some((id) => typeof id !== 'string' || id === '')) throw new TypeError(`tokenward: backchannelLogout clientId must be a client id or a list of them; got ${JSON.stringify(options.clientId)}`);
    if (options.revokes !== undefined && options.revokes !== 'subject' && options.revokes !== 'session') throw new TypeError(`tokenward: backchannelLogout revokes must be 'subject' or 'session'; got ${JSON.stringify(options.revokes)}`);
    const maxAge = options.maxAge ?? 300;
    if (!(maxAge > 0 && maxAge <= 3600)) throw new TypeError(`tokenward: backchannelLogout maxAge must be between 1 and 3600 seconds; got ${String(options.maxAge)}`);
    const { issuers, settings } = internals;
    this.tokens = new EventTokens({
      keysFor: (iss, claims) => issuers.keysFor(iss, claims),
      audiences: clientIds,
      algorithms: options.algorithms ?? [...settings.header.algorithms],
      clockTolerance: settings.claims.clockTolerance,
      maxAge,
      clock: settings.clock,
    });
    this.revocation = revocation;
    this.revokes = options.revokes ?? 'subject';
    this.requireTyp = options.requireTyp ?? false;
    this.emit = emitter(options.onEvent);
  }

  async handle(request: ReceiverRequest): Promise<ReceiverResponse> {
    if (request.method !== 'POST') return answer(405, { Allow: 'POST' }, { error: 'invalid_request', error_description: 'Logout tokens are POSTed' });
    try {
      const token = this.logoutToken(request);
      const { payload, typ, fresh } = await this.tokens.verify(token);
      if (typ !== undefined ? !LOGOUT_TYP.test(typ) : this.requireTyp) throw new EventTokenError('invalid_request', 'The token is not typed logout+jwt');
      if (this.requireTyp && !EXPLICIT_TYP.test(typ as string)) throw new EventTokenError('invalid_request', 'The token is not typed logout+jwt');
      const events = payload.events as Record<string, unknown> | undefined;
      const event = typeof events === 'object' && events !== null ? events[BACKCHANNEL_LOGOUT_EVENT] : undefined;
      if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new EventTokenError('invalid_request', 'The token carries no back-channel logout event');
      if (Object.hasOwn(payload, 'nonce')) throw new EventTokenError('invalid_request', 'A logout token must not carry a nonce');
      const { sub, sid } = payload;
      const subject = typeof sub === 'string' && sub !== '' ? sub : undefined;
      const session = typeof sid === 'string' && sid !== '' ? sid : undefined;
      if ((sub !== undefined && subject === undefined) || (sid !== undefined && session === undefined)) throw new EventTokenError('invalid_request', 'The sub or sid claim is not a string');
      if (subject === undefined && session === undefined) throw new EventTokenError('invalid_request', 'A logout token names a sub or a sid');
      const issuer = payload.iss as string;
      if (fresh) this.revoke(issuer, subject, session, payload.iat as number);
      this.emit({ type: 'logout_received', issuer, subject, session, repeated: !fresh });
      return answer(200, {});
    } catch (error) {
      const refused = error instanceof EventTokenError ? error : new EventTokenError('invalid_request', 'The logout token could not be processed');
      this.emit({ type: 'signal_rejected', receiver: 'backchannel_logout', failure: refused.failure, description: refused.description, cause: error });
      if (refused.keysUnavailable) return answer(503, { 'Retry-After': RETRY_AFTER_SECONDS });
      return answer(400, {}, { error: 'invalid_request', error_description: refused.description });
    }
  }

  /** §2.5: the one `logout_token` of the form, from a raw body or one the framework parsed. */
  private logoutToken(request: ReceiverRequest): string {
    const text = rawText(request.body, this.maxBytes);
    if (text === 'too_large') throw new EventTokenError('invalid_request', 'The request body is too large');
    // Also for a body the framework parsed: a JSON body is not a logout request, whatever it holds.
    if (mediaTypeOf(request.contentType) !== FORM) throw new EventTokenError('invalid_request', `Logout requests are ${FORM}`);
    let value: unknown;
    if (text !== undefined) {
      const values = new URLSearchParams(text).getAll('logout_token');
      value = values.length === 1 ? values[0] : values;
    } else {
      value = (request.body as Readonly<Record<string, unknown>> | undefined)?.logout_token;
    }
    if (typeof value !== 'string' || value === '') throw new EventTokenError('invalid_request', 'The request needs exactly one logout_token');
    if (value.length > this.maxBytes) throw new EventTokenError('invalid_request', 'The request body is too large');
    return value;
  }

  private revoke(issuer: string, subject: string | undefined, session: string | undefined, iat: number): void {
    const scope = { issuer, before: iat };
    if (session !== undefined) this.revocation.revokeSession(session, scope);
    if (subject !== undefined && (this.revokes === 'subject' || session === undefined)) this.revocation.revokeSubject(subject, scope);
  }
}
