/**
 * Security Event Tokens (RFC 8417) as an SSF transmitter signs them, with jose: any claims and
 * header members (one left out when set to undefined), so that tests can also break one at a time.
 */
import { CompactSign } from 'jose';
import type { TestKey } from './keys';

export function signSecurityEvent(key: TestKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const payload = { ...claims };
  const protectedHeader: Record<string, unknown> = { alg: key.alg, kid: key.kid, typ: 'secevent+jwt', ...header };
  for (const object of [payload, protectedHeader]) for (const [name, value] of Object.entries(object)) if (value === undefined) delete object[name];
  return new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader(protectedHeader as { alg: string }).sign(key.privateKey);
}
