/**
 * The HTTP shape every event receiver shares (Back-Channel Logout, RFC 8935 push): a request
 * in, an answer out, so that each adapter mounts any receiver with one route and no rule of its
 * own. The body is capped before it is read as anything: `maxBytes` is for the adapter's body
 * reader, and checked again here.
 */
import type { IncomingMessage } from 'node:http';

export interface ReceiverRequest {
  readonly method: string;
  readonly contentType: string | undefined;
  /** The raw body, or what the framework's own parser already made of it (a form as an object). */
  readonly body: string | Buffer | Readonly<Record<string, unknown>> | undefined;
}

export interface ReceiverResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** JSON text, or undefined for an empty body. */
  readonly body: string | undefined;
}

export interface EventReceiver {
  /** The media type the body arrives in (for the adapters' body parsers). */
  readonly mediaType: string;
  /** The largest body read, in bytes. */
  readonly maxBytes: number;
  handle(request: ReceiverRequest): Promise<ReceiverResponse>;
}

// An event token is a few hundred bytes to a few KiB; 64 KiB leaves room for large subjects.
export const MAX_EVENT_BYTES = 64 * 1024;

/** The media type of a Content-Type value, lower case, without parameters. */
export function mediaTypeOf(contentType: string | undefined): string | undefined {
  return contentType?.split(';', 1)[0]?.trim().toLowerCase();
}

/** The body as text when it is raw and within the cap; undefined when it is not raw; 'too_large' otherwise. */
export function rawText(body: ReceiverRequest['body'], maxBytes: number): string | undefined | 'too_large' {
  if (typeof body === 'string') return Buffer.byteLength(body) > maxBytes ? 'too_large' : body;
  if (Buffer.isBuffer(body)) return body.length > maxBytes ? 'too_large' : body.toString('utf8');
  return undefined;
}

export function answer(status: number, headers: Record<string, string>, body?: unknown): ReceiverResponse {
  return {
    status,
    headers: { 'Cache-Control': 'no-store', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  };
}

/**
 * A Node request's body, read up to `maxBytes` + 1 bytes (enough to know it is too large, which
 * the receiver then refuses): for adapters whose framework has not read it. A declared length
 * over the cap is refused without reading anything.
 */
export function readBody(raw: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(raw.headers['content-length']);
  if (declared > maxBytes) {
    raw.resume();
    return Promise.resolve(Buffer.alloc(maxBytes + 1));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > maxBytes) {
        // Enough to refuse; the rest is discarded as it comes.
        raw.off('data', onData);
        raw.resume();
        resolve(Buffer.concat(chunks).subarray(0, maxBytes + 1));
      }
    };
    raw.on('data', onData);
    raw.once('end', () => resolve(Buffer.concat(chunks)));
    raw.once('error', reject);
  });
}
