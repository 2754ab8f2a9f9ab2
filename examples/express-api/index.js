/**
 * The example API on Express: one public route, one for readers, one for admins, protected by
 * @tokenward/express. Configured by issuer and audience only; keys come from the issuer's
 * metadata, revocations from the authorization server's feed.
 *
 *   GET /health    public                        200 { status: 'ok' }
 *   GET /messages  scope read:messages           200 { user, messages }
 *   GET /admin     scope admin                   200 { user, admin: true }
 *   POST /backchannel-logout                     with `backchannelLogout`: the provider's logout tokens
 *                                                (OpenID Connect Back-Channel Logout), which end a session here at once
 */
import express from 'express';
import { pollRevocations, RevocationList } from '@tokenward/core';
import { syncRevocations } from '@tokenward/redis';
import { backchannelLogout, createVerifier, receiver, requireScopes, tokenward } from '@tokenward/express';

export const MESSAGES = [{ id: 1, text: 'Hello from a resource server that never calls the authorization server per request.' }];

/**
 * @param {{ issuer: string, audience: string, port?: number, revocationFeedUrl?: string, pollInterval?: number,
 *   tokenward?: Partial<import('@tokenward/core').VerifierOptions>,
 *   onFeedEvent?: (event: import('@tokenward/core').RevocationFeedEvent) => void,
 *   backchannelLogout?: { clientId: string, onEvent?: (event: import('@tokenward/core').SignalEvent) => void },
 *   redis?: import('@tokenward/redis').RedisClient }} options
 *   `redis`: a connected client; the list then also follows the Redis stream of revocations, as
 *   each instance of a fleet does (@tokenward/redis)
 *   `tokenward` adds verifier options (the demo shortens key caching to show rotation in seconds);
 *   `backchannelLogout` mounts the logout receiver for this API's client id at the provider
 */
export async function start({ issuer, audience, port = 0, revocationFeedUrl, pollInterval, tokenward: extra = {}, onFeedEvent, backchannelLogout: logout, redis }) {
  const revocation = new RevocationList();
  const feed = revocationFeedUrl === undefined ? undefined : pollRevocations({ url: revocationFeedUrl, list: revocation, interval: pollInterval, onEvent: onFeedEvent });
  const fleet = redis === undefined ? undefined : syncRevocations({ redis, list: revocation });
  const verifier = createVerifier({ issuer, audience, revocation, ...extra });

  const app = express();
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  if (logout !== undefined) {
    // Access tokens here carry the provider's sid: a logout ends that session, not every session of the user.
    app.post('/backchannel-logout', receiver(backchannelLogout({ verifier, clientId: logout.clientId, revokes: 'session', onEvent: logout.onEvent })));
  }
  // Everything registered after this line needs a valid access token.
  app.use(tokenward(verifier));
  app.get('/messages', requireScopes('read:messages'), (req, res) => {
    res.json({ user: req.auth?.subject, messages: MESSAGES });
  });
  app.get('/admin', requireScopes('admin'), (req, res) => {
    res.json({ user: req.auth?.subject, admin: true });
  });

  const server = app.listen(port, '127.0.0.1');
  await new Promise((resolve, reject) => server.once('listening', resolve).once('error', reject));
  // Serve only once the revocations already published are known (bounded: the feed may be down).
  await Promise.race([Promise.all([feed?.ready, fleet?.ready]), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  const { port: actual } = /** @type {import('node:net').AddressInfo} */ (server.address());
  const url = `http://127.0.0.1:${actual}`;
  return {
    url,
    revocation,
    backchannelLogoutUri: logout === undefined ? undefined : `${url}/backchannel-logout`,
    async close() {
      feed?.stop();
      fleet?.stop();
      verifier.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}
