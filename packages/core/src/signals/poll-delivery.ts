/**
 * pollSecurityEvents: Security Event Tokens fetched from the transmitter's poll endpoint (RFC
 * 8936), for a receiver that cannot take pushes (no public URL, a job, a fleet behind a private
 * network). Each SET is verified and applied by the same rules as a pushed one (security-events.ts).
 *
 *   POST <endpoint>  Content-Type: application/json  Authorization: <authorization>
 *   { "ack": ["<jti>", ...], "setErrs": { "<jti>": { "err": "invalid_key", "description": "..." } },
 *     "maxEvents": 100, "returnImmediately": true }
 *   200 { "sets": { "<jti>": "<SET>", ... }, "moreAvailable": false }
 *
 * - The outcome of each SET goes back with the next request (§2.4.3, §2.4.4): its jti in `ack`
 *   when it was applied or had been seen before (§2.4: a redelivered SET is acknowledged again), in
 *   `setErrs` with the RFC 8935 §2.4 code when it was refused, and with `Content-Language` (§2.6).
 *   A SET whose keys could not be had is in neither: the transmitter delivers it again.
 * - Outcomes are dropped only once a request carrying them was answered 200; after a failure they
 *   are sent again (acknowledging twice is harmless).
 * - `returnImmediately` is always true: the endpoint is polled every `interval`, at once again when
 *   it says `moreAvailable`. Long polling (§2.5) would hold each request for a time agreed out of
 *   band, which the request deadline would have to exceed; short polls keep both simple.
 * - The answer is read with the limits of every fetch here (https except loopback, no redirects, a
 *   deadline, a byte cap) and at most `maxEvents` SETs of it are taken; the others stay
 *   unacknowledged and come again.
 * - Failures never reach the application: they are reported through `onEvent`, and the next poll
 *   waits twice as long as the last, up to `maxBackoff`. Polls never overlap, the timer is unref'd,
 *   and `stop()` (or `signal`) ends everything; outcomes not yet sent are then lost, so those SETs
 *   are delivered again later, and applying one twice changes nothing.
 */
import { emitter } from '../events.js';
import { checkUrl, defaultFetch, fetchJson, SourceError, type FetchFailure, type FetchJsonOptions, type FetchLike } from '../fetch-json.js';
import { EventTokenError, type EventTokenFailure } from './event-token.js';
import { MAX_EVENT_BYTES } from './receiver.js';
import { SecurityEventRules, type SecurityEventsOptions } from './security-events.js';
import type { SignalEvent } from './signal-events.js';

export interface SecurityEventPollOptions extends SecurityEventsOptions {
  /** The transmitter's poll endpoint (the stream's delivery `endpoint_url`, SSF 1.0 §6.1.2). */
  endpoint: string;
  /** The Authorization header value for the endpoint (RFC 8936 §3), or a function giving it per request (a bearer token that expires). */
  authorization?: string | (() => string | Promise<string>);
  /** Milliseconds between the end of one poll and the start of the next. Default 5 s. */
  interval?: number;
  /** Milliseconds the wait between failed polls grows to at most. Default 60 s. */
  maxBackoff?: number;
  /** Milliseconds for one request, body included. Default 5 s. */
  timeout?: number;
  /** SETs asked for (and taken) per poll. Default 100. */
  maxEvents?: number;
  /** Byte cap on one answer. Default 1 MiB. */
  maxBytes?: number;
  /** The fetch to use (proxies, tests). Default: the global fetch. */
  fetch?: FetchLike;
  /** Allow plain http to hosts other than loopback. Default false. */
  allowInsecureHttp?: boolean;
  /** Stops the poller when aborted, like `stop()`. */
  signal?: AbortSignal;
  onEvent?: (event: SignalEvent | SecurityEventPollEvent) => void;
}

export type SecurityEventPollFailure = FetchFailure | 'answer_invalid' | 'authorization_failed';

export type SecurityEventPollEvent =
  | {
      type: 'security_events_polled';
      endpoint: string;
      /** SETs taken from this answer (each also reported as security_event_received or signal_rejected). */
      received: number;
      /** Outcomes this request delivered: jtis acknowledged, and SETs refused in setErrs. */
      acknowledged: number;
      refused: number;
      moreAvailable: boolean;
    }
  | {
      type: 'security_events_poll_failed';
      endpoint: string;
      failure: SecurityEventPollFailure;
      message: string;
      consecutiveFailures: number;
      /** Milliseconds since the epoch of the last complete poll; undefined if none yet. */
      lastSuccessAt: number | undefined;
      /** Milliseconds until the next poll. */
      retryIn: number;
    };

export interface SecurityEventPoller {
  /**
   * Resolves true once the endpoint has no more SETs for us and every one it gave was handled, or
   * false if the poller is stopped before that. Never rejects.
   */
  readonly ready: Promise<boolean>;
  /** Polls now (or joins the poll under way); true when it completed. Never rejects. */
  poll(): Promise<boolean>;
  /** Stops polling; a request under way is aborted and its answer not applied. */
  stop(): void;
}

export const SECURITY_EVENT_POLL_DEFAULTS = {
  // As the revocation feed's: a revocation is in force here within seconds (RFC 8936 leaves it to us).
  interval: 5_000,
  // A transmitter back from an outage is noticed within a minute, and a down one is asked once a minute.
  maxBackoff: 60_000,
  // Short polls (returnImmediately) answer at once; 5 s is a transmitter that is not answering.
  timeout: 5_000,
  // A burst (all of a tenant's users logged out) is taken in a few polls, not one huge answer.
  maxEvents: 100,
  // 100 SETs of a few KiB each, with room to spare.
  maxBytes: 1024 * 1024,
} as const;

/** Starts polling `endpoint` at once, then every `interval`. */
export function pollSecurityEvents(options: SecurityEventPollOptions): SecurityEventPoller {
  return new SecurityEventPollerImpl(options);
}

interface SetError {
  err: EventTokenFailure;
  description: string;
}

interface PollOutcome {
  completed: boolean;
  /** Poll again at once: the endpoint has more, and this answer made progress. */
  more: boolean;
  /** Every SET of the answer was acknowledged or refused (none waits for keys). */
  settled: boolean;
}
const NOT_COMPLETED: PollOutcome = { completed: false, more: false, settled: false };

class SecurityEventPollerImpl implements SecurityEventPoller {
  readonly ready: Promise<boolean>;
  private resolveReady!: (caughtUp: boolean) => void;
  private readonly rules: SecurityEventRules;
  private readonly endpoint: string;
  private readonly interval: number;
  private readonly maxBackoff: number;
  private readonly maxEvents: number;
  private readonly fetchOptions: FetchJsonOptions;
  private readonly abort = new AbortController();
  private readonly onSignalAbort = () => this.stop();
  private readonly emit: (event: SignalEvent | SecurityEventPollEvent) => void;
  /** Outcomes for the next request. */
  private readonly ack = new Set<string>();
  private readonly setErrs = new Map<string, SetError>();
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<boolean> | undefined;
  private stopped = false;
  private failures = 0;
  private lastSuccessAt: number | undefined;

  constructor(private readonly options: SecurityEventPollOptions) {
    // Configuration mistakes are thrown here, at startup; nothing thrown later reaches the app.
    const allowInsecureHttp = options.allowInsecureHttp ?? false;
    try {
      checkUrl(options.endpoint, allowInsecureHttp);
    } catch {
      throw new TypeError(`tokenward: pollSecurityEvents endpoint must be an https URL; got ${JSON.stringify(options.endpoint)}`);
    }
    const { authorization } = options;
    if (authorization !== undefined && typeof authorization !== 'function' && (typeof authorization !== 'string' || authorization === '')) {
      throw new TypeError(`tokenward: pollSecurityEvents authorization must be a header value or a function returning one; got ${JSON.stringify(authorization)}`);
    }
    this.rules = new SecurityEventRules(options, 'pollSecurityEvents');
    this.endpoint = options.endpoint;
    this.emit = emitter(options.onEvent);
    this.interval = positive(options.interval, SECURITY_EVENT_POLL_DEFAULTS.interval, 'interval');
    this.maxBackoff = positive(options.maxBackoff, Math.max(SECURITY_EVENT_POLL_DEFAULTS.maxBackoff, this.interval), 'maxBackoff');
    if (this.maxBackoff < this.interval) throw new TypeError(`tokenward: pollSecurityEvents maxBackoff must be at least interval (${this.interval}); got ${this.maxBackoff}`);
    this.maxEvents = positive(options.maxEvents, SECURITY_EVENT_POLL_DEFAULTS.maxEvents, 'maxEvents');
    if (!Number.isInteger(this.maxEvents)) throw new TypeError(`tokenward: pollSecurityEvents maxEvents must be a whole number; got ${this.maxEvents}`);
    const baseFetch = options.fetch ?? defaultFetch;
    this.fetchOptions = {
      timeout: positive(options.timeout, SECURITY_EVENT_POLL_DEFAULTS.timeout, 'timeout'),
      maxBytes: positive(options.maxBytes, SECURITY_EVENT_POLL_DEFAULTS.maxBytes, 'maxBytes'),
      // The stop signal joins fetchJson's own deadline signal, so stop() ends a request under way.
      fetch: (input, init) => baseFetch(input, { ...init, signal: init.signal ? AbortSignal.any([init.signal, this.abort.signal]) : this.abort.signal }),
      // RFC 8936 §2.3.
      accept: 'application/json',
      allowInsecureHttp,
    };
    this.ready = new Promise((resolve) => {
      this.resolveReady = resolve;
    });
    if (options.signal?.aborted) {
      this.stop();
      return;
    }
    options.signal?.addEventListener('abort', this.onSignalAbort, { once: true });
    void this.poll();
  }

  poll(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    if (this.inflight !== undefined) return this.inflight;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.inflight = this.run().then((outcome) => {
      this.inflight = undefined;
      this.schedule(outcome);
      // Resolved only now, so that code awaiting `ready` can start a poll of its own at once.
      if (outcome.completed && !outcome.more && outcome.settled) this.resolveReady(true);
      return outcome.completed;
    });
    return this.inflight;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    this.options.signal?.removeEventListener('abort', this.onSignalAbort);
    this.resolveReady(false);
  }

  private schedule(outcome: PollOutcome): void {
    if (this.stopped) return;
    const delay = outcome.completed ? (outcome.more ? 0 : this.interval) : this.backoff();
    this.timer = setTimeout(() => void this.poll(), delay);
    this.timer.unref();
  }

  /** One interval after the first failure, then twice the last wait, up to maxBackoff. */
  private backoff(): number {
    return Math.min(this.interval * 2 ** Math.min(this.failures - 1, 30), this.maxBackoff);
  }

  private async run(): Promise<PollOutcome> {
    const ack = [...this.ack];
    const setErrs = Object.fromEntries(this.setErrs);
    const refused = this.setErrs.size;
    let sets: Array<[string, unknown]>;
    let moreAvailable: boolean;
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const authorization = await this.authorization();
      if (authorization !== undefined) headers.authorization = authorization;
      // RFC 8936 §2.6: the descriptions in setErrs are in English.
      if (refused > 0) headers['content-language'] = 'en';
      const body = JSON.stringify({ ack, setErrs, maxEvents: this.maxEvents, returnImmediately: true });
      const answer = await fetchJson(this.endpoint, this.fetchOptions, { method: 'POST', headers, body });
      if (this.stopped) return NOT_COMPLETED;
      ({ sets, moreAvailable } = parseAnswer(answer));
    } catch (cause) {
      if (this.stopped) return NOT_COMPLETED;
      this.failures++;
      this.emit({
        type: 'security_events_poll_failed',
        endpoint: this.endpoint,
        failure: cause instanceof SourceError ? (cause.failure as SecurityEventPollFailure) : 'answer_invalid',
        message: cause instanceof Error ? cause.message : String(cause),
        consecutiveFailures: this.failures,
        lastSuccessAt: this.lastSuccessAt,
        retryIn: this.backoff(),
      });
      return NOT_COMPLETED;
    }
    // The transmitter has these outcomes now: what follows is the next request's.
    this.ack.clear();
    this.setErrs.clear();
    const taken = sets.slice(0, this.maxEvents);
    let settled = taken.length === sets.length;
    // An answer received is applied whole, stop() or not: each SET in it is a verified revocation.
    for (const [jti, set] of taken) if (!(await this.handle(jti, set))) settled = false;
    this.failures = 0;
    this.lastSuccessAt = Date.now();
    this.emit({ type: 'security_events_polled', endpoint: this.endpoint, received: taken.length, acknowledged: ack.length, refused, moreAvailable });
    // An endpoint that says moreAvailable and gives nothing would have us poll it in a tight loop.
    return { completed: true, more: moreAvailable && taken.length > 0, settled };
  }

  private async authorization(): Promise<string | undefined> {
    const { authorization } = this.options;
    if (typeof authorization !== 'function') return authorization;
    let value: unknown;
    try {
      value = await authorization();
    } catch (cause) {
      throw new SourceError('authorization_failed', `the authorization function failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    }
    if (typeof value !== 'string' || value === '') throw new SourceError('authorization_failed', 'the authorization function gave no header value');
    return value;
  }

  /** Applies one SET and records its outcome; false when it is left for a redelivery. */
  private async handle(jti: string, set: unknown): Promise<boolean> {
    let refused: EventTokenError;
    if (typeof set !== 'string' || Buffer.byteLength(set) > MAX_EVENT_BYTES) {
      refused = this.rules.refused(new EventTokenError('invalid_request', 'The SET is not a compact JWT of at most 64 KiB'));
    } else {
      try {
        await this.rules.apply(set);
        this.ack.add(jti);
        return true;
      } catch (error) {
        refused = this.rules.refused(error);
      }
    }
    // Not the SET's fault: left unacknowledged, so that the transmitter delivers it again.
    if (refused.keysUnavailable) return false;
    this.setErrs.set(jti, { err: refused.failure, description: refused.description });
    return true;
  }
}

/** RFC 8936 §2.3: `sets` an object of jti to SET, `moreAvailable` a boolean if present. */
function parseAnswer(answer: unknown): { sets: Array<[string, unknown]>; moreAvailable: boolean } {
  const { sets, moreAvailable } = (typeof answer === 'object' && answer !== null ? answer : {}) as Record<string, unknown>;
  if (typeof sets !== 'object' || sets === null || Array.isArray(sets)) throw new SourceError('answer_invalid', 'the poll answer has no `sets` object');
  if (moreAvailable !== undefined && typeof moreAvailable !== 'boolean') throw new SourceError('answer_invalid', 'the poll answer has an invalid `moreAvailable`');
  return { sets: Object.entries(sets), moreAvailable: moreAvailable === true };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) throw new TypeError(`tokenward: pollSecurityEvents ${name} must be a positive number; got ${String(value)}`);
  return value;
}
