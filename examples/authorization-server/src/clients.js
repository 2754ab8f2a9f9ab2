/**
 * Registered clients and users, and client authentication at the token and revocation endpoints
 * (RFC 6749 §2.3). Confidential clients prove themselves with their secret, by HTTP Basic
 * (`client_secret_basic`) or in the body (`client_secret_post`), never both. Public clients only
 * name themselves with `client_id`: they cannot keep a secret, so what protects their refresh
 * tokens is that each is bound to the client it was issued to, and rotated on every use.
 * A client may register a `backchannelLogoutUri` (OpenID Connect Back-Channel Logout 1.0 §2.2)
 * to be sent a logout token when a user's session ends (./backchannel-logout.js): typically an
 * API, a client with no grant of its own that only needs to hear of logouts.
 */
import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { HttpError } from './http.js';

/**
 * @typedef {{ id: string, secret?: string, grantTypes: string[], scopes: string[], redirectUris?: string[], backchannelLogoutUri?: string }} ClientConfig
 * @typedef {{ id: string, secretHash?: Buffer, grantTypes: string[], scopes: string[], redirectUris: string[], backchannelLogoutUri?: string }} Client
 * @typedef {{ username: string, password: string, sub: string, scopes: string[] }} UserConfig
 * @typedef {{ username: string, sub: string, scopes: string[], salt: Buffer, hash: Buffer }} User
 */

export class Clients {
  /** @param {ClientConfig[]} configs */
  constructor(configs) {
    /** @type {Map<string, Client>} */
    this.byId = new Map();
    for (const config of configs) this.add(config);
  }

  /**
   * Registers a client (or replaces the one with its id).
   * @param {ClientConfig} config
   */
  add(config) {
    if (typeof config?.id !== 'string' || config.id === '') throw new TypeError('a client needs an id');
    const logoutUri = config.backchannelLogoutUri;
    if (logoutUri !== undefined && !isLogoutUri(logoutUri)) {
      throw new TypeError(`client ${config.id}: backchannelLogoutUri must be an absolute http(s) URI without a fragment; got ${JSON.stringify(logoutUri)}`);
    }
    this.byId.set(config.id, {
      id: config.id,
      // Hashed so that comparing takes the same time whatever the length of the guess.
      secretHash: config.secret === undefined ? undefined : sha256(config.secret),
      grantTypes: [...(config.grantTypes ?? [])],
      scopes: [...(config.scopes ?? [])],
      redirectUris: [...(config.redirectUris ?? [])],
      ...(logoutUri === undefined ? {} : { backchannelLogoutUri: logoutUri }),
    });
  }

  /** The clients to send logout tokens to. */
  logoutReceivers() {
    return [...this.byId.values()].filter((client) => client.backchannelLogoutUri !== undefined).map((client) => ({ id: client.id, backchannelLogoutUri: /** @type {string} */ (client.backchannelLogoutUri) }));
  }

  /** @param {string | undefined} id */
  get(id) {
    return id === undefined ? undefined : this.byId.get(id);
  }

  /** Every scope some client may ask for (for the metadata). */
  scopes() {
    return [...new Set([...this.byId.values()].flatMap((client) => client.scopes))].sort();
  }

  /**
   * The client making a token or revocation request; throws 401 invalid_client otherwise.
   * @param {import('node:http').IncomingMessage} req
   * @param {Map<string, string>} form
   * @returns {Client}
   */
  authenticate(req, form) {
    const header = req.headers.authorization;
    const basic = header !== undefined;
    let id;
    let secret;
    if (basic) {
      const credentials = parseBasic(header);
      if (credentials === undefined) throw invalidClient(true);
      if (form.has('client_secret')) throw new HttpError(400, 'invalid_request', 'more than one client authentication method');
      if (form.has('client_id') && form.get('client_id') !== credentials.id) throw new HttpError(400, 'invalid_request', 'client_id does not match the credentials');
      ({ id, secret } = credentials);
    } else {
      id = form.get('client_id');
      secret = form.get('client_secret');
      if (id === undefined) throw invalidClient(false, 'client authentication required');
    }
    const client = this.byId.get(id);
    if (client === undefined) throw invalidClient(basic);
    if (client.secretHash === undefined) {
      // A public client has no secret; one that sends a secret is not the client we registered.
      if (secret !== undefined) throw invalidClient(basic);
      return client;
    }
    if (secret === undefined || !timingSafeEqual(sha256(secret), client.secretHash)) throw invalidClient(basic);
    return client;
  }
}

export class Users {
  /** @param {UserConfig[]} configs */
  constructor(configs) {
    /** @type {Map<string, User>} */
    this.byName = new Map();
    for (const config of configs) {
      const salt = randomBytes(16);
      this.byName.set(config.username, { username: config.username, sub: config.sub, scopes: [...config.scopes], salt, hash: scryptSync(config.password, salt, 32) });
    }
    // Unknown usernames still pay for one scrypt, so timing does not tell which names exist.
    this.decoy = { salt: randomBytes(16), hash: randomBytes(32) };
  }

  /**
   * @param {string} username
   * @param {string} password
   * @returns {User | undefined}
   */
  check(username, password) {
    const user = this.byName.get(username);
    const { salt, hash } = user ?? this.decoy;
    const ok = timingSafeEqual(scryptSync(password, salt, 32), hash);
    return ok && user !== undefined ? user : undefined;
  }
}

/**
 * §2.2: an absolute URI, which may carry a port, path and query but no fragment.
 * @param {unknown} value
 */
function isLogoutUri(value) {
  if (typeof value !== 'string' || !URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'https:' || url.protocol === 'http:') && !value.includes('#');
}

/** @param {string} text */
export function sha256(text) {
  return createHash('sha256').update(text).digest();
}

/**
 * RFC 6749 §2.3.1: id and secret are form-urlencoded, then joined by a colon, then base64.
 * @param {string} header
 */
function parseBasic(header) {
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  if (match === null) return undefined;
  const decoded = Buffer.from(/** @type {string} */ (match[1]), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    const formDecode = (/** @type {string} */ part) => decodeURIComponent(part.replace(/\+/g, ' '));
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

/**
 * RFC 6749 §5.2: 401, with a Basic challenge when the client tried Basic.
 * @param {boolean} basic
 */
function invalidClient(basic, description = 'client authentication failed') {
  return new HttpError(401, 'invalid_client', description, basic ? { 'www-authenticate': 'Basic realm="oauth", charset="UTF-8"' } : {});
}
