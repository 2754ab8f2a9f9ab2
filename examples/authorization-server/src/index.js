/** The example authorization server, for the demo and for tests. See ./server.js. */
export { AuthorizationServer, DEFAULTS, startAuthorizationServer } from './server.js';
export { DEFAULT_AUDIENCE, DEMO_CLIENTS, DEMO_USERS } from './defaults.js';
export { redisRevocations } from './redis.js';
