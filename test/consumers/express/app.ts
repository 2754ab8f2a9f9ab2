// The README's Express quick start, as a user would type it; only needs to type-check.
import express from 'express';
import { requireAnyScope, requireScopes, tokenward, type AccessToken } from '@tokenward/express';

const app = express();
app.use('/api', tokenward({ issuer: 'https://auth.example.com/', audience: 'https://api.example.com' }));
app.get('/api/messages', requireScopes('read:messages'), (req, res) => {
  const auth: AccessToken | undefined = req.auth;
  const subject: string | undefined = req.auth?.subject;
  const scopes: ReadonlySet<string> | undefined = req.auth?.scopes;
  res.json({ user: subject, scopes: [...(scopes ?? [])], exp: auth?.expiresAt });
});
app.get('/api/any', requireAnyScope('admin', 'read:messages'), (req, res) => {
  res.json({ kid: req.auth?.header?.kid, iss: req.auth?.claims.iss });
});
export default app;
