/** What tokenward reports through the `onEvent` option. Reporting never affects a decision. */
import type { Reason, RejectionDetail } from './errors.js';
import type { FetchFailure } from './fetch-json.js';
import type { IntrospectionFailure } from './introspection/endpoint.js';

/** Why a member of a JWKS is never used to verify (keys/jwk.ts), reported with `key_ignored`. */
export type JwkRejection =
  | 'not_an_object'
  | 'kty_unsupported'
  | 'private_key'
  | 'use_not_sig'
  | 'key_ops_without_verify'
  | 'kid_invalid'
  | 'alg_not_allowed'
  | 'members_invalid'
  | 'rsa_too_small'
  | 'rsa_too_large'
  | 'rsa_roca'
  | 'kid_duplicate';

export type KeySourceFailure = FetchFailure | 'jwks_invalid' | 'too_many_keys';

export type TokenwardEvent =
  | {
      type: 'keys_refreshed';
      jwksUri: string;
      /** Key ids now published (keys without a kid are not listed). */
      kids: string[];
      added: string[];
      removed: string[];
    }
  | {
      type: 'keys_refresh_failed';
      jwksUri: string | undefined;
      failure: KeySourceFailure;
      message: string;
      /** True when the last good key set keeps serving (stale-if-error). */
      staleKeysServing: boolean;
    }
  | { type: 'key_ignored'; jwksUri: string; kid: string | undefined; reason: JwkRejection }
  | {
      type: 'introspection_failed';
      /** The endpoint, or the issuer while its endpoint is not yet discovered. */
      endpoint: string;
      failure: IntrospectionFailure;
      /** For the developer; never names the token or the client secret. */
      message: string;
    }
  | {
      type: 'token_rejected';
      reason: Reason;
      status: number;
      /** For the developer: expected and actual values, the key id, a hint. Never sent to the client. */
      detail?: RejectionDetail;
      cause?: unknown;
    };

export type EventListener = (event: TokenwardEvent) => void;

/**
 * The user's listener, made safe to call: reporting must never change an outcome, so a listener
 * that throws is ignored (a rejected request, a stopped poller would be worse than a lost event).
 */
export function emitter<E>(listener: ((event: E) => void) | undefined): (event: E) => void {
  if (listener === undefined) return () => undefined;
  return (event) => {
    try {
      listener(event);
    } catch {
      // Deliberately ignored; see above.
    }
  };
}
