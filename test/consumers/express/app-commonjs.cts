// The same from a CommonJS module: types resolve through the "require" condition (dist/cjs).
import express = require('express');
import { requireScopes, tokenward } from '@tokenward/express';

const app = express();
app.use(tokenward({ issuer: 'https://auth.example.com/', audience: 'https://api.example.com' }));
app.get('/messages', requireScopes('read:messages'), (req, res) => {
  res.json({ user: req.auth?.subject });
});
export = app;
