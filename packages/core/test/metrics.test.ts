/**
 * OpenTelemetry metrics (metrics.ts) read back through the SDK's in-memory exporter: each
 * instrument's name, attributes and values after real verifications against a real JWKS server.
 */
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerifier, pollRevocations, RevocationList, type Verifier, type VerifierOptions } from '@tokenward/core';
import { serveOneKey } from '../../../test/support/jwks-server';
import { mint, now } from '../../../test/support/tokens';

const audience = 'https://api.example.com';
const jwks = serveOneKey('ES256', 'k1');

let exporter: InMemoryMetricExporter;
let reader: PeriodicExportingMetricReader;
let provider: MeterProvider;
const verifiers: Verifier[] = [];
beforeEach(() => {
  exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  provider = new MeterProvider({ readers: [reader] });
});
afterEach(async () => {
  for (const verifier of verifiers.splice(0)) verifier.close();
  await provider.shutdown();
});

function make(options: Partial<VerifierOptions> = {}): Verifier {
  const verifier = createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, metrics: { meterProvider: provider }, ...options });
  verifiers.push(verifier);
  return verifier;
}

async function collected(): Promise<Map<string, MetricData>> {
  await reader.forceFlush();
  const byName = new Map<string, MetricData>();
  for (const resource of exporter.getMetrics()) for (const scope of resource.scopeMetrics) for (const metric of scope.metrics) byName.set(metric.descriptor.name, metric);
  return byName;
}

/** The value of a counter's (or gauge's) data point with exactly these attributes. */
function point(metrics: Map<string, MetricData>, name: string, attributes: Record<string, string>): unknown {
  const metric = metrics.get(name);
  return metric?.dataPoints.find((p) => JSON.stringify(p.attributes) === JSON.stringify(attributes))?.value;
}

const token = (claims: Record<string, unknown> = {}) => mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims });

test('verifications by outcome and reason, their duration, cache lookups and key fetches', async () => {
  const verifier = make();
  const jwt = token();
  await verifier.verify(jwt);
  await verifier.verify(jwt); // a miss too: a token is stored on its second verification
  await verifier.check({ authorization: `Bearer ${jwt}` });
  await expect(verifier.verify(token({ exp: now() - 3600, iat: now() - 3700 }))).rejects.toMatchObject({ reason: 'token_expired' });
  await expect(Promise.resolve().then(() => verifier.check({ authorization: undefined }))).rejects.toMatchObject({ reason: 'credentials_missing' });
  const metrics = await collected();
  expect(point(metrics, 'tokenward.verifications', { 'tokenward.outcome': 'accepted' })).toBe(3);
  expect(point(metrics, 'tokenward.verifications', { 'tokenward.outcome': 'rejected', 'tokenward.reason': 'token_expired' })).toBe(1);
  expect(point(metrics, 'tokenward.verifications', { 'tokenward.outcome': 'rejected', 'tokenward.reason': 'credentials_missing' })).toBe(1);
  expect(point(metrics, 'tokenward.token_cache.lookups', { 'tokenward.cache.result': 'hit' })).toBe(1);
  expect(point(metrics, 'tokenward.token_cache.lookups', { 'tokenward.cache.result': 'miss' })).toBe(3);
  expect(point(metrics, 'tokenward.jwks.fetches', { 'tokenward.outcome': 'ok' })).toBe(1);
  const duration = metrics.get('tokenward.verification.duration');
  expect(duration?.descriptor.unit).toBe('s');
  const accepted = duration?.dataPoints.find((p) => p.attributes['tokenward.outcome'] === 'accepted')?.value as { count: number; sum: number };
  expect(accepted.count).toBe(3);
  expect(accepted.sum).toBeGreaterThan(0);
  expect(accepted.sum).toBeLessThan(5);
});

test('a failed key fetch is counted with its failure; the revocation list size is observed', async () => {
  const revocation = new RevocationList();
  revocation.revokeSubject('user-1');
  revocation.revokeSubject('user-2');
  const down = make({ issuer: 'http://127.0.0.1:9', jwksUri: 'http://127.0.0.1:9/jwks', revocation });
  const jwt = mint(jwks.key, { issuer: 'http://127.0.0.1:9', audience });
  await expect(down.verify(jwt)).rejects.toMatchObject({ reason: 'jwks_unavailable' });
  const metrics = await collected();
  expect(point(metrics, 'tokenward.jwks.fetches', { 'tokenward.outcome': 'failed', 'tokenward.failure': 'network' })).toBe(1);
  expect(point(metrics, 'tokenward.revocation.entries', {})).toBe(2);
});

test('pollRevocations reports how long ago it last read its feed', async () => {
  const feed = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ cursor: '1', has_more: false, revocations: [] })));
  await new Promise<void>((resolve) => feed.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(feed.address() as AddressInfo).port}/revocations`;
  const poller = pollRevocations({ url, list: new RevocationList(), interval: 60_000, metrics: { meterProvider: provider } });
  try {
    await poller.ready;
    await new Promise((resolve) => setTimeout(resolve, 120));
    const age = point(await collected(), 'tokenward.revocation_feed.age', { 'url.full': url }) as number;
    expect(age).toBeGreaterThanOrEqual(0.1);
    expect(age).toBeLessThan(30);
  } finally {
    poller.stop();
    feed.close();
  }
});

test('metrics: false records nothing; without an SDK the global provider is a no-op and verification works alike', async () => {
  const quiet = make({ metrics: false });
  await quiet.verify(token());
  expect((await collected()).size).toBe(0);
  const global = createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri });
  verifiers.push(global);
  await expect(global.verify(token())).resolves.toMatchObject({ subject: 'user-42' });
});
