/**
 * RFC 7515 §5.2 steps 7-8 for a token whose shape and header already passed (compact.ts) and whose
 * key was chosen from the JWKS (keys/remote-jwks.ts): the one signature check every token takes.
 *
 * Where the signature math runs (`signatureWork`). Measured on a 2-core AMD EPYC (2026-11-23; see
 * README "Benchmarks" for a slower Xeon), RS256-2048: inline (node:crypto `verify`, synchronous)
 * about 49,000 verifies/s one after another; on libuv's thread pool (`verify` with a callback) only
 * about 13,700/s one after another, since each waits for a thread hop, but about 56,000/s with 64
 * in flight, as both cores work. In an Express server under load with 20,000 distinct tokens the
 * pool took throughput from 0.53 × to 0.76 × the unprotected app's in a three-round A/B (0.60 × to
 * 0.63 × in a noisier full run): the event loop, which is what limits a Node server, no longer does
 * the math. On Fastify the bench showed no gain, as the load generator needed the second core. With
 * one core the pool only adds the hop (about 32,000/s with 64 in flight against 44,500/s inline).
 * Hence 'auto': inline, unless verifications overlap (one arrives while another is on the pool) on
 * a machine with more than one core. An occasional probe sends one verification to the pool to find
 * out; a caller verifying one token at a time pays one thread hop per probe interval, a server
 * under load keeps the pool busy.
 */
import { availableParallelism } from 'node:os';
import type { KeyObject } from 'node:crypto';
import { TokenwardError } from '../errors.js';
import type { KeyEntry } from '../keys/remote-jwks.js';
import type { CompactParts } from './compact.js';
import { verifySignature, verifySignatureInPool } from './signature.js';

/** Where signatures are checked: see above. Default 'auto'. */
export type SignatureWork = 'auto' | 'inline' | 'threadpool';

const PROBE_INTERVAL_MS = 100;
const OVERLAP_MEMORY_MS = 1_000;

/** Process-wide, as the thread pool is. */
const placement = {
  multicore: availableParallelism() > 1,
  /** Verifications on the pool now. */
  inPool: 0,
  /** Until then (ms since the epoch) verifications go to the pool: an overlap was seen. */
  overlapUntil: 0,
  nextProbe: 0,
};

function usePool(work: SignatureWork): boolean {
  if (work !== 'auto') return work === 'threadpool';
  if (!placement.multicore) return false;
  const now = Date.now();
  if (placement.inPool > 0) {
    placement.overlapUntil = now + OVERLAP_MEMORY_MS;
    return true;
  }
  if (now < placement.overlapUntil) return true;
  if (now >= placement.nextProbe) {
    placement.nextProbe = now + PROBE_INTERVAL_MS;
    return true;
  }
  return false;
}

export function verifyJws(token: string, parts: CompactParts, alg: string, key: KeyEntry, work: SignatureWork = 'auto'): void | Promise<void> {
  // Synchronous once the key is imported (and the math inline): no promise on the way.
  const keyObject = key.imported(alg);
  if (keyObject !== undefined) return check(token, parts, alg, keyObject, work);
  return key.import(alg).then(
    (imported) => check(token, parts, alg, imported, work),
    (cause: unknown) => {
      // jose refused the JWK for this algorithm (say, an EC point not on its curve).
      throw new TokenwardError('key_mismatch', { cause });
    },
  );
}

function check(token: string, parts: CompactParts, alg: string, keyObject: KeyObject, work: SignatureWork): void | Promise<void> {
  // The signing input is the token up to its second dot, as sent (ASCII by construction).
  const signingInput = Buffer.from(token.slice(0, parts.header.length + 1 + parts.payload.length), 'latin1');
  const signature = Buffer.from(parts.signature, 'base64url');
  if (!usePool(work)) {
    if (!verifySignature(alg, keyObject, signingInput, signature)) throw new TokenwardError('signature_invalid');
    return undefined;
  }
  placement.inPool++;
  return verifySignatureInPool(alg, keyObject, signingInput, signature).then((valid) => {
    placement.inPool--;
    if (!valid) throw new TokenwardError('signature_invalid');
  });
}
