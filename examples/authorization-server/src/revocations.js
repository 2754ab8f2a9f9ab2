/**
 * The revocation feed: what resource servers must refuse before it expires, as an append-only
 * log with a sequence number per entry, read with `GET /revocations?since=<cursor>` (the format
 * @tokenward/core's pollRevocations reads). Entries stay only while a token they match could
 * still be accepted somewhere, so the log is bounded by the access-token lifetime:
 *   token    one access token (by jti) until its exp;
 *   subject  every token of a user issued up to `before` (logout everywhere);
 *   client   every token of a client issued up to `before`;
 *   session  every token carrying the sign-in session's `sid` issued up to `before` (a logout).
 * `feed` names this log's history; a resource server that sees it change starts over.
 */

// Resource servers may accept a token this long past its exp (tokenward's largest clock tolerance).
const MAX_CLOCK_TOLERANCE = 300;
export const MAX_PAGE_SIZE = 1000;

/**
 * @typedef {{ type: 'token', jti: string, exp: number }
 *   | { type: 'subject', sub: string, before: number }
 *   | { type: 'client', client_id: string, before: number }
 *   | { type: 'session', sid: string, before: number }} Revocation
 * @typedef {Revocation & { seq: number, until: number }} StoredRevocation
 */

export class RevocationLog {
  /**
   * @param {{ feed: string, seq: number, revocations: StoredRevocation[] }} state changed in place
   * @param {{ clock: () => number, accessTokenTtl: number, onPublish?: (revocation: Revocation) => void }} options
   *   `onPublish`: also hands each entry to another carrier (the Redis stream, ./redis.js)
   */
  constructor(state, options) {
    this.state = state;
    this.clock = options.clock;
    this.accessTokenTtl = options.accessTokenTtl;
    this.onPublish = options.onPublish;
  }

  /** @param {Revocation} revocation */
  publish(revocation) {
    const lastExp = revocation.type === 'token' ? revocation.exp : revocation.before + this.accessTokenTtl;
    const until = (lastExp + MAX_CLOCK_TOLERANCE) * 1000;
    if (until <= this.clock()) return;
    this.prune();
    this.state.seq += 1;
    this.state.revocations.push({ ...revocation, seq: this.state.seq, until });
    this.onPublish?.(revocation);
  }

  /**
   * One page of the feed after `since`.
   * @param {number} since
   * @param {number} limit
   */
  page(since, limit) {
    const newer = this.live().filter((entry) => entry.seq > since);
    const page = newer.slice(0, limit);
    const hasMore = newer.length > page.length;
    return {
      feed: this.state.feed,
      // Past the end of the page, or, when the page reaches the end, the newest sequence number
      // ever given: entries in between were pruned because nothing can match them any more.
      cursor: String(hasMore ? /** @type {StoredRevocation} */ (page.at(-1)).seq : this.state.seq),
      has_more: hasMore,
      revocations: page.map(({ seq: _seq, until: _until, ...revocation }) => revocation),
    };
  }

  /**
   * Whether a token with these claims is revoked here (for tokens handed back to this server).
   * @param {{ jti?: unknown, sub?: unknown, client_id?: unknown, sid?: unknown, iat?: unknown }} claims
   */
  isRevoked(claims) {
    const iat = typeof claims.iat === 'number' ? claims.iat : Number.NEGATIVE_INFINITY;
    return this.live().some(
      (entry) =>
        (entry.type === 'token' && entry.jti === claims.jti) ||
        (entry.type === 'subject' && entry.sub === claims.sub && iat <= entry.before) ||
        (entry.type === 'client' && entry.client_id === claims.client_id && iat <= entry.before) ||
        (entry.type === 'session' && entry.sid === claims.sid && iat <= entry.before),
    );
  }

  live() {
    const now = this.clock();
    return this.state.revocations.filter((entry) => entry.until > now);
  }

  prune() {
    this.state.revocations = this.live();
  }
}
