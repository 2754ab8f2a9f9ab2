/**
 * The example API on Fastify: one public route, one for readers, one for admins, protected by
 * @tokenward/fastify. Configured by issuer and audience only; keys come from the issuer's
 * metadata, revocations from the authorization server's feed.
 *
 *   GET /health    config.public                 200 { status: 'ok' }
 *   GET /messages  config.scopes read:messages   200 { user, messages }
 *   GET /admin     config.scopes admin           200 { user, admin: true }
 */
import Fastify from 'fastify';
import { pollRevocations, RevocationList } from '@tokenward/core';
import { tokenward } from '@tokenward/fastify';

export const MESSAGES = [{ id: 1, text: 'Hello from a resource server that never calls the authorization server per request.' }];

/**
 * @param {{ issuer: string, audience: string, port?: number, revocationFeedUrl?: string, pollInterval?: number,
 *   tokenward?: Partial<import('@tokenward/core').VerifierOptions>,
 *   onFeedEvent?: (event: import('@tokenward/core').RevocationFeedEvent) => void }} options
 */
export async function start({ issuer, audience, port = 0, revocationFeedUrl, pollInterval, tokenward: extra = {}, onFeedEvent }) {
  const revocation = new RevocationList();
  const feed = revocationFeedUrl === undefined ? undefined : pollRevocations({ url: revocationFeedUrl, list: revocation, interval: pollInterval, onEvent: onFeedEvent });

  const app = Fastify();
  // Every route of the app is authenticated unless its config says public.
  await app.register(tokenward, { issuer, audience, revocation, ...extra });
  app.get('/health', { config: { public: true } }, async () => ({ status: 'ok' }));
  app.get('/messages', { config: { scopes: ['read:messages'] } }, async (request) => ({ user: request.auth?.subject, messages: MESSAGES }));
  app.get('/admin', { config: { scopes: ['admin'] } }, async (request) => ({ user: request.auth?.subject, admin: true }));
  app.addHook('onClose', async () => feed?.stop());

  await app.listen({ port, host: '127.0.0.1' });
  await Promise.race([feed?.ready, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  const { port: actual } = /** @type {import('node:net').AddressInfo} */ (app.server.address());
  return {
    url: `http://127.0.0.1:${actual}`,
    revocation,
    async close() {
      await app.close();
    },
  };
}
