/**
 * Signing keys and their rotation. Each key is, in order of its life:
 *   next     published in the JWKS, not yet used to sign: resource servers' caches pick it up;
 *   active   signs every new access token (exactly one key is active);
 *   retired  no longer signs, still published so the tokens it signed verify until they expire;
 *   (gone)   removed from the JWKS once no token it signed can still be accepted.
 * A key becomes active only after it has been published for `publishLead` seconds (at least the
 * resource servers' JWKS cache age), so no server ever sees a token whose key it has not fetched.
 * The emergency path, `remove(kid)`, takes a key out of the JWKS at once whatever its state: every
 * token it signed stops verifying as soon as each resource server refetches the set (tokenward
 * drops a vanished kid from its caches at that moment), and if it was the active key a
 * replacement signs from now on, without publish lead: a compromised key must not sign on.
 */
import { createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';

export const ALG = 'ES256';

export class KeyRingError extends Error {
  /**
   * @param {'next_key_exists' | 'no_next_key' | 'next_key_too_new' | 'unknown_kid'} code
   * @param {string} message
   * @param {number} status HTTP status for the admin API
   */
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/**
 * @typedef {{ kid: string, status: 'next' | 'active' | 'retired', createdAt: number, activatedAt?: number,
 *   retiredAt?: number, publicJwk: import('node:crypto').JsonWebKey, privateJwk: import('node:crypto').JsonWebKey }} StoredKey
 */

export class KeyRing {
  /**
   * @param {StoredKey[]} keys the persisted key list, changed in place
   * @param {{ clock: () => number, publishLead: number, retireAfter: number }} options seconds
   */
  constructor(keys, options) {
    this.keys = keys;
    this.clock = options.clock;
    this.publishLead = options.publishLead;
    // A retired key may still have signed a token that some resource server accepts this long.
    this.retireAfter = options.retireAfter;
    /** @type {Map<string, import('node:crypto').KeyObject>} */
    this.privateKeys = new Map();
  }

  /** On first start there is no key: make one active at once. Returns true when it changed the ring. */
  ensureActive() {
    if (this.keys.some((key) => key.status === 'active')) return false;
    const next = this.keys.find((key) => key.status === 'next');
    if (next !== undefined) this.promote(next);
    else this.keys.push({ ...newKey(this.clock()), status: 'active', activatedAt: this.clock() });
    return true;
  }

  /** The JWK Set (RFC 7517 §5): public members only. */
  jwks() {
    return { keys: this.keys.map((key) => ({ ...key.publicJwk, kid: key.kid, alg: ALG, use: 'sig' })) };
  }

  /** What the admin API shows: states and times, no key material. */
  describe() {
    return this.keys.map(({ kid, status, createdAt, activatedAt, retiredAt }) => ({ kid, status, createdAt, activatedAt, retiredAt }));
  }

  /** The active key, to sign with. */
  signingKey() {
    const key = this.keys.find((candidate) => candidate.status === 'active');
    if (key === undefined) throw new Error('no active signing key');
    let privateKey = this.privateKeys.get(key.kid);
    if (privateKey === undefined) {
      privateKey = createPrivateKey({ key: key.privateJwk, format: 'jwk' });
      this.privateKeys.set(key.kid, privateKey);
    }
    return { kid: key.kid, privateKey };
  }

  /**
   * The public JWK published under `kid`, to check a token handed back to us.
   * @param {string} kid
   */
  publicJwk(kid) {
    return this.keys.find((key) => key.kid === kid)?.publicJwk;
  }

  /** Step 1 of a rotation: publish the next key. */
  publishNext() {
    if (this.keys.some((key) => key.status === 'next')) throw new KeyRingError('next_key_exists', 'a next key is already published', 409);
    const key = { ...newKey(this.clock()), status: /** @type {const} */ ('next') };
    this.keys.push(key);
    return key.kid;
  }

  /**
   * Step 2: the next key signs from now on; the active one retires (still published).
   * @param {{ force?: boolean }} [options] force skips the publish lead (not for normal rotations)
   */
  activateNext(options = {}) {
    const next = this.keys.find((key) => key.status === 'next');
    if (next === undefined) throw new KeyRingError('no_next_key', 'publish a next key first', 409);
    const publishedFor = (this.clock() - next.createdAt) / 1000;
    if (publishedFor < this.publishLead && options.force !== true) {
      throw new KeyRingError('next_key_too_new', `the next key has been published for ${publishedFor.toFixed(1)} s of the ${this.publishLead} s resource servers need to fetch it`, 409);
    }
    this.promote(next);
    return next.kid;
  }

  /** Step 3: removes retired keys under which no acceptable token can remain. Returns their kids. */
  prune() {
    const now = this.clock();
    const removable = this.keys.filter((key) => key.status === 'retired' && now >= (key.retiredAt ?? 0) + this.retireAfter * 1000);
    for (const key of removable) this.drop(key.kid);
    return removable.map((key) => key.kid);
  }

  /**
   * The emergency path: the key leaves the JWKS now, whatever its state.
   * @param {string} kid
   * @returns {{ removed: string, active: string }}
   */
  remove(kid) {
    const key = this.keys.find((candidate) => candidate.kid === kid);
    if (key === undefined) throw new KeyRingError('unknown_kid', 'no such key', 404);
    this.drop(kid);
    if (key.status === 'active') this.ensureActive();
    return { removed: kid, active: this.signingKey().kid };
  }

  /** @param {StoredKey} next */
  promote(next) {
    const now = this.clock();
    for (const key of this.keys) {
      if (key.status === 'active') Object.assign(key, { status: 'retired', retiredAt: now });
    }
    Object.assign(next, { status: 'active', activatedAt: now });
  }

  /** @param {string} kid */
  drop(kid) {
    const index = this.keys.findIndex((key) => key.kid === kid);
    if (index >= 0) this.keys.splice(index, 1);
    this.privateKeys.delete(kid);
  }
}

/**
 * A fresh P-256 key pair; its kid is the RFC 7638 thumbprint, so a kid can never name two keys.
 * @param {number} now
 */
function newKey(now) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = publicKey.export({ format: 'jwk' });
  const thumbprintInput = JSON.stringify({ crv: publicJwk.crv, kty: publicJwk.kty, x: publicJwk.x, y: publicJwk.y });
  const kid = createHash('sha256').update(thumbprintInput).digest('base64url');
  return { kid, createdAt: now, publicJwk, privateJwk: privateKey.export({ format: 'jwk' }) };
}
