/**
 * A DPoP replay store shared by every instance (RFC 9449 §11.1): a proof's id is recorded with one
 * `SET key 1 NX PX <ms until expiresAt>`, which Redis answers OK only for the first instance to
 * record it, so a proof replayed to another instance is refused there. Redis forgets each key when
 * no verifier would accept the proof any more: a time from now (`PX`), not an instant (`PXAT`), so
 * that a Redis whose clock runs ahead cannot take the proof's end for past and answer OK to its
 * replay. Fail closed: a reply other than OK or nil, an error,
 * or (core's `dpop.replayTimeout`, default 1 s) no answer in time makes core refuse the proof with
 * a 503, never accept it. Keys are a prefix and the SHA-256 of the proof's id, so their size is
 * fixed whatever the proof carries.
 */
import { createHash } from 'node:crypto';
import type { DpopReplayStore } from '@tokenward/core';
import { connectionOf, type RedisClient } from './connection.js';

export interface RedisReplayStoreOptions {
  /** The application's Redis client (node-redis or ioredis) or a RedisConnection. */
  redis: RedisClient;
  /** Prefix of the keys. Default 'tokenward:dpop:'. */
  prefix?: string;
}

export function redisReplayStore(options: RedisReplayStoreOptions): DpopReplayStore {
  const redis = connectionOf(options.redis);
  const prefix = options.prefix ?? 'tokenward:dpop:';
  if (typeof prefix !== 'string' || prefix.length > 128) throw new TypeError(`tokenward: redisReplayStore prefix must be a string of at most 128 characters; got ${JSON.stringify(prefix)}`);
  return {
    async use(id, expiresAt) {
      const key = prefix + createHash('sha256').update(id).digest('base64url');
      const reply = await redis.sendCommand(['SET', key, '1', 'NX', 'PX', String(Math.max(1, Math.ceil(expiresAt - Date.now())))]);
      if (reply === null) return false;
      if (reply === 'OK') return true;
      throw new Error(`unexpected reply from Redis to SET NX: ${String(reply)}`);
    },
  };
}
