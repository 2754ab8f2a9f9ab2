/**
 * Shared Signals (SSF 1.0) with CAEP 1.0 events, the receiving side: a transmitter (the identity
 * provider, a risk engine) sends Security Event Tokens (RFC 8417) when a session is revoked or a
 * credential changes, and the access tokens issued before the event stop being accepted here at
 * once, instead of at their `exp`. This file holds the push receiver (RFC 8935) and the SET rules
 * that the poller (poll-delivery.ts, RFC 8936) applies with the same code.
 *
 * A SET is accepted as SSF 1.0 §4 profiles it: signed by the transmitter's keys (its `jwksUri`, or
 * the `jwks_uri` of its `/.well-known/ssf-configuration`, §7.2) with `iss` its issuer exactly
 * (§4.1.6), `aud` ours, `iat` at most `maxAge` old, `jti` (event-token.ts); `typ` secevent+jwt
 * (§4.1.1); no `sub` claim (§4.1.2); `events` with exactly one event, an object (CAEP Interoperability
 * Profile §2.8.1; RFC 8417 §2.2). No `exp` is required (§4.1.7 forbids it).
 *
 * The subject is the top-level `sub_id` (SSF §3.1), else the event's own `subject` (the drafts
 * before SSF 1.0). A user is an `iss_sub` identifier (RFC 9493 §3.2.5) whose `iss` is the
 * issuer of our access tokens (`subjectIssuer`): its `sub` is the tokens' `sub`. `opaque` and
 * `email` identifiers are taken as the tokens' `sub` only when `subjectFormats` says so: nothing in
 * the specifications ties them to it. A `complex` subject (§3.3) gives the user from its `user`
 * member and the session (the tokens' `sid`) from an `opaque` `session` member.
 *
 * What an event does (CAEP 1.0 §3), in the verifier's RevocationList, scoped to `subjectIssuer`,
 * for tokens issued up to the event's `event_timestamp` (else the SET's `iat`):
 * - session-revoked: the session's tokens, or the user's when the subject names no session;
 * - credential-change (revoke, update, delete): the user's tokens; a `create` is ignored, as the
 *   tokens already issued were issued under the credentials that still hold;
 * - token-claims-change: the user's tokens (or the session's), since the claims they carry are
 *   stale and the client must get new ones;
 * - the SSF stream events (verification, stream-updated) and every other type: nothing.
 */
import { emitter } from '../events.js';
import { checkUrl } from '../fetch-json.js';
import { isTemplate } from '../issuers.js';
import { algorithm } from '../jwa.js';
import { RemoteJwks } from '../keys/remote-jwks.js';
import type { RevocationList } from '../revocation.js';
import { internalsOf, type Verifier } from '../verify.js';
import { EventTokenError, EventTokens } from './event-token.js';
import { answer, MAX_EVENT_BYTES, mediaTypeOf, rawText, type EventReceiver, type ReceiverRequest, type ReceiverResponse } from './receiver.js';
import type { SecurityEventIgnored, SignalEvent } from './signal-events.js';
import { discoverTransmitterJwksUri } from './ssf-configuration.js';

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const SSF = 'https://schemas.openid.net/secevent/ssf/event-type/';

/** The event types this receiver knows (CAEP 1.0 §3, SSF 1.0 §8.1.4.1 and §8.1.5). */
export const SECURITY_EVENT_TYPES = Object.freeze({
  sessionRevoked: `${CAEP}session-revoked`,
  credentialChange: `${CAEP}credential-change`,
  tokenClaimsChange: `${CAEP}token-claims-change`,
  verification: `${SSF}verification`,
  streamUpdated: `${SSF}stream-updated`,
} as const);

/** Subject identifier formats (RFC 9493 §3.2) that can name the access tokens' `sub`. */
export type SubjectFormat = 'iss_sub' | 'opaque' | 'email';
const SUBJECT_FORMATS: readonly SubjectFormat[] = ['iss_sub', 'opaque', 'email'];

export interface SecurityEventsOptions {
  /** The verifier whose revocation list the events feed; its algorithms, clock and tolerance apply. */
  verifier: Verifier;
  /**
   * The SSF transmitter: its issuer (the SETs' `iss`, exactly) and the JWKS URL of its keys.
   * Default for `jwksUri`: the `jwks_uri` of the issuer's `/.well-known/ssf-configuration`.
   */
  transmitter: { issuer: string; jwksUri?: string };
  /** This receiver's audience at the transmitter (the stream's `aud`): a SET's `aud` must contain one. */
  audience: string | readonly string[];
  /** The issuer of the access tokens whose subjects the events name. Default: the verifier's issuer, when it has exactly one. */
  subjectIssuer?: string;
  /** Subject formats taken as the tokens' `sub`. Default ['iss_sub']: `opaque` and `email` name the tokens' `sub` only if you know they do. */
  subjectFormats?: readonly SubjectFormat[];
  /** Seconds: the oldest `iat` accepted. Default 3600, at most the verifier's maxTokenLifetime. */
  maxAge?: number;
  /** Algorithms accepted. Default: the verifier's. */
  algorithms?: readonly string[];
  /** Reports each event and each refusal. Default: none. */
  onEvent?: (event: SignalEvent) => void;
}

/** The push receiver: an EventReceiver, and `ready()` to load the transmitter's keys at startup. */
export interface SecurityEventReceiver extends EventReceiver {
  /** Resolves once the transmitter's keys are loaded; rejects with a TokenwardSetupError saying why not (an unreachable or mismatched configuration). */
  ready(): Promise<void>;
}

const SECEVENT = 'application/secevent+jwt';
// SSF 1.0 §4.1.1 (jose compares it without case and without `application/`).
const SECEVENT_TYP = 'secevent+jwt';
// One hour. SSF forbids exp (§4.1.7), so the age of iat is the only window. A replayed SET can
// revoke nothing issued after its own cutoff, so a wider window costs little, while a narrow one
// would throw away revocations a transmitter queued (poll) or kept retrying (push) while we were
// unreachable. Past the longest token lifetime an event has nothing left to revoke.
const DEFAULT_MAX_AGE = 3600;
// The key cache's cooldown: a transmitter retrying sooner would find the keys still unavailable.
const RETRY_AFTER_SECONDS = '30';
// CAEP 1.0 §2 says seconds; its examples before June 2025 used milliseconds (research gotcha 13).
const MILLISECONDS_FROM = 1e12;

export function securityEvents(options: SecurityEventsOptions): SecurityEventReceiver {
  return new SecurityEventsPush(new SecurityEventRules(options, 'securityEvents'));
}

/** What an event does, decided before anything is applied (a resent SET is answered alike). */
type Decision = { action: 'revoked_subject'; subject: string; before: number } | { action: 'revoked_session'; session: string; before: number } | { action: 'ignored'; reason: SecurityEventIgnored };

/** The user and session a subject names, for the tokens of `subjectIssuer`. */
interface Named {
  user?: string;
  session?: string;
  /** Why the user could not be named (a subject of another issuer names nobody of ours at all). */
  ignored?: SecurityEventIgnored;
}

/** The SET rules, shared by the push receiver and the poller: verify, decide, apply, report. */
export class SecurityEventRules {
  readonly transmitter: string;
  private readonly keys: RemoteJwks;
  private readonly tokens: EventTokens;
  private readonly revocation: RevocationList;
  private readonly subjectIssuer: string;
  private readonly formats: ReadonlySet<SubjectFormat>;
  private readonly emit: (event: SignalEvent) => void;

  constructor(options: SecurityEventsOptions, caller: string) {
    const internals = internalsOf(options.verifier);
    if (internals === undefined) throw new TypeError(`tokenward: ${caller} needs a verifier made by createVerifier`);
    const revocation = options.verifier.revocation;
    if (revocation === undefined) throw new TypeError(`tokenward: ${caller} needs a verifier with a revocation list (revocation: false turns it off)`);
    const { settings } = internals;
    const allowInsecureHttp = settings.jwksFetch.allowInsecureHttp;
    const { issuer, jwksUri } = options.transmitter ?? {};
    if (typeof issuer !== 'string' || !urlAccepted(issuer, allowInsecureHttp) || /[?#]/.test(issuer)) {
      // SSF 1.0 §7.1: an https URL without query or fragment (http only on loopback, as for key sets).
      throw new TypeError(`tokenward: ${caller} transmitter.issuer must be an https URL without query or fragment; got ${JSON.stringify(issuer)}`);
    }
    if (jwksUri !== undefined && (typeof jwksUri !== 'string' || !urlAccepted(jwksUri, allowInsecureHttp))) throw new TypeError(`tokenward: ${caller} transmitter.jwksUri must be an https URL; got ${JSON.stringify(jwksUri)}`);
    const audiences = typeof options.audience === 'string' ? [options.audience] : [...(options.audience ?? [])];
    if (audiences.length === 0 || audiences.some((aud) => typeof aud !== 'string' || aud === '')) throw new TypeError(`tokenward: ${caller} audience must be an audience or a list of them; got ${JSON.stringify(options.audience)}`);
    this.subjectIssuer = subjectIssuerOf(options.subjectIssuer, settings.issuers, caller);
    const formats = options.subjectFormats ?? ['iss_sub'];
    if (!Array.isArray(formats) || formats.length === 0 || formats.some((format) => !SUBJECT_FORMATS.includes(format))) throw new TypeError(`tokenward: ${caller} subjectFormats must list some of ${SUBJECT_FORMATS.join(', ')}; got ${JSON.stringify(options.subjectFormats)}`);
    const { maxTokenLifetime } = settings.claims;
    const maxAge = options.maxAge ?? Math.min(DEFAULT_MAX_AGE, maxTokenLifetime);
    if (!(maxAge > 0 && maxAge <= maxTokenLifetime)) throw new TypeError(`tokenward: ${caller} maxAge must be between 1 and the verifier's maxTokenLifetime (${maxTokenLifetime}) seconds; got ${String(options.maxAge)}`);
    const algorithms = options.algorithms ?? [...settings.header.algorithms];
    if (algorithms.length === 0 || algorithms.some((alg) => algorithm(alg) === undefined)) throw new TypeError(`tokenward: ${caller} algorithms must be asymmetric JWS algorithms; got ${JSON.stringify(options.algorithms)}`);

    this.transmitter = issuer;
    // The transmitter's own key set, in the verifier's cache policy and fetch limits; its
    // configuration is read once, on the first fetch, and again only if that read failed.
    this.keys = new RemoteJwks(jwksUri !== undefined ? async () => jwksUri : () => discoverTransmitterJwksUri(issuer, settings.metadataFetch), new Set(algorithms), settings.refresh, settings.jwksFetch, {
      emit: settings.emit,
      clock: settings.clock,
    });
    this.tokens = new EventTokens({
      keysFor: (iss) => (iss === issuer ? this.keys : undefined),
      audiences,
      algorithms,
      clockTolerance: settings.claims.clockTolerance,
      maxAge,
      clock: settings.clock,
      typ: SECEVENT_TYP,
    });
    this.revocation = revocation;
    this.formats = new Set(formats);
    this.emit = emitter(options.onEvent);
  }

  ready(): Promise<void> {
    return this.keys.ready(this.transmitter);
  }

  /** Verifies one SET and applies it (once per jti); throws an EventTokenError when it is refused. */
  async apply(token: string): Promise<void> {
    const { payload, fresh } = await this.tokens.verify(token);
    // SSF 1.0 §4.1.2: the subject is in sub_id; a sub claim is what makes a SET pass for an ID token.
    if (Object.hasOwn(payload, 'sub')) throw invalid('A security event must not carry a sub claim (SSF 1.0 §4.1.2)');
    const { events } = payload;
    if (!isObject(events)) throw invalid('The security event has no events object');
    const types = Object.keys(events);
    if (types.length !== 1) throw invalid('A security event carries exactly one event');
    const eventType = types[0] as string;
    const event = events[eventType];
    if (!isObject(event)) throw invalid('The event is not a JSON object (RFC 8417 §2.2)');
    const decision = this.decide(eventType, event, payload);
    // RFC 8935 §2: a SET received again is answered as the first time, and changes nothing.
    if (fresh) this.revoke(decision);
    this.emit({
      type: 'security_event_received',
      issuer: this.transmitter,
      jti: payload.jti as string,
      eventType,
      action: fresh ? decision.action : 'repeated',
      ...(decision.action === 'ignored' ? { reason: decision.reason } : {}),
    });
  }

  /** The EventTokenError for a failure of `apply`, reported. */
  refused(error: unknown): EventTokenError {
    const refused = error instanceof EventTokenError ? error : invalid('The security event could not be processed');
    this.emit({ type: 'signal_rejected', receiver: 'security_events', failure: refused.failure, description: refused.description, cause: error });
    return refused;
  }

  private decide(eventType: string, event: Record<string, unknown>, payload: Record<string, unknown>): Decision {
    if (eventType === SECURITY_EVENT_TYPES.verification || eventType === SECURITY_EVENT_TYPES.streamUpdated) return { action: 'ignored', reason: 'stream_event' };
    const sessionFirst = eventType === SECURITY_EVENT_TYPES.sessionRevoked;
    if (!sessionFirst && eventType !== SECURITY_EVENT_TYPES.credentialChange && eventType !== SECURITY_EVENT_TYPES.tokenClaimsChange) {
      // Accepted, not refused: a stream may deliver types we do not act on, and a 400 would have
      // the transmitter report a failed delivery (or stop the stream) for an event that was valid.
      return { action: 'ignored', reason: 'event_type_unknown' };
    }
    if (eventType === SECURITY_EVENT_TYPES.credentialChange) {
      const change = event.change_type;
      if (typeof change !== 'string') throw invalid('A credential-change event needs a change_type (CAEP 1.0 §3.3)');
      if (change === 'create') return { action: 'ignored', reason: 'credential_created' };
      if (change !== 'revoke' && change !== 'update' && change !== 'delete') return { action: 'ignored', reason: 'change_type_unknown' };
    }
    const named = this.named(payload.sub_id ?? event.subject);
    const before = cutoffOf(event.event_timestamp, payload.iat as number);
    if (sessionFirst && named.session !== undefined) return { action: 'revoked_session', session: named.session, before };
    if (named.user !== undefined) return { action: 'revoked_subject', subject: named.user, before };
    if (named.session !== undefined) return { action: 'revoked_session', session: named.session, before };
    return { action: 'ignored', reason: named.ignored ?? 'subject_format' };
  }

  private revoke(decision: Decision): void {
    if (decision.action === 'revoked_subject') this.revocation.revokeSubject(decision.subject, { issuer: this.subjectIssuer, before: decision.before });
    else if (decision.action === 'revoked_session') this.revocation.revokeSession(decision.session, { issuer: this.subjectIssuer, before: decision.before });
  }

  /** SSF 1.0 §3.2-§3.3: the user and session a subject names; throws when it is malformed. */
  private named(subject: unknown): Named {
    if (subject === undefined) throw invalid('The security event names no subject (sub_id)');
    if (!isObject(subject)) throw invalid('The subject is not a JSON object');
    // Drafts before SSF 1.0 wrote complex subjects without a format.
    const complex = subject.format === 'complex' || (subject.format === undefined && (isObject(subject.user) || isObject(subject.session)));
    if (!complex) return this.user(subject);
    const named: Named = subject.user === undefined ? {} : this.user(subject.user);
    // Another issuer's user: their session is that issuer's too, and names nothing of ours.
    if (named.ignored === 'subject_other_issuer' || subject.session === undefined) return named;
    const session = identifier(subject.session);
    // A session id is the provider's sid, as opaque as it is in the tokens (RFC 9493 §3.2.4).
    if (session.format === 'opaque') return { ...named, session: member(session, 'id') };
    return named;
  }

  /** A simple subject identifier (RFC 9493 §3.2) as the tokens' `sub`, if it is one. */
  private user(value: unknown): Named {
    const subject = identifier(value);
    switch (subject.format) {
      case 'iss_sub': {
        const iss = member(subject, 'iss');
        const sub = member(subject, 'sub');
        // Another issuer's user is not ours, whatever their sub: the same sub may name someone else here.
        if (iss !== this.subjectIssuer) return { ignored: 'subject_other_issuer' };
        return this.formats.has('iss_sub') ? { user: sub } : { ignored: 'subject_format' };
      }
      case 'opaque':
      case 'email': {
        const id = member(subject, subject.format === 'opaque' ? 'id' : 'email');
        return this.formats.has(subject.format) ? { user: id } : { ignored: 'subject_format' };
      }
      default:
        return { ignored: 'subject_format' };
    }
  }
}

class SecurityEventsPush implements SecurityEventReceiver {
  readonly mediaType = SECEVENT;
  readonly maxBytes = MAX_EVENT_BYTES;

  constructor(private readonly rules: SecurityEventRules) {}

  ready(): Promise<void> {
    return this.rules.ready();
  }

  async handle(request: ReceiverRequest): Promise<ReceiverResponse> {
    if (request.method !== 'POST') return failure(405, { Allow: 'POST' }, new EventTokenError('invalid_request', 'Security events are POSTed (RFC 8935 §2.1)'));
    try {
      await this.rules.apply(this.set(request));
      // RFC 8935 §2.2.
      return answer(202, {});
    } catch (error) {
      const refused = this.rules.refused(error);
      // Not the SET's fault, so not a 400 (which tells the transmitter never to retry it): a
      // deviation from RFC 8935 §2.3, which knows only 400 for a SET that cannot be checked.
      if (refused.keysUnavailable) return answer(503, { 'Retry-After': RETRY_AFTER_SECONDS });
      return failure(400, {}, refused);
    }
  }

  /** RFC 8935 §2.1: the body is the SET itself, as application/secevent+jwt. */
  private set(request: ReceiverRequest): string {
    if (mediaTypeOf(request.contentType) !== SECEVENT) throw invalid(`Security events are sent as ${SECEVENT} (RFC 8935 §2.1)`);
    const text = rawText(request.body, this.maxBytes);
    if (text === 'too_large') throw invalid('The request body is too large');
    if (text === undefined || text.trim() === '') throw invalid('The request body is not a security event token');
    return text.trim();
  }
}

/** RFC 8935 §2.3: `{ err, description }`, with the language of the description. */
function failure(status: number, headers: Record<string, string>, error: EventTokenError): ReceiverResponse {
  return answer(status, { 'Content-Language': 'en', ...headers }, { err: error.failure, description: error.description });
}

function invalid(description: string): EventTokenError {
  return new EventTokenError('invalid_request', description);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A subject identifier: an object with a format (RFC 9493 §3). */
function identifier(value: unknown): Record<string, unknown> & { format: string } {
  if (!isObject(value) || typeof value.format !== 'string') throw invalid('A subject identifier has no format');
  return value as Record<string, unknown> & { format: string };
}

/** A member the identifier's format requires: a string, not empty (RFC 9493 §3.2). */
function member(identifier: Record<string, unknown>, name: string): string {
  const value = identifier[name];
  if (typeof value !== 'string' || value === '') throw invalid(`A subject identifier of format ${String(identifier.format)} needs ${name}`);
  return value;
}

/**
 * Tokens issued up to this instant are revoked: when the event happened, never later than the SET
 * was issued (a timestamp past `iat` is a clock or unit error). A timestamp that is not a number
 * falls back to `iat`: revoking a little more is better than losing the revocation.
 */
function cutoffOf(timestamp: unknown, iat: number): number {
  if (typeof timestamp !== 'number' || timestamp < 0) return iat;
  const seconds = timestamp > MILLISECONDS_FROM ? timestamp / 1000 : timestamp;
  return Math.min(seconds, iat);
}

function urlAccepted(url: string, allowInsecureHttp: boolean): boolean {
  try {
    checkUrl(url, allowInsecureHttp);
    return true;
  } catch {
    return false;
  }
}

function subjectIssuerOf(configured: string | undefined, issuers: readonly string[], caller: string): string {
  if (configured === undefined) {
    const only = issuers.length === 1 ? issuers[0] : undefined;
    if (only === undefined || isTemplate(only)) throw new TypeError(`tokenward: ${caller} needs subjectIssuer when the verifier accepts several issuers or a {tenantid} template; got ${JSON.stringify(issuers)}`);
    return only;
  }
  // A revocation scoped to an issuer the verifier never accepts would match no token at all.
  if (typeof configured !== 'string' || (!issuers.includes(configured) && !issuers.some(isTemplate))) throw new TypeError(`tokenward: ${caller} subjectIssuer must be one of the verifier's issuers ${JSON.stringify(issuers)}; got ${JSON.stringify(configured)}`);
  return configured;
}
