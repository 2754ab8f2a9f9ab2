/** What the event receivers (signals/) report through their `onEvent`. Reporting never affects an answer. */
import type { EventTokenFailure } from './event-token.js';

export type SignalEvent =
  | {
      /** A Back-Channel Logout applied (or, `repeated`, one seen before and not applied again). */
      type: 'logout_received';
      issuer: string;
      subject: string | undefined;
      session: string | undefined;
      repeated: boolean;
    }
  | {
      /** A security event (RFC 8417) verified; `action` says what it did to the revocation list. */
      type: 'security_event_received';
      issuer: string;
      jti: string;
      eventType: string;
      action: 'revoked_subject' | 'revoked_session' | 'ignored' | 'repeated';
    }
  | {
      /** A logout token or security event refused; `description` is what the sender was told. */
      type: 'signal_rejected';
      receiver: 'backchannel_logout' | 'security_events';
      failure: EventTokenFailure;
      description: string;
      cause?: unknown;
    };
