/**
 * RFC 9449 §4.3 check 9: the proof's `htu` is the request's URI without query and fragment. Both
 * sides are compared in one normal form, close to RFC 3986 §6.2.2 syntax-based and §6.2.3
 * scheme-based normalization: what WHATWG URL parsing does (scheme and host in lower case, the
 * default port dropped, dot segments removed; it also reads `\` as `/` and rewrites numeric IPv4
 * hosts, for both sides alike), then percent-encoded unreserved characters decoded and the other
 * escapes in upper case. The request's side is built from its origin, which must be one (a Host
 * header is the client's to write), and its origin-form target.
 */

// Longer than any real request URI; a proof is refused before its htu is parsed.
const MAX_HTU_LENGTH = 4096;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** The normal form of an absolute http(s) URI without query and fragment, or undefined when `value` is none. */
export function normalizeHtu(value: string): string | undefined {
  if (value.length > MAX_HTU_LENGTH) return undefined;
  let url: URL;
  try {
    // WHATWG URL parsing lowercases scheme and host, drops the default port and removes dot segments.
    url = new URL(value);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '') return undefined;
  return `${url.origin}${normalizeEscapes(url.pathname)}`;
}

/**
 * The htu a proof for this request must carry: the public origin and the request's path (the
 * query goes with parsing); undefined when the origin is not one or the target not origin-form.
 */
export function requestHtu(origin: string, target: string): string | undefined {
  if (originOf(origin) === undefined || !target.startsWith('/')) return undefined;
  return normalizeHtu(`${origin}${target}`);
}

// scheme://host[:port], nothing after it: a Host like `api.example.com#` or `a/b?` is no host.
const ORIGIN = /^https?:\/\/[^/?#\\@\s]+$/i;

/**
 * `value` as an origin in normal form (`https://api.example.com` from `HTTPS://API.example.com/`),
 * or undefined when it holds a path, query, fragment or credentials, or is no http(s) URL at all.
 */
export function originOf(value: string): string | undefined {
  const bare = value.endsWith('/') ? value.slice(0, -1) : value;
  if (!ORIGIN.test(bare)) return undefined;
  try {
    return new URL(bare).origin;
  } catch {
    return undefined;
  }
}

// RFC 3986 §6.2.2.1-2: %7E and ~ are the same URI; %2f and %2F too, but not / and %2F.
function normalizeEscapes(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(/%[0-9A-Fa-f]{2}/g, (escape) => {
    const char = String.fromCharCode(Number.parseInt(escape.slice(1), 16));
    return UNRESERVED.test(char) ? char : escape.toUpperCase();
  });
}
