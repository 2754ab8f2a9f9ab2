/**
 * What the example server knows out of the box: the demo's clients, users and API audience.
 * Secrets and passwords are in the clear because they are the demo's published credentials;
 * a real deployment loads its own (`clients` and `users` options).
 */

/** The `aud` of every access token: the example APIs all stand for this one API. */
export const DEFAULT_AUDIENCE = 'urn:tokenward:example-api';

/** @type {import('./clients.js').ClientConfig[]} */
export const DEMO_CLIENTS = [
  {
    // A confidential client: a web application's back end, which can keep a secret.
    id: 'demo-web',
    secret: 'demo-web-secret',
    grantTypes: ['authorization_code', 'password', 'refresh_token'],
    scopes: ['read:messages', 'admin', 'offline_access'],
    redirectUris: ['http://127.0.0.1/callback'],
  },
  {
    // A public client: a command-line or mobile app, which cannot keep a secret.
    id: 'demo-cli',
    grantTypes: ['authorization_code', 'password', 'refresh_token'],
    scopes: ['read:messages', 'admin', 'offline_access'],
    redirectUris: ['http://127.0.0.1/callback'],
  },
  {
    // A machine client: no user, client_credentials only.
    id: 'reporting-job',
    secret: 'reporting-job-secret',
    grantTypes: ['client_credentials'],
    scopes: ['read:messages'],
  },
];

/** @type {import('./clients.js').UserConfig[]} */
export const DEMO_USERS = [
  { username: 'alice', password: 'alice-password', sub: 'user-alice', scopes: ['read:messages', 'admin'] },
  { username: 'bob', password: 'bob-password', sub: 'user-bob', scopes: ['read:messages'] },
];
