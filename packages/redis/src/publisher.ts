/**
 * revocationPublisher: the writing side of the revocation stream (stream.ts), for the
 * authorization server, an admin endpoint, or an instance that learns of a revocation first (a
 * back-channel logout reaching one instance of a fleet). The same four kinds as RevocationList:
 * by jti, subject, client or session. Each is one XADD that also trims the stream (MINID) to the
 * longest token lifetime. A failed XADD is retried with a growing delay until `retryFor` has
 * passed, so that a revocation published while Redis restarts still reaches the fleet; the promise
 * resolves with the entry's id once Redis has it, and rejects only when the time is up.
 */
import type { Instant, ScopeOfRevocation } from '@tokenward/core';
import { connectionOf, type RedisClient, type RedisConnection } from './connection.js';
import { withDeadline } from './deadline.js';
import { checkStreamKey, DEFAULT_STREAM, ENTRY_FIELD, MAX_CLOCK_TOLERANCE, MAX_ENTRY_BYTES } from './stream.js';

export interface RevocationPublisherOptions {
  /** The application's Redis client (node-redis or ioredis) or a RedisConnection. */
  redis: RedisClient;
  /** The stream's key. Default 'tokenward:revocations'. */
  stream?: string;
  /**
   * Seconds: the longest lifetime (`exp` - `iat`) of the tokens revoked through this stream.
   * Entries older than this plus 5 minutes of clock tolerance are trimmed. Default 3600.
   */
  maxTokenLifetime?: number;
  /**
   * Milliseconds a publication keeps retrying while Redis cannot take it. Default 60,000. Each
   * attempt gets at least a second, so a small value can overrun by that much.
   */
  retryFor?: number;
  /** Milliseconds since the epoch; for tests. */
  clock?: () => number;
}

export interface RevocationPublisher {
  /** One token by its `jti`, until its `exp`. Resolves with the stream entry's id. */
  revoke(token: { jti: string; expiresAt: Instant }): Promise<string>;
  /** Every token of `subject` issued at or before `before` (default now). */
  revokeSubject(subject: string, scope?: ScopeOfRevocation): Promise<string>;
  /** Every token of OAuth client `clientId` issued at or before `before` (default now). */
  revokeClient(clientId: string, scope?: ScopeOfRevocation): Promise<string>;
  /** Every token carrying the provider's session id `sid` issued at or before `before` (default now). */
  revokeSession(sid: string, scope?: ScopeOfRevocation): Promise<string>;
}

export function revocationPublisher(options: RevocationPublisherOptions): RevocationPublisher {
  const redis = connectionOf(options.redis);
  const stream = checkStreamKey(options.stream ?? DEFAULT_STREAM);
  const maxTokenLifetime = options.maxTokenLifetime ?? 3600;
  if (!(Number.isInteger(maxTokenLifetime) && maxTokenLifetime > 0)) throw new TypeError(`tokenward: revocationPublisher maxTokenLifetime must be a whole number of seconds; got ${String(options.maxTokenLifetime)}`);
  const retryFor = options.retryFor ?? 60_000;
  if (!(Number.isFinite(retryFor) && retryFor >= 0)) throw new TypeError(`tokenward: revocationPublisher retryFor must be milliseconds; got ${String(options.retryFor)}`);
  const clock = options.clock ?? Date.now;
  const now = () => Math.floor(clock() / 1000);

  const publish = (entry: Record<string, string | number>) => {
    const json = JSON.stringify(entry);
    // Readers skip a larger entry: published, it would be lost while reported as sent.
    if (Buffer.byteLength(json) > MAX_ENTRY_BYTES) return Promise.reject(new RangeError(`tokenward: a revocation entry is limited to ${MAX_ENTRY_BYTES} bytes`));
    // Entries older than any token they could revoke; `~` lets Redis trim whole nodes, cheaply.
    const minId = `${Math.max(0, Math.floor(clock() - (maxTokenLifetime + MAX_CLOCK_TOLERANCE) * 1000))}-0`;
    return withRetries(redis, ['XADD', stream, 'MINID', '~', minId, '*', ENTRY_FIELD, json], retryFor);
  };
  const issuedBefore = async (type: string, member: string, value: string, scope: ScopeOfRevocation = {}) => {
    if (typeof value !== 'string' || value === '') throw new TypeError(`tokenward: the ${member} to revoke must be a non-empty string`);
    if (scope.issuer !== undefined && (typeof scope.issuer !== 'string' || scope.issuer === '')) throw new TypeError('tokenward: issuer must be a non-empty string');
    const before = scope.before === undefined ? now() : seconds(scope.before);
    // Trimmed by the time of its XADD, an entry for tokens issued later would be gone before they expire.
    if (before > now() + MAX_CLOCK_TOLERANCE) throw new RangeError('tokenward: `before` is in the future beyond the clock tolerance: revoke when the time comes');
    return publish({ type, [member]: value, before, ...(scope.issuer === undefined ? {} : { iss: scope.issuer }) });
  };
  return {
    async revoke(token) {
      if (typeof token?.jti !== 'string' || token.jti === '') throw new TypeError('tokenward: revoke() needs the token jti');
      const exp = seconds(token.expiresAt);
      // Trimmed before it expires, the entry would be missing for an instance started after that.
      if (exp - now() > maxTokenLifetime) throw new RangeError(`tokenward: the token expires ${exp - now()} s from now, beyond maxTokenLifetime (${maxTokenLifetime} s): raise maxTokenLifetime`);
      return publish({ type: 'token', jti: token.jti, exp });
    },
    revokeSubject: (subject, scope) => issuedBefore('subject', 'sub', subject, scope),
    revokeClient: (clientId, scope) => issuedBefore('client', 'client_id', clientId, scope),
    revokeSession: (sid, scope) => issuedBefore('session', 'sid', sid, scope),
  };
}

const MIN_ATTEMPT_MS = 1000;

async function withRetries(redis: RedisConnection, args: string[], retryFor: number): Promise<string> {
  const deadline = Date.now() + retryFor;
  for (let attempt = 0; ; attempt++) {
    const left = deadline - Date.now();
    try {
      // A client may hold a command while it reconnects; the deadline bounds that wait too, but
      // leaves each attempt a second: cut shorter, an XADD that lands would be reported lost.
      return String(await withDeadline(redis.sendCommand(args), Math.max(left, MIN_ATTEMPT_MS), 'no answer from Redis'));
    } catch (error) {
      const delay = Math.min(5000, 50 * 2 ** Math.min(attempt, 10));
      if (Date.now() + delay > deadline) throw new Error(`tokenward: could not publish the revocation to Redis within ${retryFor} ms: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function seconds(instant: Instant): number {
  const value = instant instanceof Date ? instant.getTime() / 1000 : instant;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`tokenward: a time must be seconds since the epoch or a Date; got ${String(instant)}`);
  return Math.floor(value);
}
