/** Types of the example authorization server (plain JavaScript, see ./server.js), for its TypeScript tests. */

export interface ClientConfig {
  id: string;
  /** Present for confidential clients; public clients have none. */
  secret?: string;
  grantTypes: Array<'authorization_code' | 'password' | 'client_credentials' | 'refresh_token'>;
  scopes: string[];
  redirectUris?: string[];
  /** Where logout tokens are POSTed (OpenID Connect Back-Channel Logout 1.0 §2.2): an absolute http(s) URI. */
  backchannelLogoutUri?: string;
}

/** One entry of the revocation feed (the format @tokenward/core reads). */
export type Revocation =
  | { type: 'token'; jti: string; exp: number }
  | { type: 'subject'; sub: string; before: number }
  | { type: 'client'; client_id: string; before: number }
  | { type: 'session'; sid: string; before: number };

/** How one logout receiver took a logout token: its HTTP status (200 or 204 is success), or why there was none. */
export type BackchannelLogoutDelivery = { client_id: string; status: number } | { client_id: string; error: 'timeout' | 'network' };

export interface UserConfig {
  username: string;
  password: string;
  sub: string;
  scopes: string[];
}

export interface AuthorizationServerOptions {
  /** The JSON file holding keys, refresh tokens and the revocation feed. Required. */
  dataFile: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Default `http://<host>:<port>`. */
  issuer?: string;
  /** `aud` of every access token. Default 'urn:tokenward:example-api'. */
  audience?: string;
  /** Seconds. Default 300. */
  accessTokenTtl?: number;
  /** Seconds a refresh token may go unused (sliding). Default 14 days. */
  refreshTokenIdleTtl?: number;
  /** Seconds from login after which no refresh token of the grant works. Default 30 days. */
  refreshTokenAbsoluteTtl?: number;
  /** Seconds. Default 60. */
  authorizationCodeTtl?: number;
  /** Seconds a next key must have been published before it may sign. Default 600. */
  keyPublishLead?: number;
  /** Seconds a retired key stays published past the access-token lifetime. Default 300. */
  keyRetireGrace?: number;
  /** Revocation-feed entries per page. Default 500. */
  feedPageSize?: number;
  /**
   * Called with each revocation as it is published on the feed, to carry it elsewhere too: e.g.
   * `redisRevocations(url).onRevocation`, for fleets reading the Redis stream.
   */
  onRevocation?: (revocation: Revocation) => void;
  /** Milliseconds a logout receiver has to answer a logout token. Default 5000. */
  backchannelLogoutTimeout?: number;
  clients?: ClientConfig[];
  users?: UserConfig[];
  /** Enables the /admin API for `Authorization: Bearer <adminToken>`. */
  adminToken?: string;
  /** Milliseconds since the epoch; for tests. */
  clock?: () => number;
  onEvent?: (event: { type: string; [key: string]: unknown }) => void;
}

export interface KeyDescription {
  kid: string;
  status: 'next' | 'active' | 'retired';
  createdAt: number;
  activatedAt?: number;
  retiredAt?: number;
}

export interface AuthorizationServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  revocation_endpoint: string;
  revocation_feed_endpoint: string;
  [member: string]: unknown;
}

export declare class AuthorizationServer {
  constructor(options: AuthorizationServerOptions);
  /** `http://127.0.0.1:PORT` once listening. */
  readonly url: string;
  readonly issuer: string;
  readonly audience: string;
  listen(): Promise<void>;
  close(): Promise<void>;
  metadata(): AuthorizationServerMetadata;
  publishNextKey(): { kid: string; keys: KeyDescription[] };
  activateNextKey(options?: { force?: boolean }): { kid: string; keys: KeyDescription[] };
  pruneKeys(): { removed: string[]; keys: KeyDescription[] };
  removeKey(kid: string): { removed: string; active: string; keys: KeyDescription[] };
  /** Every grant and token of the user; the state changes at once, the promise waits for the logout receivers. */
  logoutEverywhere(sub: string): Promise<{ sub: string; grants_revoked: number; backchannel_logout: BackchannelLogoutDelivery[] }>;
  /** One sign-in session of the user (its `sid`): its grants and tokens; as logoutEverywhere. */
  endSession(sub: string, sid: string): Promise<{ sub: string; sid: string; grants_revoked: number; backchannel_logout: BackchannelLogoutDelivery[] }>;
  /** Adds or replaces a client, in memory (e.g. an API with a `backchannelLogoutUri`). */
  registerClient(config: ClientConfig): void;
  revokeClientTokens(clientId: string): { client_id: string; grants_revoked: number };
}

export declare function startAuthorizationServer(options: AuthorizationServerOptions): Promise<AuthorizationServer>;

export declare const DEFAULTS: Readonly<Required<Pick<AuthorizationServerOptions,
  'host' | 'port' | 'accessTokenTtl' | 'refreshTokenIdleTtl' | 'refreshTokenAbsoluteTtl' | 'authorizationCodeTtl' | 'keyPublishLead' | 'keyRetireGrace' | 'feedPageSize' | 'backchannelLogoutTimeout'>>>;
export declare const DEFAULT_AUDIENCE: string;
export declare const DEMO_CLIENTS: ClientConfig[];
export declare const DEMO_USERS: UserConfig[];

/** Publishes each revocation to the Redis stream that @tokenward/redis's syncRevocations reads. */
export declare function redisRevocations(
  url: string,
  options?: { stream?: string; maxTokenLifetime?: number; onEvent?: (event: { type: string; [key: string]: unknown }) => void },
): Promise<{ onRevocation(revocation: Revocation): void; close(): Promise<void> }>;
