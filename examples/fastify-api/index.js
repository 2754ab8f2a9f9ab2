/**
 * The example API on Fastify: one public route, one for readers, one for admins, protected by
 * @tokenward/fastify. Configured by issuer and audience only; keys come from the issuer's
 * metadata, revocations from the authorization server's feed.
 *
 *   GET /health    config.public                 200 { status: 'ok' }
 *   GET /messages  config.scopes read:messages   200 { user, messages }
 *   GET /admin     config.scopes admin           200 { user, admin: true }
 *   POST /backchannel-logout                     with `backchannelLogout`: the provider's logout tokens
 *                                                (OpenID Connect Back-Channel Logout), which end a session here at once
 */
import Fastify from 'fastify';
import { pollRevocations, RevocationList } from '@tokenward/core';
import { syncRevocations } from '@tokenward/redis';
import { backchannelLogout, receiver, tokenward } from '@tokenward/fastify';

export const MESSAGES = [{ id: 1, text: 'Hello from a resource server that never calls the authorization server per request.' }];

/**
 * @param {{ issuer: string, audience: string, port?: number, revocationFeedUrl?: string, pollInterval?: number,
 *   tokenward?: Partial<import('@tokenward/core').VerifierOptions>,
 *   onFeedEvent?: (event: import('@tokenward/core').RevocationFeedEvent) => void,
 *   backchannelLogout?: { clientId: string, onEvent?: (event: import('@tokenward/core').SignalEvent) => void },
 *   redis?: import('@tokenward/redis').RedisClient }} options
 *   `redis`: a connected client; the list then also follows the Redis stream of revocations, as
 *   each instance of a fleet does (@tokenward/redis)
 */
export async function start({ issuer, audience, port = 0, revocationFeedUrl, pollInterval, tokenward: extra = {}, onFeedEvent, backchannelLogout: logout, redis }) {
  const revocation = new RevocationList();
  const feed = revocationFeedUrl === undefined ? undefined : pollRevocations({ url: revocationFeedUrl, list: revocation, interval: pollInterval, onEvent: onFeedEvent });
  const fleet = redis === undefined ? undefined : syncRevocations({ redis, list: revocation });

  const app = Fastify();
  // Every route of the app is authenticated unless its config says public.
  await app.register(tokenward, { issuer, audience, revocation, ...extra });
  if (logout !== undefined) {
    // Access tokens here carry the provider's sid: a logout ends that session, not every session of the user.
    await app.register(receiver, { path: '/backchannel-logout', receiver: backchannelLogout({ verifier: app.tokenward, clientId: logout.clientId, revokes: 'session', onEvent: logout.onEvent }) });
  }
  app.get('/health', { config: { public: true } }, async () => ({ status: 'ok' }));
  app.get('/messages', { config: { scopes: ['read:messages'] } }, async (request) => ({ user: request.auth?.subject, messages: MESSAGES }));
  app.get('/admin', { config: { scopes: ['admin'] } }, async (request) => ({ user: request.auth?.subject, admin: true }));
  app.addHook('onClose', async () => {
    feed?.stop();
    fleet?.stop();
  });

  await app.listen({ port, host: '127.0.0.1' });
  await Promise.race([Promise.all([feed?.ready, fleet?.ready]), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  const { port: actual } = /** @type {import('node:net').AddressInfo} */ (app.server.address());
  const url = `http://127.0.0.1:${actual}`;
  return {
    url,
    revocation,
    backchannelLogoutUri: logout === undefined ? undefined : `${url}/backchannel-logout`,
    async close() {
      await app.close();
    },
  };
}
