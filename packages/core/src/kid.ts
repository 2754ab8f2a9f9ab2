/**
 * RFC 7515 §4.1.4 and RFC 7517 §4.5: `kid` is a case-sensitive string, used here only as an
 * exact-match lookup key. One rule for a token header's kid and a JWKS member's kid: non-empty,
 * and short, since it is never more than a label (and an attacker picks the token's).
 */
const MAX_KID_LENGTH = 256;

export function isKid(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_KID_LENGTH;
}
