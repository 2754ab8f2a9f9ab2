/** The shared suite's routes on Express with @tokenward/express (see ../app-factory.ts). */
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { receiver, requireAnyScope, requireScopes, requireStepUp, tokenward } from '@tokenward/express';
import { createVerifier } from '@tokenward/core';
import type { CreateSuiteApp } from '../app-factory';

export const createApp: CreateSuiteApp = async (options, settings = {}) => {
  const verifier = createVerifier(options);
  const app = express();
  if (settings.trustProxy === true) app.set('trust proxy', true);
  // Mounted before tokenward(): the provider's POST carries no access token.
  for (const [path, make] of Object.entries(settings.receivers ?? {})) app.post(path, receiver(make(verifier)));
  app.get('/public', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/optional', tokenward(verifier, { credentialsRequired: false }), (req, res) => {
    res.json({ user: req.auth?.subject ?? null });
  });
  // Express has no "public" to combine: a public route is one mounted before tokenward().
  app.get('/optional-admin', tokenward(verifier, { credentialsRequired: false }), requireScopes('admin'), (req, res) => {
    res.json({ user: req.auth?.subject });
  });
  app.get('/open/optional', tokenward(verifier, { credentialsRequired: false }), (req, res) => {
    res.json({ user: req.auth?.subject ?? null });
  });
  app.get('/scoped/health', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/dpop-only', tokenward(verifier, { dpop: 'required' }), (req, res) => {
    res.json({ user: req.auth?.subject });
  });
  app.use(tokenward(verifier));
  app.get('/me', (req, res) => {
    res.json({ user: req.auth?.subject, scopes: [...(req.auth?.scopes ?? [])].sort() });
  });
  app.get('/messages', requireScopes('read:messages'), (req, res) => {
    res.json({ user: req.auth?.subject });
  });
  app.get('/both', requireScopes('read:messages', 'write:messages'), (req, res) => {
    res.json({ user: req.auth?.subject });
  });
  app.get('/any', requireAnyScope('admin', 'read:messages'), (req, res) => {
    res.json({ user: req.auth?.subject });
  });
  app.get('/admin', requireScopes('admin'), (req, res) => {
    res.json({ user: req.auth?.subject });
  });
  app.get('/public-admin', requireScopes('admin'), (req, res) => {
    res.json({ user: req.auth?.subject });
  });
  app.get('/open/guarded', requireScopes('read:messages'), (req, res) => {
    res.json({ user: req.auth?.subject });
  });
  app.get('/step-up', requireStepUp({ acrValues: ['mfa'], maxAge: 300 }), (req, res) => {
    res.json({ user: req.auth?.subject });
  });
  app.get('/twice', tokenward(verifier, { dpop: 'required' }), (req, res) => {
    res.json({ user: req.auth?.subject });
  });
  app.get('/binding', (req, res) => {
    res.json({ binding: req.auth?.binding ?? null });
  });
  const server = settings.https === undefined ? createServer(app) : createHttpsServer(settings.https, app);
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    baseUrl: `${settings.https === undefined ? 'http' : 'https'}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};
