/**
 * The revocation stream: a Redis Stream (XADD / XREAD), not pub/sub, because a stream keeps what
 * was published while a reader was away, and a reader resumes from the last id it saw. Each entry
 * has one field, `revocation`, holding one revocation as JSON in @tokenward/core's entry format
 * (revocation-entry.ts: token, subject, client or session). The publisher trims the stream with
 * MINID on every XADD to entries younger than the longest token lifetime plus clock tolerance, so
 * that it stays bounded and a new instance reading it from the start learns every revocation that
 * can still matter: an older entry only revokes tokens that have expired.
 */

export const DEFAULT_STREAM = 'tokenward:revocations';
export const ENTRY_FIELD = 'revocation';
/** Bytes of one entry's JSON; anything larger is not a revocation and is skipped unparsed. */
export const MAX_ENTRY_BYTES = 4096;
/** Seconds past `exp` a verifier may still accept a token (core's largest clock tolerance). */
export const MAX_CLOCK_TOLERANCE = 300;
// Stream key: Redis keys are binary-safe; this only keeps a typo from becoming a new stream.
const STREAM_KEY = /^[\x21-\x7e]{1,256}$/;

export function checkStreamKey(stream: unknown): string {
  if (typeof stream !== 'string' || !STREAM_KEY.test(stream)) throw new TypeError(`tokenward: stream must be a Redis key of 1 to 256 printable ASCII characters; got ${JSON.stringify(stream)}`);
  return stream;
}

export interface StreamEntry {
  id: string;
  /** The `revocation` field, or undefined when the entry has none. */
  value: string | undefined;
}

/**
 * The entries of an XREAD reply for the one stream read: RESP2 `[[key, [[id, [field, value,
 * ...]], ...]]]`, or RESP3 `{ key: [[id, [...]], ...] }` (an object or a Map); `null` when nothing
 * came. Taken whatever the key says (a client's key prefix, ioredis `keyPrefix`, renames it).
 * Throws on a reply of another shape (the caller treats that as a failed read).
 */
export function entriesOf(reply: unknown): StreamEntry[] {
  if (reply === null || reply === undefined) return [];
  let streams: unknown[];
  if (Array.isArray(reply)) streams = reply.map((item) => (Array.isArray(item) ? item[1] : undefined));
  else if (reply instanceof Map) streams = [...reply.values()];
  else if (typeof reply === 'object') streams = Object.values(reply);
  else throw new TypeError('unexpected XREAD reply');
  if (streams.length === 0) return [];
  if (streams.length !== 1) throw new TypeError('unexpected XREAD reply: more than one stream');
  const entries = streams[0];
  if (!Array.isArray(entries)) throw new TypeError('unexpected XREAD reply');
  return entries.map((entry) => {
    if (!Array.isArray(entry) || entry.length !== 2) throw new TypeError('unexpected XREAD entry');
    const [id, fields] = entry as [unknown, unknown];
    return { id: String(id), value: fieldOf(fields) };
  });
}

function fieldOf(fields: unknown): string | undefined {
  if (Array.isArray(fields)) {
    for (let i = 0; i + 1 < fields.length; i += 2) if (String(fields[i]) === ENTRY_FIELD) return String(fields[i + 1]);
    return undefined;
  }
  if (fields instanceof Map) return fields.has(ENTRY_FIELD) ? String(fields.get(ENTRY_FIELD)) : undefined;
  if (typeof fields === 'object' && fields !== null && Object.hasOwn(fields, ENTRY_FIELD)) return String((fields as Record<string, unknown>)[ENTRY_FIELD]);
  return undefined;
}
