/**
 * Fault soak: a real JWKS server that flaps (up, down, slow, garbage, rotated) while 200
 * concurrent clients send a mix of valid, expired, forged and random-kid tokens (issued before
 * the keys were fetched, and just now) through each adapter for a fixed time. Counted per adapter: requests, 2xx for valid tokens, 401 for bad
 * ones, 503s (only for tokens whose key cannot be known), 500s (must be 0), JWKS fetches (bounded
 * by the cooldown). A crash fails the run. SOAK_SECONDS per adapter: 3 in CI, `pnpm soak` 60,
 * which also prints each adapter's tally (see ../support/figures.ts).
 */
import { ADAPTERS, loadApp, type SuiteApp } from '../http/app-factory';
import { makeKey, type TestKey } from '../support/keys';
import { startJwksServer, type JwksMode, type JwksServer } from '../support/jwks-server';
import { figure } from '../support/figures';
import { mint, now } from '../support/tokens';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 3);
const CLIENTS = 200;
const COOLDOWN_MS = 500;
const audience = 'https://api.example.com';

type Kind = 'valid' | 'expired' | 'forged' | 'randomKid' | 'freshRandomKid';
interface Tally {
  requests: number;
  byKind: Record<Kind, Record<number, number>>;
  jwksFetches: number;
  /** Of those, requests the server answered by dropping the connection. */
  jwksResets: number;
}

let signer: TestKey;
let spare: TestKey;
let attacker: TestKey;

beforeAll(() => {
  signer = makeKey('ES256', 'main');
  spare = makeKey('ES256', 'spare');
  attacker = makeKey('ES256', 'main');
});

/** Cycles the server through its faults; the signing key stays published whenever it answers. */
function flap(server: JwksServer): () => void {
  const script: Array<[JwksMode, 'both' | 'main']> = [
    ['ok', 'main'],
    ['error', 'main'],
    ['hang', 'main'],
    ['html', 'main'],
    ['ok', 'both'], // rotation: a new key published beside the old one
    ['reset', 'main'],
    ['huge', 'main'],
    ['ok', 'main'], // the spare key removed again
  ];
  let step = 0;
  const timer = setInterval(() => {
    const [mode, keys] = script[step++ % script.length] as [JwksMode, 'both' | 'main'];
    server.setKeys(keys === 'both' ? [signer.jwk, spare.jwk] : [signer.jwk]);
    server.setMode(mode);
  }, 300);
  return () => clearInterval(timer);
}

async function soak(app: SuiteApp, server: JwksServer, tokens: Record<Kind, () => string>): Promise<Tally> {
  const tally: Tally = { requests: 0, byKind: { valid: {}, expired: {}, forged: {}, randomKid: {}, freshRandomKid: {} }, jwksFetches: 0, jwksResets: 0 };
  const fetchesBefore = server.jwksRequests;
  const resetsBefore = server.resetRequests;
  const deadline = Date.now() + SECONDS * 1000;
  const kinds: Kind[] = ['valid', 'valid', 'valid', 'valid', 'valid', 'valid', 'valid', 'expired', 'forged', 'randomKid', 'freshRandomKid'];
  const client = async (id: number) => {
    for (let i = id; Date.now() < deadline; i++) {
      const kind = kinds[i % kinds.length] as Kind;
      const res = await fetch(`${app.baseUrl}/messages`, { headers: { authorization: `Bearer ${tokens[kind]()}` } });
      await res.arrayBuffer();
      tally.requests++;
      tally.byKind[kind][res.status] = (tally.byKind[kind][res.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, id) => client(id)));
  tally.jwksFetches = server.jwksRequests - fetchesBefore;
  tally.jwksResets = server.resetRequests - resetsBefore;
  return tally;
}

describe.each(ADAPTERS)('the %s adapter under a flapping key server', (adapter) => {
  test(`serves valid tokens, refuses bad ones and never answers 500 for ${SECONDS} s`, async () => {
    const server = await startJwksServer([signer.jwk]);
    const createApp = await loadApp(adapter);
    const app = await createApp({ issuer: server.issuer, audience, jwks: { cooldown: COOLDOWN_MS, cacheMaxAge: 1000, timeout: 200 } });
    const issuance = { issuer: server.issuer, audience };
    // Distinct valid tokens as well as repeated ones, so both the cache and the signature path work.
    const valid = Array.from({ length: 500 }, (_, i) => mint(signer, issuance, { claims: { sub: `user-${i}` } }));
    let n = 0;
    const tokens: Record<Kind, () => string> = {
      valid: () => valid[n++ % valid.length] as string,
      expired: () => mint(signer, issuance, { claims: { iat: now() - 7200, exp: now() - 3600 } }),
      forged: () => mint(attacker, issuance),
      // Issued before the keys were fetched: its kid cannot be a key published since.
      randomKid: () => mint(signer, issuance, { claims: { iat: now() - 60 }, header: { kid: `kid-${Math.random()}` } }),
      // Issued just now: its kid may be a key published since the last fetch (key_pending).
      freshRandomKid: () => mint(signer, issuance, { header: { kid: `kid-${Math.random()}` } }),
    };
    try {
      // Keys known before the flapping starts: from then on, stale-if-error must carry them.
      const warm = await fetch(`${app.baseUrl}/messages`, { headers: { authorization: `Bearer ${tokens.valid()}` } });
      expect(warm.status).toBe(200);
      const stop = flap(server);
      let tally: Tally;
      try {
        tally = await soak(app, server, tokens);
      } finally {
        stop();
      }
      figure(`${adapter}: ${JSON.stringify(tally)}`);
      const { byKind } = tally;
      expect(tally.requests).toBeGreaterThan(CLIENTS);
      expect(byKind.valid).toEqual({ 200: expect.any(Number) });
      expect(byKind.expired).toEqual({ 401: expect.any(Number) });
      expect(byKind.forged).toEqual({ 401: expect.any(Number) });
      // An unknown kid is a 401 when the key server answered, a 503 when it could not be asked.
      expect(Object.keys(byKind.randomKid).sort()).toEqual(expect.arrayContaining(['401']));
      for (const status of Object.keys(byKind.randomKid)) expect(['401', '503']).toContain(status);
      // A fresh one is a 503 (key_pending, or jwks_unavailable when the server failed), a 401 when
      // its own request fetched a set without its kid.
      expect(Object.keys(byKind.freshRandomKid).sort()).toEqual(expect.arrayContaining(['503']));
      for (const status of Object.keys(byKind.freshRandomKid)) expect(['401', '503']).toContain(status);
      // One fetch per cooldown window at most, however many random kids arrived (+1 for the edge).
      // A fetch whose connection drops before any answer tries once more within its deadline
      // (fetch-json.ts), so each dropped request may bring one more request of the same fetch.
      expect(tally.jwksFetches - tally.jwksResets).toBeLessThanOrEqual(Math.ceil((SECONDS * 1000) / COOLDOWN_MS) + 1);
    } finally {
      await app.close();
      await server.close();
    }
  }, 30_000 + SECONDS * 1000);
});
