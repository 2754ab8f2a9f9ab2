/**
 * RFC 9449 §9: resource server nonces, opt-in. A nonce is an HMAC of the current time window
 * under a secret, so it needs no state: any instance that shares the secret issues and accepts the
 * same nonces (set `secret` in a fleet; the default is random per process). The nonce of the
 * previous window is still accepted, so a rotation never refuses a client that has just fetched
 * one.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface DpopNonceOptions {
  /** Shared by every instance that must accept each other's nonces. Default: random per process. */
  secret?: string | Buffer;
  /** Seconds a nonce stays current. Default 300; the previous one is accepted for as long again. */
  lifetime?: number;
}

const DEFAULT_LIFETIME = 300;
// 16 bytes of HMAC: unguessable, and short in every proof; 22 characters of base64url.
const NONCE_BYTES = 16;
const NONCE = /^[A-Za-z0-9_-]{22}$/;

export class DpopNonces {
  private readonly secret: Buffer;
  private readonly lifetimeMs: number;
  private window = Number.NaN;
  private currentNonce = '';
  private previousNonce = '';

  constructor(
    options: DpopNonceOptions,
    private readonly clock: () => number,
  ) {
    const lifetime = options.lifetime ?? DEFAULT_LIFETIME;
    if (!(lifetime > 0 && Number.isFinite(lifetime))) throw new TypeError('tokenward: dpop.nonce.lifetime must be a positive number of seconds');
    if (options.secret !== undefined && Buffer.byteLength(options.secret) < 16) throw new TypeError('tokenward: dpop.nonce.secret must be at least 16 bytes');
    this.secret = options.secret === undefined ? randomBytes(32) : Buffer.from(options.secret);
    this.lifetimeMs = lifetime * 1000;
  }

  /** The nonce to hand out now. */
  current(): string {
    this.roll();
    return this.currentNonce;
  }

  /** Whether `nonce` is the current nonce or the previous one. */
  accepts(nonce: unknown): boolean {
    if (typeof nonce !== 'string' || !NONCE.test(nonce)) return false;
    this.roll();
    return same(nonce, this.currentNonce) || same(nonce, this.previousNonce);
  }

  private roll(): void {
    const window = Math.floor(this.clock() / this.lifetimeMs);
    if (window === this.window) return;
    this.window = window;
    this.currentNonce = this.nonceOf(window);
    this.previousNonce = this.nonceOf(window - 1);
  }

  private nonceOf(window: number): string {
    return createHmac('sha256', this.secret).update(`tokenward-dpop-nonce:${window}`).digest().subarray(0, NONCE_BYTES).toString('base64url');
  }
}

function same(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
