/** Small HTTP helpers for node:http: bounded form bodies, JSON answers, OAuth error answers. */

// Token and revocation requests are a few hundred bytes; anything this large is not one.
const MAX_BODY_BYTES = 16 * 1024;

export class HttpError extends Error {
  /**
   * An OAuth 2.0 error answer (RFC 6749 §5.2): `error` is the code, the message its description.
   * @param {number} status
   * @param {string} error
   * @param {string} description
   * @param {Record<string, string>} [headers]
   */
  constructor(status, error, description, headers = {}) {
    super(description);
    this.status = status;
    this.error = error;
    this.headers = headers;
  }
}

/**
 * An application/x-www-form-urlencoded body as a Map. RFC 6749 §3.1: a parameter sent twice is
 * an invalid request, and parameters sent without a value are treated as omitted.
 * @param {import('node:http').IncomingMessage} req
 * @returns {Promise<Map<string, string>>}
 */
export async function readForm(req) {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new HttpError(400, 'invalid_request', 'the body must be application/x-www-form-urlencoded');
  }
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'invalid_request', 'request body too large');
    chunks.push(chunk);
  }
  return parseParams(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

/** @param {URLSearchParams} params */
export function parseParams(params) {
  /** @type {Map<string, string>} */
  const form = new Map();
  for (const [name, value] of params) {
    if (form.has(name)) throw new HttpError(400, 'invalid_request', `parameter ${name} repeated`);
    if (value !== '') form.set(name, value);
  }
  return form;
}

/**
 * @param {import('node:http').ServerResponse} res
 * @param {number} status
 * @param {unknown} body
 * @param {Record<string, string>} [headers]
 */
export function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Answers an OAuth error; token and revocation answers must never be cached (RFC 6749 §5.1).
 * @param {import('node:http').ServerResponse} res
 * @param {HttpError} error
 */
export function sendError(res, error) {
  sendJson(res, error.status, { error: error.error, error_description: error.message }, { 'cache-control': 'no-store', pragma: 'no-cache', ...error.headers });
}

/** @param {string} text */
export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
