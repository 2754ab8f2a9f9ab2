/**
 * What the verifier reads from an HTTP request. An adapter builds one per request (`nodeRequest`
 * does it for Node's IncomingMessage); every member but `authorization` is read only when a rule
 * needs it: the DPoP proof, method and public URL for a DPoP request (RFC 9449 §4.3), the client
 * certificate for a certificate-bound token (RFC 8705 §3).
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { authorizationValues } from './extract.js';

export interface TokenRequest {
  /** Every Authorization header value the request carried (see `authorizationValues`). */
  readonly authorization: string | readonly string[] | undefined;
  /** The request target (path and query), for query tokens and the DPoP `htu`. */
  readonly url?: string;
  /** The request method, for the DPoP `htm`. */
  readonly method?: string;
  /** The `DPoP` header (Node joins repeated ones with ", "). */
  readonly dpop?: string | readonly string[];
  /**
   * `scheme://host[:port]` as the client addressed the API, for the DPoP `htu`: what the framework
   * reports, honouring its own trust-proxy setting. The verifier's `publicOrigin` option wins.
   */
  readonly origin?: string;
  /** The client certificate of the TLS connection, DER. */
  readonly clientCertificate?: Buffer;
  /** A request header by lower-case name (for a certificate forwarded by a proxy). */
  header?(name: string): string | undefined;
}

/** The older name of TokenRequest, from before DPoP; kept so that code written against it compiles. */
export type BearerRequest = TokenRequest;

/** A TokenRequest that reads Node's request lazily. `origin` is called only for a DPoP request. */
export function nodeRequest(raw: IncomingMessage, url: string | undefined, origin?: () => string | undefined): TokenRequest {
  return new NodeTokenRequest(raw, url, origin);
}

class NodeTokenRequest implements TokenRequest {
  constructor(
    private readonly raw: IncomingMessage,
    readonly url: string | undefined,
    private readonly originOf: (() => string | undefined) | undefined,
  ) {}

  get authorization(): string | readonly string[] | undefined {
    return authorizationValues(this.raw);
  }

  get method(): string | undefined {
    return this.raw.method;
  }

  get dpop(): string | undefined {
    return this.header('dpop');
  }

  get origin(): string | undefined {
    return this.originOf?.();
  }

  get clientCertificate(): Buffer | undefined {
    const socket = this.raw.socket as Partial<TLSSocket> | undefined;
    if (typeof socket?.getPeerCertificate !== 'function') return undefined;
    const certificate = socket.getPeerCertificate(false);
    // An empty object when the client sent none.
    return certificate?.raw;
  }

  header(name: string): string | undefined {
    const value = this.raw.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }
}
