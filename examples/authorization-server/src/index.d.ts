/** Types of the example authorization server (plain JavaScript, see ./server.js), for its TypeScript tests. */

export interface ClientConfig {
  id: string;
  /** Present for confidential clients; public clients have none. */
  secret?: string;
  grantTypes: Array<'authorization_code' | 'password' | 'client_credentials' | 'refresh_token'>;
  scopes: string[];
  redirectUris?: string[];
}

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
  logoutEverywhere(sub: string): { sub: string; grants_revoked: number };
  revokeClientTokens(clientId: string): { client_id: string; grants_revoked: number };
}

export declare function startAuthorizationServer(options: AuthorizationServerOptions): Promise<AuthorizationServer>;

export declare const DEFAULTS: Readonly<Required<Pick<AuthorizationServerOptions,
  'host' | 'port' | 'accessTokenTtl' | 'refreshTokenIdleTtl' | 'refreshTokenAbsoluteTtl' | 'authorizationCodeTtl' | 'keyPublishLead' | 'keyRetireGrace' | 'feedPageSize'>>>;
export declare const DEFAULT_AUDIENCE: string;
export declare const DEMO_CLIENTS: ClientConfig[];
export declare const DEMO_USERS: UserConfig[];
