/**
 * The shared suite's routes on Fastify with @tokenward/fastify (see ../app-factory.ts). Both idioms
 * are used: route `config` and the requireScopes/requireAnyScope onRequest hooks. A route has one
 * level of config, so where the contract combines levels the nearest single declaration stands in.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import tokenward, { receiver } from '@tokenward/fastify';
import type { CreateSuiteApp } from '../app-factory';

export const createApp: CreateSuiteApp = async (options, settings = {}) => {
  // One type for both: the routes below do not depend on the server being http or https.
  const app = (settings.https === undefined ? Fastify({ trustProxy: settings.trustProxy === true }) : Fastify({ trustProxy: settings.trustProxy === true, https: settings.https })) as FastifyInstance;
  await app.register(tokenward, options);
  for (const [path, make] of Object.entries(settings.receivers ?? {})) await app.register(receiver, { path, receiver: make(app.tokenward) });
  app.get('/public', { config: { public: true } }, async () => ({ ok: true }));
  app.get('/optional', { config: { optional: true } }, async (req) => ({ user: req.auth?.subject ?? null }));
  app.get('/me', async (req) => ({ user: req.auth?.subject, scopes: [...(req.auth?.scopes ?? [])].sort() }));
  app.get('/messages', { config: { scopes: ['read:messages'] } }, async (req) => ({ user: req.auth?.subject }));
  app.get('/both', { onRequest: app.requireScopes('read:messages', 'write:messages') }, async (req) => ({ user: req.auth?.subject }));
  app.get('/any', { config: { anyScopes: ['admin', 'read:messages'] } }, async (req) => ({ user: req.auth?.subject }));
  app.get('/admin', { onRequest: app.requireAnyScope('admin') }, async (req) => ({ user: req.auth?.subject }));
  app.get('/optional-admin', { config: { optional: true, scopes: ['admin'] } }, async (req) => ({ user: req.auth?.subject }));
  app.get('/public-admin', { config: { public: true, scopes: ['admin'] } }, async (req) => ({ user: req.auth?.subject }));
  app.get('/open/guarded', { config: { public: true }, onRequest: app.requireScopes('read:messages') }, async (req) => ({ user: req.auth?.subject }));
  app.get('/open/optional', { config: { optional: true } }, async (req) => ({ user: req.auth?.subject ?? null }));
  app.get('/scoped/health', { config: { public: true } }, async () => ({ ok: true }));
  app.get('/binding', async (req) => ({ binding: req.auth?.binding ?? null }));
  app.get('/twice', { onRequest: app.requireScopes('read:messages') }, async (req) => ({ user: req.auth?.subject }));
  app.get('/dpop-only', { config: { dpop: 'required' } }, async (req) => ({ user: req.auth?.subject }));
  app.get('/step-up', { config: { acrValues: ['mfa'], maxAge: 300 } }, async (req) => ({ user: req.auth?.subject }));
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  return { baseUrl, server: app.server, close: () => app.close() };
};
