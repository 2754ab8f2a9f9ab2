import express from 'express';
import request from 'supertest';
import { tokenward, requireScopes } from '@tokenward/express';
import { makeKey } from '../../../test/support/keys';
import { startJwksServer } from '../../../test/support/jwks-server';
import { mint } from '../../../test/support/tokens';

test('express quick start', async () => {
  const key = makeKey('ES256', 'k1');
  const server = await startJwksServer([key.jwk]);
  try {
    const app = express();
    app.use('/api', tokenward({ issuer: server.issuer, audience: 'api' }));
    app.get('/api/messages', requireScopes('read:messages'), (req, res) => {
      res.json({ user: req.auth?.subject });
    });
    app.get('/api/admin', requireScopes('admin'), (_req, res) => {
      res.json({ ok: true });
    });
    const token = mint(key, { issuer: server.issuer, audience: 'api' });
    await request(app).get('/api/messages').set('Authorization', `Bearer ${token}`).expect(200, { user: 'user-42' });
    const denied = await request(app).get('/api/admin').set('Authorization', `Bearer ${token}`).expect(403);
    expect(denied.headers['www-authenticate']).toBe('Bearer realm="api", error="insufficient_scope", error_description="Token lacks the required scope", scope="admin"');
    const missing = await request(app).get('/api/messages').expect(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="api"');
  } finally {
    await server.close();
  }
});
