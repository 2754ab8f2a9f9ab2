/**
 * The example API on NestJS: one public route, one for readers, one for admins, protected by
 * @tokenward/nest. Configured by issuer and audience only; keys come from the issuer's metadata,
 * revocations from the authorization server's feed.
 *
 *   GET /health    @Public()                     200 { status: 'ok' }
 *   GET /messages  @Scopes('read:messages')      200 { user, messages }
 *   GET /admin     @Scopes('admin')              200 { user, admin: true }
 *   POST /backchannel-logout                     with `backchannelLogout`: the provider's logout tokens
 *                                                (OpenID Connect Back-Channel Logout), which end a session here at once
 *
 * Plain JavaScript on Node 20 has no decorator syntax, so the decorators are applied by
 * Reflect.decorate, which is what TypeScript compiles them to. In TypeScript this reads:
 *
 *   @Controller()
 *   @UseGuards(TokenwardGuard)
 *   class MessagesController {
 *     @Public() @Get('health') health() { ... }
 *     @Scopes('read:messages') @Get('messages') messages(@Auth() auth: AccessToken) { ... }
 *     @Scopes('admin') @Get('admin') admin(@Auth() auth: AccessToken) { ... }
 *   }
 */
import 'reflect-metadata';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { pollRevocations, RevocationList } from '@tokenward/core';
import { syncRevocations } from '@tokenward/redis';
import { Auth, backchannelLogout, Public, Scopes, TokenwardGuard, TokenwardModule, TokenwardReceiverModule } from '@tokenward/nest';

export const MESSAGES = [{ id: 1, text: 'Hello from a resource server that never calls the authorization server per request.' }];

class MessagesController {
  health() {
    return { status: 'ok' };
  }

  /** @param {import('@tokenward/core').AccessToken} auth */
  messages(auth) {
    return { user: auth.subject, messages: MESSAGES };
  }

  /** @param {import('@tokenward/core').AccessToken} auth */
  admin(auth) {
    return { user: auth.subject, admin: true };
  }
}
decorateMethod(MessagesController, 'health', Public(), Get('health'));
decorateMethod(MessagesController, 'messages', Scopes('read:messages'), Get('messages'));
decorateMethod(MessagesController, 'admin', Scopes('admin'), Get('admin'));
Auth()(MessagesController.prototype, 'messages', 0);
Auth()(MessagesController.prototype, 'admin', 0);
Reflect.decorate([Controller(), UseGuards(TokenwardGuard)], MessagesController);

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

  const imports = [TokenwardModule.forRoot({ issuer, audience, revocation, ...extra })];
  if (logout !== undefined) {
    // Access tokens here carry the provider's sid: a logout ends that session, not every session of the user.
    imports.push(TokenwardReceiverModule.register({ path: 'backchannel-logout', receiver: (verifier) => backchannelLogout({ verifier, clientId: logout.clientId, revokes: 'session', onEvent: logout.onEvent }) }));
  }
  class AppModule {}
  Reflect.decorate([Module({ imports, controllers: [MessagesController] })], AppModule);

  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(port, '127.0.0.1');
  await Promise.race([Promise.all([feed?.ready, fleet?.ready]), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  const { port: actual } = app.getHttpServer().address();
  const url = `http://127.0.0.1:${actual}`;
  return {
    url,
    revocation,
    backchannelLogoutUri: logout === undefined ? undefined : `${url}/backchannel-logout`,
    async close() {
      feed?.stop();
      fleet?.stop();
      await app.close();
    },
  };
}

/**
 * Applies method decorators the way TypeScript's emitted code does.
 * @param {Function} target
 * @param {string} method
 * @param {...MethodDecorator} decorators
 */
function decorateMethod(target, method, ...decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(target.prototype, method);
  Object.defineProperty(target.prototype, method, Reflect.decorate(decorators, target.prototype, method, descriptor));
}
