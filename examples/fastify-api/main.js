/** node examples/fastify-api/main.js, with ISSUER, AUDIENCE and optionally PORT and REVOCATION_FEED_URL in the environment. */
import { start } from './index.js';

const { ISSUER, AUDIENCE, PORT = '3002', REVOCATION_FEED_URL } = process.env;
if (ISSUER === undefined || AUDIENCE === undefined) throw new Error('set ISSUER and AUDIENCE');
const api = await start({ issuer: ISSUER, audience: AUDIENCE, port: Number(PORT), revocationFeedUrl: REVOCATION_FEED_URL });
console.log(`fastify API on ${api.url}`);
process.once('SIGINT', () => void api.close());
process.once('SIGTERM', () => void api.close());
