/**
 * Memory stays bounded by the cache `max` options, whatever flows through: distinct tokens
 * through a verifier (verified-token cache) and revocations (revocation list). Heap and RSS are
 * measured after a forced GC. Sizes: SOAK_TOKENS (50,000 in CI; `pnpm soak` 1,000,000, and prints
 * the figures: ../support/figures.ts) and SOAK_REVOCATIONS (1,000,000 everywhere: they are cheap).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createVerifier, RevocationList } from '@tokenward/core';
import { figure } from '../support/figures';
import { serveOneKey } from '../support/jwks-server';
import { mint } from '../support/tokens';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const TOKENS = Number(process.env.SOAK_TOKENS ?? 50_000);
const REVOCATIONS = Number(process.env.SOAK_REVOCATIONS ?? 1_000_000);
const MiB = 1024 * 1024;
const audience = 'https://api.example.com';

function heap(): { heapUsed: number; rss: number } {
  gc();
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}
const mib = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;

const jwks = serveOneKey('EdDSA', 'ed');

describe('memory under a stream of distinct tokens', () => {
  // 1,000 cached tokens of ~0.5 KB plus their frozen claim objects: a few MiB at most. Without
  // the bound, 50,000 tokens alone would hold well over this. Each token is verified twice, so
  // that each is stored (a token is admitted on its second verification): the bound is what is
  // tested, not the admission rule.
  const CACHE_MAX = 1000;
  const BOUND = 16 * MiB;

  test(`${TOKENS} distinct tokens keep heap growth under ${BOUND / MiB} MiB with tokenCache.max = ${CACHE_MAX}`, async () => {
    const verifier = createVerifier({ issuer: jwks.server.issuer, audience, tokenCache: { max: CACHE_MAX } });
    const issuance = { issuer: jwks.server.issuer, audience };
    const twice = async (jwt: string) => {
      await verifier.verify(jwt);
      await verifier.verify(jwt);
    };
    for (let i = 0; i < 100; i++) await twice(mint(jwks.key, issuance, { claims: { sub: `warm-${i}` } }));
    const before = heap();
    for (let i = 0; i < TOKENS; i++) await twice(mint(jwks.key, issuance, { claims: { sub: `user-${i}` } }));
    const after = heap();
    figure(`tokens: ${TOKENS}, heap +${mib(after.heapUsed - before.heapUsed)} MiB, rss +${mib(after.rss - before.rss)} MiB`);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(BOUND);
  }, 600_000);
});

describe('memory under a stream of revocations', () => {
  // Three kinds of 100,000 entries (the default max), each a short string key and a number.
  const BOUND = 96 * MiB;

  test(`${REVOCATIONS} revocations of each kind keep heap growth under ${BOUND / MiB} MiB with the default max`, () => {
    const list = new RevocationList();
    const before = heap();
    const exp = Math.floor(Date.now() / 1000) + 600;
    for (let i = 0; i < REVOCATIONS; i++) {
      list.revoke({ jti: `jti-${i}`, expiresAt: exp });
      list.revokeSubject(`user-${i}`);
      list.revokeClient(`client-${i}`);
    }
    const after = heap();
    figure(`revocations: ${REVOCATIONS} x 3, entries ${list.size}, evicted ${list.evicted}, heap +${mib(after.heapUsed - before.heapUsed)} MiB, rss +${mib(after.rss - before.rss)} MiB`);
    expect(list.size).toBeLessThanOrEqual(300_000);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(BOUND);
  }, 600_000);
});
