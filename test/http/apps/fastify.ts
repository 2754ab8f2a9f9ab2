/** The shared suite's routes on Fastify with @tokenward/fastify (see ../app-factory.ts). */
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import tokenward from '@tokenward/fastify';
import { createVerifier } from '@tokenward/core';
import type { CreateSuiteApp } from '../app-factory';

export const createApp: CreateSuiteApp = async (options) => {
  const app = Fastify();
  await app.register(tokenward, { verifier: createVerifier(options) });
  app.get('/public', { config: { public: true } }, async () => ({ ok: true }));
  app.get('/optional', { config: { optional: true } }, async (req) => ({ user: req.auth?.subject ?? null }));
  app.get('/me', async (req) => ({ user: req.auth?.subject, scopes: [...(req.auth?.scopes ?? [])].sort() }));
  app.get('/messages', { config: { scopes: ['read:messages'] } }, async (req) => ({ user: req.auth?.subject }));
  app.get('/both', { config: { scopes: ['read:messages', 'write:messages'] } }, async (req) => ({ user: req.auth?.subject }));
  app.get('/any', { config: { anyScopes: ['admin', 'read:messages'] } }, async (req) => ({ user: req.auth?.subject }));
  app.get('/admin', { onRequest: app.requireScopes('admin') }, async (req) => ({ user: req.auth?.subject }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    baseUrl: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    server: app.server,
    close: () => app.close(),
  };
};
