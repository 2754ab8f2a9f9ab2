/** The tests' redis-server: the repository's one (scripts/redis-server.mjs), shared with the demo and the bench. */
export { redisServerAvailable, startRedisServer, type RedisServer } from '../../../../scripts/redis-server.mjs';
