/**
 * Arbitrary Authorization headers and tokens sent over real HTTP to every adapter at once
 * (seeded: FUZZ_SEED, FUZZ_RUNS). No answer may be a 5xx (the key server is up), and all
 * adapters must answer each input identically: status, challenge and body.
 */
import fc from 'fast-check';
import { ADAPTERS, loadApp, type SuiteApp } from './app-factory';
import { serveOneKey } from '../support/jwks-server';
import { mint } from '../support/tokens';
import { rawRequest } from '../support/raw-http';

const numRuns = Number(process.env.FUZZ_RUNS ?? 60);
fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED ?? 20261122), numRuns, endOnFailure: true });
// Each run is a request to every adapter; the long budget (`pnpm fuzz`) needs time in proportion.
jest.setTimeout(20_000 + numRuns * 20);

const audience = 'https://api.example.com';
const jwks = serveOneKey('ES256', 'es');
const apps: SuiteApp[] = [];

beforeAll(async () => {
  for (const adapter of ADAPTERS) {
    const createApp = await loadApp(adapter);
    apps.push(await createApp({ issuer: jwks.server.issuer, audience }));
  }
});
afterAll(() => Promise.all(apps.map((app) => app.close())));

// What an HTTP client can put in a header value: visible ASCII and spaces, no CR/LF.
const headerText = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 600 });

async function answers(path: string, headers: Array<[string, string]>) {
  return Promise.all(
    apps.map(async (app) => {
      const res = await rawRequest(app.baseUrl, path, headers);
      return { status: res.status, challenge: res.headers['www-authenticate'], body: res.body };
    }),
  );
}

function expectSameAndNo5xx(results: Array<{ status: number; challenge?: string; body: string }>): void {
  for (const result of results) {
    expect(result.status).toBeLessThan(500);
    expect(result).toEqual(results[0]);
  }
}

describe('every adapter, on arbitrary input', () => {
  test('answers arbitrary Authorization values alike and never with a 5xx', async () => {
    const value = fc.oneof(headerText, headerText.map((s) => `Bearer ${s}`), headerText.map((s) => `bearer  ${s.replace(/ /g, '')}`));
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 0, maxLength: 3 }), async (values) => {
        expectSameAndNo5xx(await answers('/messages', values.map((v) => ['Authorization', v] as [string, string])));
      }),
    );
  });

  test('answers valid tokens with altered characters alike and never with a 5xx', async () => {
    const token = mint(jwks.key, { issuer: jwks.server.issuer, audience });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/~';
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: token.length - 1 }), fc.constantFrom(...alphabet.split('')), async (index, char) => {
        const altered = token.slice(0, index) + char + token.slice(index + 1);
        const results = await answers('/messages', [['Authorization', `Bearer ${altered}`]]);
        expectSameAndNo5xx(results);
        if (altered !== token) expect(results[0]?.status).not.toBe(200);
      }),
    );
  });
});
