/**
 * Refresh tokens: opaque, stored only as SHA-256 hashes (they are 256 random bits, so a fast hash
 * is enough: there is nothing to brute-force), bound to the client they were issued to, and
 * grouped in families, one per grant (one login on one client).
 *
 * Rotation with reuse detection (OAuth 2.0 Security BCP, RFC 9700 §4.14.2): every use returns a
 * new refresh token and marks the presented one used. A used token presented again means two
 * parties hold the family: the legitimate client and whoever copied a token. The server cannot
 * tell which is which, so the whole family is revoked, and the access tokens it issued that are
 * still valid go to the revocation feed, for resource servers to refuse them too.
 *
 * Two lifetimes:
 * - sliding (inactivity): a token not used within `idleTtl` expires; each rotation starts a new
 *   window, so a client in regular use stays logged in;
 * - absolute: no token of a family is valid past `absoluteTtl` after the login, however active,
 *   so a stolen-and-used family cannot live forever.
 */
import { randomBytes } from 'node:crypto';
import { sha256 } from './clients.js';
import { HttpError } from './http.js';

/**
 * @typedef {{ id: string, clientId: string, sub: string, sid?: string, scope: string[], createdAt: number,
 *   absoluteExpiresAt: number, idleExpiresAt: number, revokedAt?: number, revokedReason?: string,
 *   accessTokens: Array<{ jti: string, exp: number }> }} Family
 * @typedef {{ familyId: string, issuedAt: number, idleExpiresAt: number, usedAt?: number }} RefreshToken
 */

const RETAIN_ENDED_MS = 24 * 60 * 60 * 1000;

export class RefreshTokens {
  /**
   * @param {{ families: Map<string, Family>, refreshTokens: Map<string, RefreshToken> }} state
   * @param {{ clock: () => number, idleTtl: number, absoluteTtl: number,
   *   revokeAccessToken: (token: { jti: string, exp: number }) => void }} options TTLs in seconds
   */
  constructor(state, options) {
    this.families = state.families;
    this.tokens = state.refreshTokens;
    this.clock = options.clock;
    this.idleTtl = options.idleTtl;
    this.absoluteTtl = options.absoluteTtl;
    this.revokeAccessToken = options.revokeAccessToken;
  }

  /**
   * A new family and its first refresh token.
   * @param {{ clientId: string, sub: string, sid?: string, scope: string[] }} grant `sid`: the sign-in session
   */
  start(grant) {
    const now = this.clock();
    /** @type {Family} */
    const family = {
      id: randomBytes(16).toString('hex'),
      clientId: grant.clientId,
      sub: grant.sub,
      ...(grant.sid === undefined ? {} : { sid: grant.sid }),
      scope: grant.scope,
      createdAt: now,
      absoluteExpiresAt: now + this.absoluteTtl * 1000,
      idleExpiresAt: now,
      accessTokens: [],
    };
    this.families.set(family.id, family);
    return { family, token: this.issue(family) };
  }

  /**
   * The refresh grant (RFC 6749 §6): checks the presented token and rotates it.
   * Throws invalid_grant; a replayed token revokes its family before throwing.
   * @param {string} presented
   * @param {string} clientId the authenticated (or, for a public client, named) client
   * @param {(family: Family) => void} [check] more checks, run before the token is spent
   * @returns {{ family: Family, token: string }}
   */
  rotate(presented, clientId, check) {
    const record = this.tokens.get(hash(presented));
    const family = record === undefined ? undefined : this.families.get(record.familyId);
    if (record === undefined || family === undefined) throw invalidGrant('refresh token unknown');
    // Not revoked for this: another client cannot use the token, and revoking would let anyone
    // who saw a confidential client's refresh token log its user out.
    if (family.clientId !== clientId) throw invalidGrant('refresh token was issued to another client');
    if (family.revokedAt !== undefined) throw invalidGrant('refresh token revoked');
    const now = this.clock();
    if (record.usedAt !== undefined) {
      this.revoke(family, 'refresh_token_reuse');
      throw invalidGrant('refresh token already used: every token of this grant is now revoked');
    }
    if (now >= family.absoluteExpiresAt) throw invalidGrant('refresh token expired (absolute lifetime)');
    if (now >= record.idleExpiresAt) throw invalidGrant('refresh token expired (inactivity)');
    check?.(family);
    record.usedAt = now;
    return { family, token: this.issue(family) };
  }

  /**
   * The family of a refresh token, used or not (RFC 7009 revocation).
   * @param {string} presented
   */
  familyOf(presented) {
    const record = this.tokens.get(hash(presented));
    return record === undefined ? undefined : this.families.get(record.familyId);
  }

  /**
   * Revokes the family: none of its refresh tokens works any more, and its access tokens that
   * are still valid are handed to `revokeAccessToken` (the revocation feed).
   * @param {Family} family
   * @param {string} reason
   * @param {{ accessTokensCovered?: boolean }} [options] true when the caller publishes an entry
   *   that covers the access tokens already (a subject or client entry)
   */
  revoke(family, reason, options = {}) {
    const now = this.clock();
    if (family.revokedAt === undefined) Object.assign(family, { revokedAt: now, revokedReason: reason });
    if (options.accessTokensCovered !== true) {
      for (const token of family.accessTokens) if (token.exp * 1000 > now) this.revokeAccessToken(token);
    }
    family.accessTokens = [];
  }

  /**
   * Revokes every family matching `filter`, whose access tokens the caller's subject or client
   * entry covers; returns how many were live.
   * @param {(family: Family) => boolean} filter
   * @param {string} reason
   */
  revokeWhere(filter, reason) {
    let count = 0;
    for (const family of this.families.values()) {
      if (!filter(family)) continue;
      if (family.revokedAt === undefined) count++;
      this.revoke(family, reason, { accessTokensCovered: true });
    }
    return count;
  }

  /**
   * Remembers an access token issued under the family, to revoke it with the family.
   * @param {Family} family
   * @param {{ jti: string, exp: number }} token
   */
  track(family, token) {
    const now = this.clock();
    family.accessTokens = family.accessTokens.filter((t) => t.exp * 1000 > now);
    family.accessTokens.push(token);
  }

  /**
   * Forgets families no token of which can be used any more, a day after that (so a late client
   * is still told why its token failed). Used tokens of a live family are kept: they are what
   * reuse detection recognises.
   */
  prune() {
    const now = this.clock();
    for (const [id, family] of this.families) {
      if (now >= Math.min(family.absoluteExpiresAt, family.idleExpiresAt) + RETAIN_ENDED_MS) this.families.delete(id);
    }
    for (const [key, record] of this.tokens) {
      if (!this.families.has(record.familyId)) this.tokens.delete(key);
    }
  }

  /** @param {Family} family */
  issue(family) {
    const token = randomBytes(32).toString('base64url');
    const now = this.clock();
    const idleExpiresAt = Math.min(now + this.idleTtl * 1000, family.absoluteExpiresAt);
    this.tokens.set(hash(token), { familyId: family.id, issuedAt: now, idleExpiresAt });
    family.idleExpiresAt = idleExpiresAt;
    return token;
  }
}

/** @param {string} token */
function hash(token) {
  return sha256(token).toString('hex');
}

/** @param {string} description */
function invalidGrant(description) {
  return new HttpError(400, 'invalid_grant', description);
}
