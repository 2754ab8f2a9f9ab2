/**
 * pollRevocations: keeps a RevocationList in step with the authorization server's revocation
 * feed, so that every instance of a resource server refuses a revoked token within one poll
 * interval, still without a call to the authorization server per request.
 *
 * The feed is one JSON document per GET, read with the same limits as the JWKS (https only except
 * loopback, no redirects, a deadline, a byte cap):
 *
 *   GET <url>?since=<cursor>            (no `since` on the first request)
 *   200 { "cursor": "42", "has_more": false, "feed": "5f0c…",
 *         "revocations": [
 *           { "type": "token",   "jti": "…", "exp": 1767225600 },          // one access token, until exp
 *           { "type": "subject", "sub": "user-42", "before": 1767225300 },  // tokens of sub with iat <= before
 *           { "type": "client",  "client_id": "job", "before": 1767225300 },
 *           { "type": "session", "sid": "08a5…", "before": 1767225300 } ] }  // tokens carrying sid, iat <= before
 *
 * `cursor` is opaque and sent back as `since`. `has_more` asks for the next page at once, up to
 * `maxPages` per poll. `feed` names the feed's history: when it changes (the server's store was
 * reset), the cursor means nothing any more and the poller starts again from the beginning.
 * Applying an entry twice is harmless, so at-least-once delivery is all a feed has to give.
 *
 * Failures never reach the application: they are reported through `onEvent`, the list keeps what
 * it had, and the next poll comes one interval later. Polls never overlap, the timer is unref'd
 * (a poller alone does not keep a process alive) and `stop()` (or `signal`) ends everything.
 */
import { emitter } from './events.js';
import { checkUrl, defaultFetch, fetchJson, SourceError, type FetchFailure, type FetchJsonOptions, type FetchLike } from './fetch-json.js';
import { observeFeedAge, type MetricsOptions } from './metrics.js';
import { applyRevocationEntry } from './revocation-entry.js';
import type { RevocationList } from './revocation.js';

export interface RevocationFeedOptions {
  /** The feed URL (`http:` only on loopback unless `allowInsecureHttp`). */
  url: string;
  /** The list the verifiers consult; entries from the feed are added to it. */
  list: RevocationList;
  /** Milliseconds between the end of one poll and the start of the next. Default 5 s. */
  interval?: number;
  /** Scope subject, client and session entries to this issuer (a list shared by several issuers). */
  issuer?: string;
  /** Milliseconds for one request, body included. Default 5 s. */
  timeout?: number;
  /** Byte cap on one response. Default 1 MiB. */
  maxBytes?: number;
  /** Pages fetched at most per poll when the feed says `has_more`. Default 10. */
  maxPages?: number;
  /** The fetch to use (credentials for the feed, proxies, tests). Default: the global fetch. */
  fetch?: FetchLike;
  /** Allow plain http to hosts other than loopback. Default false. */
  allowInsecureHttp?: boolean;
  /** Stops the poller when aborted, like `stop()`. */
  signal?: AbortSignal;
  onEvent?: (event: RevocationFeedEvent) => void;
  /** OpenTelemetry: `tokenward.revocation_feed.age` (metrics.ts); default the global MeterProvider, `false` for none. */
  metrics?: MetricsOptions | false;
}

export type RevocationFeedFailure = FetchFailure | 'feed_invalid';

export type RevocationFeedEvent =
  | {
      type: 'revocations_applied';
      url: string;
      /** Entries added to the list by this poll (0 when the feed had nothing new). */
      applied: number;
      cursor: string | undefined;
    }
  | {
      type: 'revocations_poll_failed';
      url: string;
      failure: RevocationFeedFailure;
      message: string;
      consecutiveFailures: number;
      /** Milliseconds since the epoch of the last complete poll; undefined if none yet. */
      lastSuccessAt: number | undefined;
    }
  | {
      type: 'revocation_ignored';
      url: string;
      /** `type_unknown` for entries of a type this version does not know (a newer feed). */
      reason: 'entry_invalid' | 'type_unknown';
    };

export interface RevocationFeed {
  /**
   * Resolves true once the list has caught up with the feed for the first time, or false if the
   * poller is stopped before that. Never rejects. Await it (with your own deadline) before serving
   * if requests must not be accepted before revocations are known.
   */
  readonly ready: Promise<boolean>;
  /** The cursor of the last page applied. */
  readonly cursor: string | undefined;
  /** Polls now (or joins the poll under way); true when it completed. Never rejects. */
  poll(): Promise<boolean>;
  /** Stops polling; a request under way is aborted and its answer not applied. */
  stop(): void;
}

export const REVOCATION_FEED_DEFAULTS = {
  interval: 5_000,
  timeout: 5_000,
  maxBytes: 1024 * 1024,
  maxPages: 10,
} as const;

// An opaque cursor is echoed back in a URL; anything longer than this is not a cursor.
const MAX_CURSOR_LENGTH = 512;

/** Starts polling `url` into `list` at once, then every `interval`. */
export function pollRevocations(options: RevocationFeedOptions): RevocationFeed {
  return new RevocationFeedPoller(options);
}

class RevocationFeedPoller implements RevocationFeed {
  readonly ready: Promise<boolean>;
  private resolveReady!: (caughtUp: boolean) => void;
  private cursorValue: string | undefined;
  private feedId: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<boolean> | undefined;
  private stopped = false;
  private failures = 0;
  private lastSuccessAt: number | undefined;
  private readonly url: string;
  private readonly interval: number;
  private readonly maxPages: number;
  private readonly abort = new AbortController();
  private readonly fetchOptions: FetchJsonOptions;
  private readonly onSignalAbort = () => this.stop();
  private readonly emit: (event: RevocationFeedEvent) => void;
  private readonly unobserve: () => void;

  constructor(private readonly options: RevocationFeedOptions) {
    // Configuration mistakes are thrown here, at startup; nothing thrown later reaches the app.
    checkUrl(options.url, options.allowInsecureHttp ?? false);
    if (typeof options.list?.revoke !== 'function') throw new TypeError('pollRevocations: `list` must be a RevocationList');
    this.url = options.url;
    this.emit = emitter(options.onEvent);
    this.unobserve = observeFeedAge(options.metrics, options.url, () => this.lastSuccessAt);
    this.interval = positive(options.interval, REVOCATION_FEED_DEFAULTS.interval, 'interval');
    this.maxPages = positive(options.maxPages, REVOCATION_FEED_DEFAULTS.maxPages, 'maxPages');
    const baseFetch = options.fetch ?? defaultFetch;
    this.fetchOptions = {
      timeout: positive(options.timeout, REVOCATION_FEED_DEFAULTS.timeout, 'timeout'),
      maxBytes: positive(options.maxBytes, REVOCATION_FEED_DEFAULTS.maxBytes, 'maxBytes'),
      // The stop signal joins fetchJson's own deadline signal, so stop() ends a request under way.
      fetch: (input, init) => baseFetch(input, { ...init, signal: init.signal ? AbortSignal.any([init.signal, this.abort.signal]) : this.abort.signal }),
      accept: 'application/json',
      allowInsecureHttp: options.allowInsecureHttp ?? false,
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

  get cursor(): string | undefined {
    return this.cursorValue;
  }

  poll(): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    if (this.inflight !== undefined) return this.inflight;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.inflight = this.run().then((completed) => {
      this.inflight = undefined;
      this.schedule();
      // Resolved only now, so that code awaiting `ready` can start a poll of its own at once.
      if (completed) this.resolveReady(true);
      return completed;
    });
    return this.inflight;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unobserve();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    this.options.signal?.removeEventListener('abort', this.onSignalAbort);
    this.resolveReady(false);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.poll(), this.interval);
    this.timer.unref();
  }

  private async run(): Promise<boolean> {
    let applied = 0;
    try {
      for (let page = 0; page < this.maxPages; page++) {
        const body = await fetchJson(this.pageUrl(), this.fetchOptions);
        if (this.stopped) return false;
        const parsed = parsePage(body);
        if (parsed.feed !== undefined && this.feedId !== undefined && parsed.feed !== this.feedId) {
          // Another history: our cursor points into the old one. Start again from the beginning.
          this.feedId = parsed.feed;
          this.cursorValue = undefined;
          continue;
        }
        this.feedId = parsed.feed ?? this.feedId;
        applied += this.apply(parsed.revocations);
        const advanced = parsed.cursor !== undefined && parsed.cursor !== this.cursorValue;
        if (parsed.cursor !== undefined) this.cursorValue = parsed.cursor;
        // A feed that says has_more without moving its cursor would have us fetch the same page forever.
        if (!parsed.hasMore || !advanced) break;
      }
    } catch (cause) {
      if (this.stopped) return false;
      this.failures++;
      const failure: RevocationFeedFailure = cause instanceof SourceError ? (cause.failure as RevocationFeedFailure) : 'feed_invalid';
      this.emit({
        type: 'revocations_poll_failed',
        url: this.url,
        failure,
        message: cause instanceof Error ? cause.message : String(cause),
        consecutiveFailures: this.failures,
        lastSuccessAt: this.lastSuccessAt,
      });
      return false;
    }
    this.failures = 0;
    this.lastSuccessAt = Date.now();
    this.emit({ type: 'revocations_applied', url: this.url, applied, cursor: this.cursorValue });
    return true;
  }

  private pageUrl(): string {
    if (this.cursorValue === undefined) return this.url;
    const url = new URL(this.url);
    url.searchParams.set('since', this.cursorValue);
    return url.href;
  }

  /** Adds each valid entry to the list; returns how many were added. */
  private apply(entries: unknown[]): number {
    const { list, issuer } = this.options;
    let applied = 0;
    for (const entry of entries) {
      const outcome = applyRevocationEntry(list, entry, issuer);
      if (outcome === 'applied') applied++;
      else this.emit({ type: 'revocation_ignored', url: this.url, reason: outcome });
    }
    return applied;
  }

}

interface FeedPage {
  cursor: string | undefined;
  hasMore: boolean;
  feed: string | undefined;
  revocations: unknown[];
}

function parsePage(body: unknown): FeedPage {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidFeed('the feed did not answer a JSON object');
  const { cursor, has_more: hasMore, feed, revocations } = body as Record<string, unknown>;
  if (!Array.isArray(revocations)) throw invalidFeed('the feed answer has no `revocations` array');
  const cursorText = typeof cursor === 'number' && Number.isFinite(cursor) ? String(cursor) : cursor;
  if (cursorText !== undefined && (typeof cursorText !== 'string' || cursorText.length > MAX_CURSOR_LENGTH)) {
    throw invalidFeed('the feed answer has an invalid `cursor`');
  }
  if (hasMore !== undefined && typeof hasMore !== 'boolean') throw invalidFeed('the feed answer has an invalid `has_more`');
  if (feed !== undefined && typeof feed !== 'string') throw invalidFeed('the feed answer has an invalid `feed`');
  return { cursor: cursorText, hasMore: hasMore === true, feed, revocations };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) throw new TypeError(`pollRevocations: ${name} must be a positive number`);
  return value;
}

function invalidFeed(message: string): SourceError<RevocationFeedFailure> {
  return new SourceError('feed_invalid', message);
}
