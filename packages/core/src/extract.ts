/**
 * RFC 6750 §2 and RFC 9449 §7.1: where an access token may travel, and what counts as a malformed
 * request. Only the Authorization header by default, with the Bearer or the DPoP scheme; the
 * `access_token` query parameter (RFC 6750 §2.3, Bearer only) only when enabled, since URLs end up
 * in logs, histories and Referer headers.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { TokenwardError, type Scheme } from './errors.js';
import type { TokenRequest } from './request.js';

export interface ExtractOptions {
  /** Accept `?access_token=` (RFC 6750 §2.3). Default false. */
  allowQueryToken?: boolean;
  /** Size cap in bytes, checked before any parsing. */
  maxTokenBytes: number;
}

/** An access token as the request carried it. */
export interface Credentials {
  readonly scheme: Scheme;
  readonly token: string;
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
// RFC 9110 §11.1: schemes are case-insensitive.
const BEARER = /^bearer$/i;
const DPOP = /^dpop$/i;

/**
 * The Authorization values of a Node request. Node's `req.headers` keeps only the first of several
 * Authorization headers, which would hide a "several tokens" request, so the raw header list is
 * counted too (cheaper than `req.headersDistinct`, which copies every header of every request).
 */
export function authorizationValues(req: { headers: IncomingHttpHeaders; rawHeaders?: readonly string[] }): string | readonly string[] | undefined {
  const first = req.headers.authorization;
  const raw = req.rawHeaders;
  if (first === undefined || raw === undefined) return first;
  let values: string[] | undefined;
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      seen++;
      (values ??= []).push(raw[i + 1] as string);
    }
  }
  return seen > 1 ? (values as string[]) : first;
}

/**
 * The credentials of a request, or undefined when it carries none of an accepted scheme (another
 * scheme, such as Basic, or DPoP when `dpop` is false, counts as none: RFC 6750 §3.1 then wants
 * a bare challenge). Throws `invalid_request` (400) for several tokens, several methods, or an
 * oversized header. The characters are not scanned here: the verifier scans only credentials that
 * its strict compact split refuses (the strict base64url shape is a subset of b64token), with
 * `assertB64token`, to tell a malformed request (400) from an invalid token (401).
 */
export function credentialsOf(req: TokenRequest, options: ExtractOptions, dpop: boolean): Credentials | undefined {
  const fromHeader = credentialsFromHeader(req.authorization, options.maxTokenBytes, dpop);
  const fromQuery = options.allowQueryToken === true ? tokenFromQuery(req.url, options.maxTokenBytes) : undefined;
  if (fromHeader !== undefined && fromQuery !== undefined) throw new TokenwardError('multiple_credentials');
  return fromHeader ?? (fromQuery === undefined ? undefined : { scheme: 'Bearer', token: fromQuery });
}

/** RFC 6750 §2.1: the credentials are one b64token; otherwise the request is malformed (400). */
export function assertB64token(credentials: string): void {
  if (!isB64token(credentials)) throw new TokenwardError('authorization_malformed');
}

export function isB64token(credentials: string): boolean {
  return B64TOKEN.test(credentials);
}

function credentialsFromHeader(value: string | readonly string[] | undefined, maxTokenBytes: number, dpop: boolean): Credentials | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    if (value.length > 1) throw new TokenwardError('multiple_credentials');
    value = value[0];
    if (value === undefined) return undefined;
  }
  // The header cannot be longer than the token cap plus the scheme and some spaces.
  if (value.length > maxTokenBytes + 64) throw new TokenwardError('token_too_large');
  value = value.trim();
  const space = value.indexOf(' ');
  const scheme = space === -1 ? value : value.slice(0, space);
  const accepted: Scheme | undefined = BEARER.test(scheme) ? 'Bearer' : dpop && DPOP.test(scheme) ? 'DPoP' : undefined;
  if (accepted === undefined) return undefined;
  const token = space === -1 ? '' : value.slice(space + 1).trimStart();
  if (token.includes(',')) throw new TokenwardError('multiple_credentials');
  if (token.length > maxTokenBytes) throw new TokenwardError('token_too_large');
  return { scheme: accepted, token };
}

function tokenFromQuery(url: string | undefined, maxTokenBytes: number): string | undefined {
  if (url === undefined) return undefined;
  const q = url.indexOf('?');
  if (q === -1 || !url.includes('access_token', q)) return undefined;
  if (url.length - q > maxTokenBytes * 3 + 4096) throw new TokenwardError('token_too_large');
  const values = new URLSearchParams(url.slice(q + 1)).getAll('access_token');
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new TokenwardError('multiple_credentials');
  const token = values[0] as string;
  if (token.length > maxTokenBytes) throw new TokenwardError('token_too_large');
  return token;
}
