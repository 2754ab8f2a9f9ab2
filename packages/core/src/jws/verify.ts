/**
 * RFC 7515 §5.2 steps 7-8 for a token whose shape and header already passed (compact.ts) and whose
 * key was chosen from the JWKS (keys/remote-jwks.ts): the one signature check every token takes.
 */
import type { KeyObject } from 'node:crypto';
import { TokenwardError } from '../errors.js';
import type { KeyEntry } from '../keys/remote-jwks.js';
import type { CompactParts } from './compact.js';
import { verifySignature } from './signature.js';

export function verifyJws(token: string, parts: CompactParts, alg: string, key: KeyEntry): void | Promise<void> {
  // Synchronous once the key is imported: no promise on the path every token takes.
  const keyObject = key.imported(alg);
  if (keyObject !== undefined) return check(token, parts, alg, keyObject);
  return key.import(alg).then(
    (imported) => check(token, parts, alg, imported),
    (cause: unknown) => {
      // jose refused the JWK for this algorithm (say, an EC point not on its curve).
      throw new TokenwardError('key_mismatch', { cause });
    },
  );
}

function check(token: string, parts: CompactParts, alg: string, keyObject: KeyObject): void {
  // The signing input is the token up to its second dot, as sent (ASCII by construction).
  const signingInput = Buffer.from(token.slice(0, parts.header.length + 1 + parts.payload.length), 'latin1');
  if (!verifySignature(alg, keyObject, signingInput, Buffer.from(parts.signature, 'base64url'))) {
    throw new TokenwardError('signature_invalid');
  }
}
