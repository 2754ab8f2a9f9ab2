/**
 * OpenTelemetry metrics, through `@opentelemetry/api` only: a no-op until the application
 * registers an SDK's MeterProvider (before it creates the verifier, as OpenTelemetry asks), or
 * passes one as `metrics.meterProvider`. Instruments (names and attributes are stable):
 *
 *   tokenward.verifications              counter    tokenward.outcome (accepted | rejected), tokenward.reason
 *   tokenward.verification.duration      histogram  s, tokenward.outcome: from the request to the decision
 *   tokenward.token_cache.lookups        counter    tokenward.cache.result (hit | miss)
 *   tokenward.jwks.fetches               counter    tokenward.outcome (ok | failed), tokenward.failure
 *   tokenward.introspections             counter    tokenward.outcome (active | inactive | failed), tokenward.failure
 *   tokenward.revocation.entries         gauge      entries in the verifier's revocation list
 *   tokenward.revocation_feed.age        gauge      s since pollRevocations last read its feed, url.full
 *
 * Recording never changes a decision. Without an SDK (the provider's meter is the API's no-op) or
 * with `metrics: false`, nothing is called at all, not even the clock.
 */
import { createNoopMeter, metrics as otel, type Attributes, type Meter, type MeterProvider } from '@opentelemetry/api';
import type { Reason } from './errors.js';
import type { TokenwardEvent } from './events.js';

export interface MetricsOptions {
  /** Default: the global MeterProvider (`metrics.setGlobalMeterProvider`, or an SDK's `start()`). */
  meterProvider?: MeterProvider;
}

export interface Instruments {
  /** The start of a decision, for its duration (0 when nothing is recorded: no clock read). */
  start(): number;
  accepted(started: number): void;
  rejected(reason: Reason, started: number | undefined): void;
  cacheLookup(hit: boolean): void;
  /** An introspection call made (RFC 7662) and what it answered. */
  introspected(outcome: 'active' | 'inactive' | 'failed'): void;
  /** Taps the verifier's events (key fetches). */
  onEvent(event: TokenwardEvent): void;
}

const NOOP_METER = createNoopMeter().constructor as new () => object;
const NONE: Instruments = Object.freeze({ start: () => 0, accepted: () => undefined, rejected: () => undefined, cacheLookup: () => undefined, introspected: () => undefined, onEvent: () => undefined });
const HIT: Attributes = Object.freeze({ 'tokenward.cache.result': 'hit' });
const MISS: Attributes = Object.freeze({ 'tokenward.cache.result': 'miss' });
const ACCEPTED: Attributes = Object.freeze({ 'tokenward.outcome': 'accepted' });
const REJECTED: Attributes = Object.freeze({ 'tokenward.outcome': 'rejected' });
const FETCHED: Attributes = Object.freeze({ 'tokenward.outcome': 'ok' });

/**
 * The meter to record with; undefined with `metrics: false` or without an SDK (the provider's
 * meter is the API's no-op: every instrument would be one, so none is called, not even the clock).
 */
function meterOf(options: MetricsOptions | false | undefined): Meter | undefined {
  if (options === false) return undefined;
  const meter = (options?.meterProvider ?? otel.getMeterProvider()).getMeter('@tokenward/core');
  return meter instanceof NOOP_METER ? undefined : meter;
}

/**
 * pollRevocations' lag: seconds since its last successful poll (none observed before the first).
 * Returns the function that stops observing.
 */
export function observeFeedAge(options: MetricsOptions | false | undefined, url: string, lastSuccessAt: () => number | undefined): () => void {
  const meter = meterOf(options);
  if (meter === undefined) return () => undefined;
  const gauge = meter.createObservableGauge('tokenward.revocation_feed.age', { description: 'Seconds since the revocation feed was last read', unit: 's' });
  const attributes: Attributes = Object.freeze({ 'url.full': url });
  const callback = (result: { observe(value: number, attributes?: Attributes): void }) => {
    const at = lastSuccessAt();
    if (at !== undefined) result.observe((Date.now() - at) / 1000, attributes);
  };
  gauge.addCallback(callback);
  return () => gauge.removeCallback(callback);
}

/** The instruments of one verifier; `size` reads its revocation list. */
export function instrumentsOf(options: MetricsOptions | false | undefined, size: () => number | undefined): Instruments {
  const meter = meterOf(options);
  if (meter === undefined) return NONE;
  const verifications = meter.createCounter('tokenward.verifications', { description: 'Tokens accepted or rejected' });
  const duration = meter.createHistogram('tokenward.verification.duration', { description: 'Time from the request to the decision', unit: 's' });
  const lookups = meter.createCounter('tokenward.token_cache.lookups', { description: 'Verified-token cache lookups' });
  const fetches = meter.createCounter('tokenward.jwks.fetches', { description: 'Key set fetches' });
  const introspections = meter.createCounter('tokenward.introspections', { description: 'Token introspection calls (RFC 7662)' });
  const introspectionOutcomes = { active: Object.freeze({ 'tokenward.outcome': 'active' }), inactive: Object.freeze({ 'tokenward.outcome': 'inactive' }) } as const;
  meter.createObservableGauge('tokenward.revocation.entries', { description: 'Entries in the revocation list' }).addCallback((result) => {
    const entries = size();
    if (entries !== undefined) result.observe(entries);
  });
  // One attributes object per reason, made once: recording allocates nothing.
  const byReason = new Map<Reason, Attributes>();
  const reasonAttributes = (reason: Reason): Attributes => {
    let attributes = byReason.get(reason);
    if (attributes === undefined) byReason.set(reason, (attributes = Object.freeze({ 'tokenward.outcome': 'rejected', 'tokenward.reason': reason })));
    return attributes;
  };
  return {
    start: () => performance.now(),
    accepted(started) {
      verifications.add(1, ACCEPTED);
      duration.record((performance.now() - started) / 1000, ACCEPTED);
    },
    rejected(reason, started) {
      verifications.add(1, reasonAttributes(reason));
      if (started !== undefined) duration.record((performance.now() - started) / 1000, REJECTED);
    },
    cacheLookup(hit) {
      lookups.add(1, hit ? HIT : MISS);
    },
    introspected(outcome) {
      // A failure is counted with its failure code by onEvent (introspection_failed).
      if (outcome !== 'failed') introspections.add(1, introspectionOutcomes[outcome]);
    },
    onEvent(event) {
      if (event.type === 'keys_refreshed') fetches.add(1, FETCHED);
      else if (event.type === 'keys_refresh_failed') fetches.add(1, { 'tokenward.outcome': 'failed', 'tokenward.failure': event.failure });
      else if (event.type === 'introspection_failed') introspections.add(1, { 'tokenward.outcome': 'failed', 'tokenward.failure': event.failure });
    },
  };
}
