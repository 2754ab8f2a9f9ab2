/**
 * @tokenward/redis: what a fleet of instances shares through Redis. `syncRevocations` keeps each
 * instance's RevocationList in step with a Redis Stream that `revocationPublisher` writes to;
 * `redisReplayStore` makes a DPoP proof usable once across the fleet. It takes the application's
 * own client (node-redis or ioredis) and decides nothing about tokens: core does.
 */
export { syncRevocations, REVOCATION_SYNC_DEFAULTS } from './sync.js';
export type { RevocationSync, RevocationSyncEvent, RevocationSyncOptions } from './sync.js';
export { revocationPublisher } from './publisher.js';
export type { RevocationPublisher, RevocationPublisherOptions } from './publisher.js';
export { redisReplayStore } from './replay-store.js';
export type { RedisReplayStoreOptions } from './replay-store.js';
export type { RedisClient, RedisConnection } from './connection.js';
export { DEFAULT_STREAM } from './stream.js';
