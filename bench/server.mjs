// One benchmark server, in its own process: `node server.mjs <framework> <variant>` with ISSUER,
// JWKS_URI and AUDIENCE in the environment. Serves GET /messages (scope read:messages) and prints
// "READY <port> <memory port>" once listening; GET on the memory port answers where this process's
// memory is (V8's heap statistics and spaces, process.memoryUsage), from a server of its own so
// that the app under test has nothing added. Each variant is its library's documented recipe, configured for
// the same checks as far as the library allows: RS256 from the JWKS, issuer, audience, scope.
import 'reflect-metadata';
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { createServer } from 'node:http';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

const [framework, variant] = process.argv.slice(2);
const { ISSUER: issuer, JWKS_URI: jwksUri, AUDIENCE: audience } = process.env;
const body = (user) => ({ user });
// Extra verifier options for experiments, as JSON (e.g. TOKENWARD_OPTIONS='{"tokenCache":false}').
// The 'tokenward-inline' variant checks signatures on the event loop (signatureWork: 'inline').
// 'tokenward-nocache' runs without the verified-token cache (tokenCache: false), for what the cache costs and saves.
const variantOptions = { 'tokenward-inline': { signatureWork: 'inline' }, 'tokenward-nocache': { tokenCache: false } }[variant] ?? {};
const extra = { ...variantOptions, ...JSON.parse(process.env.TOKENWARD_OPTIONS ?? '{}') };
const isTokenward = variant.startsWith('tokenward');

// The floor: the least work any verifier must do for a request. One bare node:crypto RS256
// verify of the token's signing input, and for a DPoP request one ES256 verify of the proof, with
// keys imported once at start; no header parsing, no claims, no cache, no replay check.
const floorKeys = variant === 'floor' ? { token: createPublicKey({ key: JSON.parse(process.env.TOKEN_JWK), format: 'jwk' }), proof: createPublicKey({ key: JSON.parse(process.env.DPOP_JWK), format: 'jwk' }) } : undefined;
function signed(jws, key, options) {
  const dot = typeof jws === 'string' ? jws.lastIndexOf('.') : -1;
  return dot > 0 && cryptoVerify('sha256', Buffer.from(jws.slice(0, dot)), options === undefined ? key : { key, ...options }, Buffer.from(jws.slice(dot + 1), 'base64url'));
}
/** True when the request passes the floor's checks. */
function floor(headers) {
  const authorization = headers.authorization ?? '';
  const token = authorization.slice(authorization.indexOf(' ') + 1);
  if (!signed(token, floorKeys.token)) return false;
  return headers.dpop === undefined || signed(headers.dpop, floorKeys.proof, { dsaEncoding: 'ieee-p1363' });
}
// 'tokenward-base' loads the adapters from another built checkout (TOKENWARD_BASE), for an A/B.
const adapter = (name) =>
  variant === 'tokenward-base' ? import(`${process.env.TOKENWARD_BASE}/packages/${name}/dist/esm/index.js`) : import(`@tokenward/${name}`);
const hasScope = (scope, wanted) => typeof scope === 'string' && scope.split(' ').includes(wanted);

async function express() {
  const { default: express } = await import('express');
  const app = express();
  const route = [];
  if (variant === 'layers') {
    // The same two layers as the tokenward recipe, doing nothing: what Express charges for them.
    app.use((_req, _res, next) => next());
    route.push((_req, _res, next) => next());
  } else if (variant === 'floor') {
    app.use((req, res, next) => (floor(req.headers) ? next() : res.status(401).end()));
  } else if (isTokenward) {
    const { tokenward, requireScopes } = await adapter('express');
    app.use(tokenward({ issuer, audience, jwksUri, ...extra }));
    route.push(requireScopes('read:messages'));
  } else if (variant === 'express-oauth2-jwt-bearer') {
    const { auth, requiredScopes } = await import('express-oauth2-jwt-bearer');
    app.use(auth({ issuer, audience, jwksUri, tokenSigningAlg: 'RS256' }));
    route.push(requiredScopes('read:messages'));
  } else if (variant === 'express-jwt') {
    const { expressjwt } = await import('express-jwt');
    const { default: jwksRsa } = await import('jwks-rsa');
    app.use(expressjwt({ secret: jwksRsa.expressJwtSecret({ jwksUri, cache: true, rateLimit: true }), audience, issuer, algorithms: ['RS256'] }));
    route.push((req, res, next) => (hasScope(req.auth?.scope, 'read:messages') ? next() : res.status(403).end()));
  }
  app.get('/messages', ...route, (req, res) => res.json(body(req.auth?.subject ?? req.auth?.sub ?? req.auth?.payload?.sub ?? null)));
  // Peers pass rejections to next(err); answer them without Express's default handler, which
  // would log every stack to stderr and slow the peer down for no reason of its own.
  app.use((err, _req, res, _next) => res.status(err.status ?? 500).set(err.headers ?? {}).end());
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server.address().port));
  });
}

async function fastify() {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  const config = {};
  if (variant === 'layers') {
    // A hook doing nothing where the tokenward recipe has one: what Fastify charges for it.
    app.addHook('onRequest', (_request, _reply, done) => done());
  } else if (variant === 'floor') {
    app.addHook('onRequest', (request, reply, done) => (floor(request.headers) ? done() : reply.code(401).send()));
  } else if (isTokenward) {
    const { default: tokenward } = await adapter('fastify');
    await app.register(tokenward, { issuer, audience, jwksUri, ...extra });
    config.scopes = ['read:messages'];
  } else if (variant === 'fastify-jwt') {
    const { default: fjwt } = await import('@fastify/jwt');
    const { default: buildGetJwks } = await import('get-jwks');
    const getJwks = buildGetJwks({ issuersWhitelist: [issuer], jwksPath: new URL(jwksUri).pathname });
    await app.register(fjwt, {
      decode: { complete: true },
      secret: (_request, token, callback) => {
        const { header: { kid, alg }, payload: { iss } } = token;
        getJwks.getPublicKey({ kid, domain: iss, alg }).then((key) => callback(null, key), callback);
      },
      verify: { allowedIss: issuer, allowedAud: audience, algorithms: ['RS256'] },
    });
    app.addHook('onRequest', async (request, reply) => {
      await request.jwtVerify();
      if (!hasScope(request.user?.scope, 'read:messages')) return reply.code(403).send();
    });
  }
  app.get('/messages', { config }, async (req) => body(req.auth?.subject ?? req.user?.sub ?? null));
  await app.listen({ port: 0, host: '127.0.0.1' });
  return app.server.address().port;
}

async function nest() {
  const { Controller, Get, Module, Req, UseGuards, Injectable } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  class MessagesController {
    list(req) {
      return body(req.auth?.subject ?? req.user?.sub ?? null);
    }
  }
  const imports = [];
  const providers = [];
  const guards = [];
  if (variant === 'layers') {
    // A guard that lets everything through where the tokenward recipe has one: what Nest charges for it.
    guards.push({ canActivate: () => true });
  } else if (variant === 'floor') {
    // Nest answers a guard's false with a 403: a refusal all the same, and the floor never refuses here.
    guards.push({ canActivate: (context) => floor(context.switchToHttp().getRequest().headers) });
  } else if (isTokenward) {
    const { TokenwardModule, TokenwardGuard, Scopes } = await adapter('nest');
    imports.push(TokenwardModule.forRoot({ issuer, audience, jwksUri, ...extra }));
    guards.push(TokenwardGuard);
    Scopes('read:messages')(MessagesController.prototype, 'list', Object.getOwnPropertyDescriptor(MessagesController.prototype, 'list'));
  } else if (variant === 'passport-jwt') {
    const { PassportModule, PassportStrategy, AuthGuard } = await import('@nestjs/passport');
    const { Strategy, ExtractJwt } = await import('passport-jwt');
    const { passportJwtSecret } = await import('jwks-rsa');
    class JwtStrategy extends PassportStrategy(Strategy) {
      constructor() {
        super({
          secretOrKeyProvider: passportJwtSecret({ jwksUri, cache: true, rateLimit: true }),
          jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
          audience,
          issuer,
          algorithms: ['RS256'],
        });
      }
      validate(payload) {
        if (!hasScope(payload.scope, 'read:messages')) return false;
        return payload;
      }
    }
    Injectable()(JwtStrategy);
    imports.push(PassportModule);
    providers.push(JwtStrategy);
    guards.push(AuthGuard('jwt'));
  }
  Req()(MessagesController.prototype, 'list', 0);
  Get()(MessagesController.prototype, 'list', Object.getOwnPropertyDescriptor(MessagesController.prototype, 'list'));
  if (guards.length > 0) UseGuards(...guards)(MessagesController);
  Controller('messages')(MessagesController);
  class AppModule {}
  Module({ imports, controllers: [MessagesController], providers })(AppModule);
  const app = await NestFactory.create(AppModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  return app.getHttpServer().address().port;
}

const start = { express, fastify, nest }[framework];
if (start === undefined) throw new Error(`unknown framework ${framework}`);
const port = await start();
// GET /gc first runs a full collection (the servers start with --expose-gc), so that what is live
// can be told from garbage V8 has not collected yet.
const memory = createServer((req, res) => {
  if (req.url === '/gc') globalThis.gc?.();
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size]));
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ usage: process.memoryUsage(), heap: getHeapStatistics(), spaces }));
});
await new Promise((resolve) => memory.listen(0, '127.0.0.1', resolve));
console.log(`READY ${port} ${memory.address().port}`);
// Exit normally on a signal, so that --cpu-prof and friends can write their output.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
