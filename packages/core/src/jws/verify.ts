/**
 * RFC 7515 §5.2 steps 7-8 for a JWS whose shape and header already passed (compact.ts), with the
 * key its header chose: the one signature check every token (and every DPoP proof) takes, inline
 * or on the thread pool as signature-work.ts decides.
 */
import type { KeyObject } from 'node:crypto';
import { TokenwardError, type Reason } from '../errors.js';
import { enterPool, leavePool, usePool, type SignatureWork } from '../signature-work.js';
import type { CompactParts } from './compact.js';
import { verifySignature, verifySignatureInPool } from './signature.js';

/** Throws (inline) or rejects (on the pool) with `refusal`; undefined when done inline. */
export function verifyJws(token: string, parts: CompactParts, alg: string, key: KeyObject, work: SignatureWork, refusal: Reason = 'signature_invalid'): void | Promise<void> {
  // The signing input is the token up to its second dot, as sent (ASCII by construction).
  const signingInput = Buffer.from(token.slice(0, parts.header.length + 1 + parts.payload.length), 'latin1');
  const signature = Buffer.from(parts.signature, 'base64url');
  if (!usePool(work)) {
    if (!verifySignature(alg, key, signingInput, signature)) throw new TokenwardError(refusal);
    return undefined;
  }
  enterPool();
  return verifySignatureInPool(alg, key, signingInput, signature).then((valid) => {
    leavePool();
    if (!valid) throw new TokenwardError(refusal);
  });
}
