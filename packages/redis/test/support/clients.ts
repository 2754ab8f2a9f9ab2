/** Redis clients for the tests, each closed after its test; connection errors are expected (restarts) and collected. */
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import type { RevocationSync, RevocationSyncEvent } from '@tokenward/redis';

const closers: Array<() => void> = [];
const syncs: RevocationSync[] = [];

afterEach(async () => {
  for (const sync of syncs.splice(0)) sync.stop();
  for (const close of closers.splice(0)) close();
});

/** A connected node-redis client that reconnects quickly (tests restart the server). */
export async function nodeRedis(url: string) {
  const client = createClient({ url, socket: { reconnectStrategy: (retries: number) => Math.min(20 * (retries + 1), 200) } });
  client.on('error', () => undefined);
  closers.push(() => client.isOpen && client.destroy());
  await client.connect();
  return client;
}

export function ioredis(url: string): Redis {
  const client = new Redis(url, { retryStrategy: (times: number) => Math.min(20 * times, 200), maxRetriesPerRequest: null });
  client.on('error', () => undefined);
  closers.push(() => client.disconnect());
  return client;
}

/** Stops the sync after the test. */
export function track<T extends RevocationSync>(sync: T): T {
  syncs.push(sync);
  return sync;
}

/** Waits for `predicate` to hold, polling every 10 ms; fails after `ms`. */
export async function eventually(predicate: () => boolean, ms = 5000, what = 'the condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function eventsOf(events: RevocationSyncEvent[], type: RevocationSyncEvent['type']): RevocationSyncEvent[] {
  return events.filter((event) => event.type === type);
}
