/**
 * syncRevocations: keeps a RevocationList in step with the revocation stream (stream.ts), so that
 * a revocation published by any instance, the authorization server or an admin endpoint is
 * refused by every instance within one round trip of Redis, with nothing lost across a
 * disconnect.
 *
 * On start the reader reads the stream from its beginning (bounded by the publisher's trimming)
 * in pages, without blocking, and `ready` resolves once it has caught up. Then it waits on
 * XREAD BLOCK from the last id seen, on a connection of its own. When a read fails (Redis down,
 * the connection lost), the list keeps every entry it has and verification goes on with it: only
 * the sync fails open, never verification. The reader retries with a growing delay, and once a
 * read succeeds again it catches up from its last id before it waits again; each step is an
 * event. An entry that is not a revocation is skipped with an event, never a throw.
 */
import { applyRevocationEntry, type RevocationList } from '@tokenward/core';
import { connectionOf, type RedisClient, type RedisConnection } from './connection.js';
import { withDeadline } from './deadline.js';
import { checkStreamKey, DEFAULT_STREAM, entriesOf, MAX_ENTRY_BYTES } from './stream.js';

export interface RevocationSyncOptions {
  /** The application's Redis client (node-redis or ioredis) or a RedisConnection; the reader duplicates it. */
  redis: RedisClient;
  /** The list the verifiers consult. */
  list: RevocationList;
  /** The stream's key. Default 'tokenward:revocations'. */
  stream?: string;
  /** Scope subject, client and session entries without an `iss` to this issuer. */
  issuer?: string;
  /** Milliseconds one XREAD BLOCK waits before it is sent again. Default 5000. */
  block?: number;
  /** Entries per read. Default 1000. */
  count?: number;
  /** Milliseconds between retries after a failed read: from `min`, doubling up to `max`. Default 100 to 5000. */
  backoff?: { min?: number; max?: number };
  /** Stops the reader when aborted. */
  signal?: AbortSignal;
  onEvent?: (event: RevocationSyncEvent) => void;
}

export type RevocationSyncEvent =
  /** Read up to the end of the stream: at start (then `ready` resolves) and after each reconnect. */
  | { type: 'revocation_sync_caught_up'; stream: string; lastId: string; applied: number }
  /** Entries applied from a read while caught up. */
  | { type: 'revocations_applied'; stream: string; lastId: string; applied: number }
  /** A read failed; the next comes after `retryIn` ms. The list keeps what it has. */
  | { type: 'revocation_sync_failed'; stream: string; attempt: number; retryIn: number; error: string }
  /** An entry skipped: no `revocation` field, too large, not JSON, or not a revocation core knows. */
  | { type: 'revocation_ignored'; stream: string; id: string; reason: 'field_missing' | 'too_large' | 'not_json' | 'entry_invalid' | 'type_unknown' };

export interface RevocationSync {
  /** True once the stream has been read to its end (false if stopped first); never rejects. */
  readonly ready: Promise<boolean>;
  /** The id of the last entry read ('0-0' before any). */
  readonly lastId: string;
  /** Whether the reader is caught up and connected now. */
  readonly synced: boolean;
  stop(): void;
}

// Beyond a read's BLOCK time, how long its answer may take before the connection counts as dead.
const READ_MARGIN_MS = 5000;

export const REVOCATION_SYNC_DEFAULTS = Object.freeze({ stream: DEFAULT_STREAM, block: 5000, count: 1000, backoff: Object.freeze({ min: 100, max: 5000 }) });

export function syncRevocations(options: RevocationSyncOptions): RevocationSync {
  return new StreamReader(options);
}

class StreamReader implements RevocationSync {
  readonly ready: Promise<boolean>;
  lastId = '0-0';
  synced = false;
  private resolveReady!: (value: boolean) => void;
  private readonly redis: RedisConnection;
  private readonly list: RevocationList;
  private readonly stream: string;
  private readonly issuer: string | undefined;
  private readonly block: number;
  private readonly count: number;
  private readonly backoff: { min: number; max: number };
  private readonly emit: (event: RevocationSyncEvent) => void;
  private reader: RedisConnection | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private readonly onAbort = () => this.stop();
  private readonly signal: AbortSignal | undefined;

  constructor(options: RevocationSyncOptions) {
    if (typeof options?.list?.isRevoked !== 'function') throw new TypeError('tokenward: syncRevocations needs the RevocationList to keep in step (list)');
    this.redis = connectionOf(options.redis);
    this.list = options.list;
    this.stream = checkStreamKey(options.stream ?? DEFAULT_STREAM);
    this.issuer = options.issuer;
    this.block = whole(options.block, REVOCATION_SYNC_DEFAULTS.block, 'block', 0);
    this.count = whole(options.count, REVOCATION_SYNC_DEFAULTS.count, 'count', 1);
    const min = whole(options.backoff?.min, REVOCATION_SYNC_DEFAULTS.backoff.min, 'backoff.min', 1);
    this.backoff = { min, max: Math.max(min, whole(options.backoff?.max, REVOCATION_SYNC_DEFAULTS.backoff.max, 'backoff.max', 1)) };
    const onEvent = options.onEvent;
    this.emit = (event) => {
      try {
        onEvent?.(event);
      } catch {
        // A throwing listener must not stop the sync.
      }
    };
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    this.signal = options.signal;
    if (this.signal?.aborted === true) this.stop();
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    void this.run();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.synced = false;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.resolveReady(false);
    this.wake?.();
    const reader = this.reader;
    this.reader = undefined;
    void reader?.close().catch(() => undefined);
  }

  private async run(): Promise<void> {
    let failures = 0;
    let catchingUp = true;
    let caughtUpApplied = 0;
    while (!this.stopped) {
      try {
        if (this.reader === undefined) {
          const reader = await this.redis.duplicate(() => undefined);
          if (this.stopped) {
            await reader.close();
            break;
          }
          this.reader = reader;
        }
        const args = ['XREAD', 'COUNT', String(this.count), ...(catchingUp ? [] : ['BLOCK', String(this.block)]), 'STREAMS', this.stream, this.lastId];
        // A connection that went silent (half-open) must not pass for caught up: a read takes at
        // most its block time and a margin, or the connection is dropped and made again.
        const entries = entriesOf(await withDeadline(this.reader.sendCommand(args), (catchingUp ? 0 : this.block) + READ_MARGIN_MS, 'no answer from Redis'));
        if (this.stopped) break;
        failures = 0;
        const applied = this.apply(entries);
        if (catchingUp) {
          caughtUpApplied += applied;
          if (entries.length < this.count) {
            catchingUp = false;
            this.synced = true;
            this.emit({ type: 'revocation_sync_caught_up', stream: this.stream, lastId: this.lastId, applied: caughtUpApplied });
            caughtUpApplied = 0;
            this.resolveReady(true);
          }
        } else if (entries.length > 0) {
          this.emit({ type: 'revocations_applied', stream: this.stream, lastId: this.lastId, applied });
        }
      } catch (error) {
        if (this.stopped) break;
        // A new connection next time: the client may have given up reconnecting this one.
        const broken = this.reader;
        this.reader = undefined;
        void broken?.close().catch(() => undefined);
        failures += 1;
        this.synced = false;
        catchingUp = true;
        const retryIn = Math.min(this.backoff.max, this.backoff.min * 2 ** Math.min(failures - 1, 20));
        this.emit({ type: 'revocation_sync_failed', stream: this.stream, attempt: failures, retryIn, error: describe(error) });
        await this.sleep(retryIn);
      }
    }
  }

  /** Applies the entries in order; returns how many were revocations. */
  private apply(entries: readonly { id: string; value: string | undefined }[]): number {
    let applied = 0;
    for (const { id, value } of entries) {
      this.lastId = id;
      const reason = this.applyOne(value);
      if (reason === undefined) applied += 1;
      else this.emit({ type: 'revocation_ignored', stream: this.stream, id, reason });
    }
    return applied;
  }

  private applyOne(value: string | undefined): Extract<RevocationSyncEvent, { type: 'revocation_ignored' }>['reason'] | undefined {
    if (value === undefined) return 'field_missing';
    if (Buffer.byteLength(value) > MAX_ENTRY_BYTES) return 'too_large';
    let entry: unknown;
    try {
      entry = JSON.parse(value);
    } catch {
      return 'not_json';
    }
    const outcome = applyRevocationEntry(this.list, entry, this.issuer);
    return outcome === 'applied' ? undefined : outcome;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

function whole(value: number | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new TypeError(`tokenward: syncRevocations ${name} must be an integer of at least ${min}; got ${String(value)}`);
  return value;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
