/**
 * The few things this package needs from a Redis client, so that it takes the client the
 * application already has: node-redis (`redis`, the tested default: Redis's own client) and
 * ioredis are recognised as they are; any other client fits through `RedisConnection`.
 *
 * Every command goes through `sendCommand` as an argument list, so each client is used the same
 * way and nothing depends on a client's command helpers. Replies are read in both the RESP2 shapes
 * (arrays) and the RESP3 ones (maps, which node-redis 5+ may hand back as objects or Maps).
 * Blocking reads (XREAD BLOCK) hold their connection, so the stream reader makes its own with
 * `duplicate`; the application's connection only ever sees short commands.
 */

import { withDeadline } from './deadline.js';

export interface RedisConnection {
  /** Sends one command (`['XADD', key, ...]`); resolves with Redis's reply. */
  sendCommand(args: string[]): Promise<unknown>;
  /** A new connection to the same server, for blocking reads; `onError` hears its connection errors. */
  duplicate(onError: (error: unknown) => void): Promise<RedisConnection>;
  /** Closes a connection made by `duplicate`, at once (a blocking read in flight is abandoned). */
  close(): Promise<void>;
}

/** node-redis's client, as far as it is used here. */
interface NodeRedisClient {
  sendCommand(args: string[]): Promise<unknown>;
  duplicate(): NodeRedisClient;
  connect(): Promise<unknown>;
  destroy(): void;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  isOpen: boolean;
}

/** ioredis's client, as far as it is used here. */
interface IoredisClient {
  call(command: string, ...args: string[]): Promise<unknown>;
  duplicate(): IoredisClient;
  disconnect(): void;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  status: string;
}

/** A node-redis or ioredis client, or anything implementing `RedisConnection`. */
export type RedisClient = RedisConnection | NodeRedisClient | IoredisClient | object;

export function connectionOf(client: RedisClient, option = 'redis'): RedisConnection {
  const candidate = client as Partial<NodeRedisClient & IoredisClient & RedisConnection>;
  if (typeof candidate !== 'object' || candidate === null) throw new TypeError(`tokenward: ${option} must be a Redis client (node-redis or ioredis) or a RedisConnection`);
  if (typeof candidate.call === 'function' && typeof candidate.status === 'string' && typeof candidate.duplicate === 'function') return fromIoredis(client as IoredisClient);
  if (typeof candidate.sendCommand === 'function' && typeof candidate.connect === 'function' && 'isOpen' in candidate) return fromNodeRedis(client as NodeRedisClient);
  if (typeof candidate.sendCommand === 'function' && typeof candidate.duplicate === 'function' && typeof candidate.close === 'function') return client as RedisConnection;
  throw new TypeError(`tokenward: ${option} must be a Redis client (node-redis or ioredis) or a RedisConnection`);
}

function fromNodeRedis(client: NodeRedisClient): RedisConnection {
  return {
    sendCommand: (args) => client.sendCommand(args),
    async duplicate(onError) {
      const copy = client.duplicate();
      // Without a listener an 'error' event would end the process.
      copy.on('error', onError);
      // node-redis retries a refused connection for ever: bounded here, so that the reader reports
      // the failure, and a stop() meanwhile leaves nothing behind.
      try {
        await withDeadline(copy.connect(), CONNECT_TIMEOUT_MS, 'could not connect to Redis');
      } catch (error) {
        destroy(copy);
        throw error;
      }
      return fromNodeRedis(copy);
    },
    async close() {
      destroy(client);
    },
  };
}

const CONNECT_TIMEOUT_MS = 5000;

/** node-redis's destroy(), which throws on a client already closed. */
function destroy(client: NodeRedisClient): void {
  try {
    client.destroy();
  } catch {
    // Closed already.
  }
}

function fromIoredis(client: IoredisClient): RedisConnection {
  return {
    sendCommand: ([command = '', ...args]) => client.call(command, ...args),
    async duplicate(onError) {
      const copy = client.duplicate();
      copy.on('error', onError);
      return fromIoredis(copy);
    },
    async close() {
      client.disconnect();
    },
  };
}
