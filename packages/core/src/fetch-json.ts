/**
 * The one way tokenward reads from the network (JWKS, issuer and transmitter metadata, feeds,
 * token introspection): https
 * only (loopback excepted), no redirects, a deadline covering headers and body, and a byte cap
 * enforced while the body streams in, before JSON.parse ever sees it.
 */

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface FetchJsonOptions {
  /** Milliseconds for the whole exchange, body included. */
  timeout: number;
  maxBytes: number;
  fetch: FetchLike;
  accept: string;
  /** Allow plain http to hosts other than loopback. */
  allowInsecureHttp: boolean;
}

/** A request with a body (an RFC 8936 poll); without one, fetchJson sends a GET. */
export interface JsonRequest {
  readonly method: 'POST';
  /** Sent beside `accept`; `content-type` belongs here. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type FetchFailure = 'metadata_invalid' | 'url_invalid' | 'insecure_url' | 'timeout' | 'network' | 'redirect' | 'http_status' | 'too_large' | 'not_json' | 'content_type';

/** A body read within the limits, not yet parsed. */
export interface FetchedBody {
  readonly text: string;
  /** The media type of `content-type`, lower-cased, without parameters; '' when absent. */
  readonly mediaType: string;
}

/**
 * A remote source (key set, metadata, feed) that failed us; `failure` is a stable code for events
 * and logs, the message says what was wrong for the developer (never sent to clients).
 */
export class SourceError<Failure extends string = FetchFailure> extends Error {
  constructor(readonly failure: Failure, message: string) {
    super(message);
    this.name = 'SourceError';
  }
}

/** The global fetch, looked up at call time so that a test or an APM agent that wraps it is honoured. */
export const defaultFetch: FetchLike = (input, init) => fetch(input, init);

export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

export function checkUrl(url: string, allowInsecureHttp: boolean): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SourceError('url_invalid', `not a URL: ${url}`);
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && (allowInsecureHttp || isLoopbackHost(parsed.hostname))) return parsed;
  throw new SourceError('insecure_url', `refusing non-https URL ${parsed.origin}`);
}

export async function fetchJson(url: string, options: FetchJsonOptions, request?: JsonRequest): Promise<unknown> {
  const { text } = await fetchBody(url, options, request);
  try {
    return JSON.parse(text);
  } catch {
    throw new SourceError('not_json', `${url} did not answer JSON`);
  }
}

/** fetchJson's exchange, with the body left as text beside its media type (for a caller that accepts more than JSON). */
export async function fetchBody(url: string, options: FetchJsonOptions, request?: JsonRequest): Promise<FetchedBody> {
  checkUrl(url, options.allowInsecureHttp);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // Raced as well as signalled: a user-supplied fetch may ignore the signal.
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new SourceError('timeout', `no complete answer from ${url} within ${options.timeout} ms`));
    }, options.timeout);
    timer.unref();
  });
  try {
    return await Promise.race([read(url, options, controller.signal, request), deadline]);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

async function read(url: string, options: FetchJsonOptions, signal: AbortSignal, request: JsonRequest | undefined): Promise<FetchedBody> {
  let response: Response;
  const init: RequestInit =
    request === undefined
      ? { headers: { accept: options.accept }, redirect: 'manual', signal }
      : { method: request.method, headers: { ...request.headers, accept: options.accept }, body: request.body, redirect: 'manual', signal };
  try {
    response = await options.fetch(url, init);
  } catch (first) {
    // Key sets are fetched minutes apart, so the pooled keep-alive connection is often one the
    // server is closing at that very moment (more so when the event loop was busy): try once
    // more on a fresh connection, within the same deadline. A poll (RFC 8936) sent twice is
    // harmless too: its acknowledgements repeat, and the SETs of a lost answer stay unacknowledged;
    // an introspection (RFC 7662) asked twice changes nothing at the server.
    if (signal.aborted) throw new SourceError('network', `request to ${url} failed: ${(first as Error)?.message ?? 'error'}`);
    try {
      response = await options.fetch(url, init);
    } catch (cause) {
      throw new SourceError('network', `request to ${url} failed: ${(cause as Error)?.message ?? 'error'}`);
    }
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel().catch(() => undefined);
    throw new SourceError('redirect', `${url} answered a redirect, which is not followed`);
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new SourceError('http_status', `${url} answered HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length'));
  if (declared > options.maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new SourceError('too_large', `${url} declared ${declared} bytes, over the ${options.maxBytes} byte cap`);
  }
  const text = await readCapped(response, options.maxBytes, url);
  const mediaType = (response.headers.get('content-type') ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return { text, mediaType };
}

async function readCapped(response: Response, maxBytes: number, url: string): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new SourceError('too_large', `${url} sent more than the ${maxBytes} byte cap`);
      }
      chunks.push(value);
    }
  } catch (cause) {
    if (cause instanceof SourceError) throw cause;
    throw new SourceError('network', `reading ${url} failed: ${(cause as Error)?.message ?? 'error'}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}
