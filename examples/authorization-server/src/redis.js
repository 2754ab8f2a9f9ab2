/**
 * Revocations to a Redis stream as well as the feed, for fleets of resource servers that read it
 * with @tokenward/redis's syncRevocations: every entry the server publishes (a revoked token, a
 * logout, a client shut off, a session ended) goes out as one XADD through revocationPublisher,
 * which retries while Redis is away. Optional: the server itself needs no Redis.
 */
import { revocationPublisher } from '@tokenward/redis';
import { createClient } from 'redis';

/**
 * Connects to Redis; `onRevocation` is the server's option of that name.
 * @param {string} url e.g. redis://127.0.0.1:6379
 * @param {{ stream?: string, maxTokenLifetime?: number, onEvent?: (event: { type: string, [key: string]: unknown }) => void }} [options]
 */
export async function redisRevocations(url, options = {}) {
  const onEvent = options.onEvent ?? (() => undefined);
  const client = createClient({ url });
  client.on('error', (error) => onEvent({ type: 'redis_error', message: error.message }));
  await client.connect();
  const publisher = revocationPublisher({ redis: client, stream: options.stream, maxTokenLifetime: options.maxTokenLifetime });
  /** @param {import('./index.d.ts').Revocation} revocation */
  const publish = (revocation) => {
    switch (revocation.type) {
      case 'token':
        return publisher.revoke({ jti: revocation.jti, expiresAt: revocation.exp });
      case 'subject':
        return publisher.revokeSubject(revocation.sub, { before: revocation.before });
      case 'client':
        return publisher.revokeClient(revocation.client_id, { before: revocation.before });
      default:
        return publisher.revokeSession(revocation.sid, { before: revocation.before });
    }
  };
  return {
    /** @param {import('./index.d.ts').Revocation} revocation */
    onRevocation(revocation) {
      publish(revocation).then(
        (id) => onEvent({ type: 'revocation_streamed', id, revocation }),
        (error) => onEvent({ type: 'revocation_stream_failed', message: error.message, revocation }),
      );
    },
    async close() {
      client.destroy();
    },
  };
}
