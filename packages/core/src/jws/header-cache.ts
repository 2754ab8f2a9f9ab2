/**
 * Protected headers that passed `parseHeader`, kept by their exact base64url segment. The tokens
 * of one issuer carry a handful of distinct headers (one per kid, alg and typ), so nearly every
 * token skips the header's decode, JSON parse and policy checks (docs/performance.md).
 *
 * Safe to share because the answer depends on nothing but the segment and the verifier's header
 * policy (one cache per verifier): the same bytes always decode to the same header. Only flat
 * headers are kept (every value a string, number or boolean), so that tokens sharing one have
 * nothing mutable in common once it is frozen. Headers are vetted before any signature check, so
 * anyone can fill the cache: it holds at most MAX_HEADERS, least recently used out first, each at
 * most MAX_SEGMENT characters (a real header is under 200). A flood of made-up headers costs the
 * real ones a parse each, and the cache under a MiB with the default maxTokenBytes (every key is
 * a slice of its token and may keep that token alive).
 */
import { LRUCache } from 'lru-cache';
import { parseHeader, type HeaderPolicy, type ProtectedHeader } from './compact.js';

const MAX_HEADERS = 64;
const MAX_SEGMENT = 1024;

export class HeaderCache {
  private readonly headers = new LRUCache<string, ProtectedHeader>({ max: MAX_HEADERS });

  constructor(private readonly policy: HeaderPolicy) {}

  /** `parseHeader(segment, policy)`, answered from the cache when the segment was seen before. */
  parse(segment: string): ProtectedHeader {
    const known = this.headers.get(segment);
    if (known !== undefined) return known;
    const header = parseHeader(segment, this.policy);
    if (segment.length <= MAX_SEGMENT && isFlat(header)) this.headers.set(segment, Object.freeze(header));
    return header;
  }

  clear(): void {
    this.headers.clear();
  }
}

function isFlat(header: ProtectedHeader): boolean {
  for (const value of Object.values(header)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return false;
  }
  return true;
}
