/**
 * One revocation as the fleet paths carry it: an entry of the authorization server's revocation
 * feed (pollRevocations) or of a Redis stream (@tokenward/redis), JSON of one of these shapes:
 *
 *   { "type": "token",   "jti": "…", "exp": 1767225600 }           one access token, until exp
 *   { "type": "subject", "sub": "user-42", "before": 1767225300 }   tokens of sub with iat <= before
 *   { "type": "client",  "client_id": "job", "before": 1767225300 } tokens of an OAuth client
 *   { "type": "session", "sid": "08a5…", "before": 1767225300 }     tokens carrying the provider's sid
 *
 * An optional `iss` scopes a subject, client or session entry to that issuer's tokens (else the
 * reader's `issuer` option does, else every issuer's match); a reader scoped to one issuer refuses
 * an entry naming another, so a feed cannot reach past its issuer. Applying an entry twice is harmless.
 */
import type { RevocationList } from './revocation.js';

/** What became of an entry: applied, malformed, or of a type this version does not know. */
export type RevocationEntryOutcome = 'applied' | 'entry_invalid' | 'type_unknown';

export function applyRevocationEntry(list: RevocationList, entry: unknown, issuer?: string): RevocationEntryOutcome {
  if (typeof entry !== 'object' || entry === null) return 'entry_invalid';
  const fields = entry as Record<string, unknown>;
  if (fields.iss !== undefined && (!isId(fields.iss) || (issuer !== undefined && fields.iss !== issuer))) return 'entry_invalid';
  // The entry's own issuer, else the reader's.
  const iss = (fields.iss as string | undefined) ?? issuer;
  const upTo = (before: number) => (iss === undefined ? { before } : { before, issuer: iss });
  switch (fields.type) {
    case 'token':
      if (!isId(fields.jti) || !isSeconds(fields.exp)) return 'entry_invalid';
      list.revoke({ jti: fields.jti, expiresAt: fields.exp });
      return 'applied';
    case 'subject':
      if (!isId(fields.sub) || !isSeconds(fields.before)) return 'entry_invalid';
      list.revokeSubject(fields.sub, upTo(fields.before));
      return 'applied';
    case 'client':
      if (!isId(fields.client_id) || !isSeconds(fields.before)) return 'entry_invalid';
      list.revokeClient(fields.client_id, upTo(fields.before));
      return 'applied';
    case 'session':
      if (!isId(fields.sid) || !isSeconds(fields.before)) return 'entry_invalid';
      list.revokeSession(fields.sid, upTo(fields.before));
      return 'applied';
    default:
      return typeof fields.type === 'string' ? 'type_unknown' : 'entry_invalid';
  }
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function isSeconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
