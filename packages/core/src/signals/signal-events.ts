/** What the event receivers (signals/) report through their `onEvent`. Reporting never affects an answer. */
import type { EventTokenFailure } from './event-token.js';

/**
 * Why a verified security event revoked nothing: a type this version does not act on, an SSF
 * stream event (verification, stream-updated), a subject of another issuer's tokens, a subject
 * whose format is not taken as the tokens' `sub` (`subjectFormats`), a credential created rather
 * than changed, or a change type CAEP 1.0 does not define.
 */
export type SecurityEventIgnored = 'event_type_unknown' | 'stream_event' | 'subject_other_issuer' | 'subject_format' | 'credential_created' | 'change_type_unknown';

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
      /** With `ignored`: why the event revoked nothing. */
      reason?: SecurityEventIgnored;
    }
  | {
      /** A logout token or security event refused; `description` is what the sender was told. */
      type: 'signal_rejected';
      receiver: 'backchannel_logout' | 'security_events';
      failure: EventTokenFailure;
      description: string;
      cause?: unknown;
    };
