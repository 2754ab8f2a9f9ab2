/**
 * RFC 8705 §3: a token bound to a client certificate (`cnf["x5t#S256"]`) is accepted only over a
 * connection that presented that certificate: the base64url SHA-256 of its DER must equal the
 * token's thumbprint. The certificate comes from the TLS connection itself or, only when the app
 * says a TLS-terminating proxy forwards it, from that proxy's RFC 9440 `Client-Cert` header
 * (`:<base64 DER>:`, a structured-field byte sequence). The TLS layer has verified that the client
 * holds the certificate's key; whether its chain is trusted is the TLS server's setting, not a
 * condition of the binding.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { TokenwardError } from './errors.js';
import type { TokenRequest } from './request.js';

export interface MtlsOptions {
  /**
   * The header a TLS-terminating proxy puts the client certificate in (RFC 9440: `client-cert`).
   * Off by default: set it only when every request comes through a proxy that sets the header and
   * strips any the client sent, or anyone could claim any certificate.
   */
  certificateHeader?: string;
}

// A certificate chain's leaf is a few KiB; a header that carries more is no certificate.
const MAX_CERTIFICATE_BYTES = 16 * 1024;
const SF_BINARY = /^:([A-Za-z0-9+/]+={0,2}):$/;

/** Throws unless the request's client certificate has the thumbprint `x5tS256`. */
export function checkCertificate(x5tS256: string, request: TokenRequest, options: MtlsOptions): void {
  const der = request.clientCertificate ?? forwarded(request, options.certificateHeader);
  if (der === undefined || der.length === 0) throw new TokenwardError('mtls_certificate_missing');
  const thumbprint = createHash('sha256').update(der).digest();
  const expected = Buffer.from(x5tS256, 'base64url');
  if (expected.length !== thumbprint.length || !timingSafeEqual(expected, thumbprint)) throw new TokenwardError('mtls_certificate_mismatch');
}

function forwarded(request: TokenRequest, header: string | undefined): Buffer | undefined {
  if (header === undefined || request.header === undefined) return undefined;
  const value = request.header(header.toLowerCase());
  if (value === undefined) return undefined;
  // Several certificates (Node joins repeated headers with ", ") or a value too long: none is believed.
  const match = value.length <= (MAX_CERTIFICATE_BYTES * 4) / 3 + 8 ? SF_BINARY.exec(value.trim()) : null;
  if (match === null) throw new TokenwardError('mtls_certificate_missing');
  return Buffer.from(match[1] as string, 'base64');
}
