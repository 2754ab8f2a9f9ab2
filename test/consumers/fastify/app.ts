// The README's Fastify quick start, as a user would type it; only needs to type-check.
import Fastify from 'fastify';
import tokenward from '@tokenward/fastify';

const app = Fastify();
await app.register(tokenward, { issuer: 'https://auth.example.com/', audience: 'https://api.example.com' });
app.get('/messages', { config: { scopes: ['read:messages'] } }, async (req) => ({ user: req.auth?.subject }));
app.get('/health', { config: { public: true } }, async () => 'ok');
app.get('/admin', { onRequest: app.requireScopes('admin') }, async (req) => ({ scopes: [...(req.auth?.scopes ?? [])] }));
export default app;
