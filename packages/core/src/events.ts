/** What tokenward reports through the `onEvent` option. Reporting never affects a decision. */
import type { Reason } from './errors.js';
import type { FetchFailure } from './fetch-json.js';
import type { JwkRejection } from './keys/jwk.js';

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
  | { type: 'token_rejected'; reason: Reason; status: number; cause?: unknown };

export type EventListener = (event: TokenwardEvent) => void;

/** Calls the user's listener; a listener that throws must not turn into a rejected request. */
export function emitter(listener: EventListener | undefined): EventListener {
  if (listener === undefined) return () => undefined;
  return (event) => {
    try {
      listener(event);
    } catch {
      // Deliberately ignored: observability must not change the outcome of a request.
    }
  };
}
