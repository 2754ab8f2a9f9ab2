import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerifier, pollRevocations, RevocationList, type RevocationFeed, type RevocationFeedEvent } from '@tokenward/core';
import { makeKey } from '../../../test/support/keys';
import { startJwksServer } from '../../../test/support/jwks-server';
import { mint, now } from '../../../test/support/tokens';
import { cacheToken } from '../../../test/support/observe';

/** A feed server on 127.0.0.1: `answer` decides each response; every request URL is recorded. */
interface FeedServer {
  url: string;
  requests: URL[];
  answer: (url: URL, res: ServerResponse) => void;
  close(): Promise<void>;
}

async function startFeedServer(answer: FeedServer['answer']): Promise<FeedServer> {
  const feed: FeedServer = { url: '', requests: [], answer, close: async () => undefined };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', feed.url);
    feed.requests.push(url);
    feed.answer(url, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  feed.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/revocations`;
  feed.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return feed;
}

const json = (res: ServerResponse, body: unknown, status = 200) => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

/** Entries numbered 1..n; `since` is the last number seen; pages of `pageSize`. */
function pagedFeed(entries: unknown[], pageSize: number, feedId = 'feed-1'): FeedServer['answer'] {
  return (url, res) => {
    const since = Number(url.searchParams.get('since') ?? 0);
    const page = entries.slice(since, since + pageSize);
    json(res, { feed: feedId, cursor: String(since + page.length), has_more: since + page.length < entries.length, revocations: page });
  };
}

const claims = (extra: Record<string, unknown>) => ({ iss: 'https://as', exp: now() + 300, iat: now() - 10, ...extra });

let feeds: FeedServer[] = [];
let pollers: RevocationFeed[] = [];
async function feedServer(answer: FeedServer['answer']): Promise<FeedServer> {
  const feed = await startFeedServer(answer);
  feeds.push(feed);
  return feed;
}
function poller(options: Parameters<typeof pollRevocations>[0]): RevocationFeed {
  const started = pollRevocations(options);
  pollers.push(started);
  return started;
}
afterEach(async () => {
  for (const p of pollers) p.stop();
  await Promise.all(feeds.map((f) => f.close()));
  feeds = [];
  pollers = [];
});

describe('applying the feed', () => {
  test('token, subject, client and session entries reach the list', async () => {
    const list = new RevocationList();
    const feed = await feedServer(
      pagedFeed(
        [
          { type: 'token', jti: 'leaked', exp: now() + 300 },
          { type: 'subject', sub: 'user-42', before: now() },
          { type: 'client', client_id: 'job', before: now() },
          { type: 'session', sid: 'session-1', before: now() },
        ],
        100,
      ),
    );
    const events: RevocationFeedEvent[] = [];
    const started = poller({ url: feed.url, list, onEvent: (e) => events.push(e) });
    await expect(started.ready).resolves.toBe(true);
    expect(list.isRevoked(claims({ jti: 'leaked' }))).toBe(true);
    expect(list.isRevoked(claims({ jti: 'other', sub: 'user-42' }))).toBe(true);
    expect(list.isRevoked(claims({ jti: 'other', sub: 'user-7', client_id: 'job' }))).toBe(true);
    expect(list.isRevoked(claims({ jti: 'other', sub: 'user-7', client_id: 'web' }))).toBe(false);
    // A session entry matches tokens carrying that sid, and only them.
    expect(list.isRevoked(claims({ jti: 'other', sub: 'user-7', sid: 'session-1' }))).toBe(true);
    expect(list.isRevoked(claims({ jti: 'other', sub: 'user-7', sid: 'session-2' }))).toBe(false);
    // Logging out revokes what was issued up to then, not what the user gets afterwards.
    expect(list.isRevoked(claims({ jti: 'later', sub: 'user-42', iat: now() + 2 }))).toBe(false);
    expect(events).toContainEqual({ type: 'revocations_applied', url: feed.url, applied: 4, cursor: '4' });
  });

  test('with `issuer`, subject, client and session entries only match tokens of that issuer', async () => {
    const list = new RevocationList();
    const feed = await feedServer(pagedFeed([{ type: 'subject', sub: 'user-42', before: now() }, { type: 'session', sid: 's-1', before: now() }], 100));
    await poller({ url: feed.url, list, issuer: 'https://as' }).ready;
    expect(list.isRevoked(claims({ sub: 'user-42' }))).toBe(true);
    expect(list.isRevoked(claims({ sub: 'user-42', iss: 'https://other-as' }))).toBe(false);
    expect(list.isRevoked(claims({ sub: 'user-7', sid: 's-1' }))).toBe(true);
    expect(list.isRevoked(claims({ sub: 'user-7', sid: 's-1', iss: 'https://other-as' }))).toBe(false);
  });

  test('an entry’s own iss scopes it; a poller scoped to one issuer refuses entries naming another; an empty iss is invalid', async () => {
    const list = new RevocationList();
    const entries = [
      { type: 'client', client_id: 'job', before: now(), iss: 'https://other-as' },
      { type: 'subject', sub: 'user-9', before: now(), iss: '' },
      { type: 'session', sid: 's-2', before: now(), iss: 'https://as' },
    ];
    const events: RevocationFeedEvent[] = [];
    await poller({ url: (await feedServer(pagedFeed(entries, 100))).url, list, issuer: 'https://as', onEvent: (e) => events.push(e) }).ready;
    expect(list.isRevoked(claims({ client_id: 'job', iss: 'https://other-as' }))).toBe(false);
    expect(list.isRevoked(claims({ sub: 'user-9' }))).toBe(false);
    expect(list.isRevoked(claims({ sid: 's-2' }))).toBe(true);
    expect(events.filter((e) => e.type === 'revocation_ignored').map((e) => (e as { reason: string }).reason)).toEqual(['entry_invalid', 'entry_invalid']);
    // Unscoped, the entry's iss is the scope.
    const open = new RevocationList();
    await poller({ url: (await feedServer(pagedFeed(entries, 100))).url, list: open }).ready;
    expect(open.isRevoked(claims({ client_id: 'job', iss: 'https://other-as' }))).toBe(true);
    expect(open.isRevoked(claims({ client_id: 'job' }))).toBe(false);
  });

  test('invalid and unknown entries are skipped and reported; the valid ones still apply', async () => {
    const list = new RevocationList();
    const feed = await feedServer(
      pagedFeed(
        [
          { type: 'token', jti: '', exp: now() + 300 },
          { type: 'token', jti: 'no-exp' },
          { type: 'subject', sub: 42, before: now() },
          { type: 'session', sid: 'abc' },
          { type: 'device', id: 'abc', before: now() },
          null,
          { type: 'token', jti: 'good', exp: now() + 300 },
        ],
        100,
      ),
    );
    const events: RevocationFeedEvent[] = [];
    await poller({ url: feed.url, list, onEvent: (e) => events.push(e) }).ready;
    expect(list.isRevoked(claims({ jti: 'good' }))).toBe(true);
    const ignored = events.filter((e) => e.type === 'revocation_ignored').map((e) => (e as { reason: string }).reason);
    expect(ignored).toEqual(['entry_invalid', 'entry_invalid', 'entry_invalid', 'entry_invalid', 'type_unknown', 'entry_invalid']);
    expect(events).toContainEqual(expect.objectContaining({ type: 'revocations_applied', applied: 1 }));
  });
});

describe('the cursor', () => {
  test('the first request has no `since`; later ones send back the last cursor', async () => {
    const entries = [{ type: 'token', jti: 'a', exp: now() + 300 }];
    const list = new RevocationList();
    const feed = await feedServer(pagedFeed(entries, 100));
    const started = poller({ url: feed.url, list, interval: 60_000 });
    await started.ready;
    entries.push({ type: 'token', jti: 'b', exp: now() + 300 });
    await expect(started.poll()).resolves.toBe(true);
    expect(feed.requests.map((u) => u.searchParams.get('since'))).toEqual([null, '1']);
    expect(started.cursor).toBe('2');
    expect(list.isRevoked(claims({ jti: 'b' }))).toBe(true);
  });

  test('a query string in the feed URL is kept', async () => {
    const feed = await feedServer(pagedFeed([{ type: 'token', jti: 'a', exp: now() + 300 }], 100));
    const started = poller({ url: `${feed.url}?tenant=acme`, list: new RevocationList(), interval: 60_000 });
    await started.ready;
    await started.poll();
    expect(feed.requests[1]?.searchParams.get('tenant')).toBe('acme');
    expect(feed.requests[1]?.searchParams.get('since')).toBe('1');
  });

  test('has_more pages are fetched in the same poll, at most `maxPages` of them', async () => {
    const entries = Array.from({ length: 10 }, (_, i) => ({ type: 'token', jti: `t${i}`, exp: now() + 300 }));
    const list = new RevocationList();
    const feed = await feedServer(pagedFeed(entries, 2));
    const started = poller({ url: feed.url, list, maxPages: 3, interval: 60_000 });
    await started.ready;
    expect(feed.requests).toHaveLength(3);
    expect(list.isRevoked(claims({ jti: 't5' }))).toBe(true);
    expect(list.isRevoked(claims({ jti: 't6' }))).toBe(false);
    await started.poll();
    expect(list.isRevoked(claims({ jti: 't9' }))).toBe(true);
  });

  test('has_more with a cursor that does not move ends the poll instead of looping', async () => {
    const feed = await feedServer((_url, res) => json(res, { cursor: '7', has_more: true, revocations: [] }));
    const started = poller({ url: feed.url, list: new RevocationList(), maxPages: 50, interval: 60_000 });
    await expect(started.ready).resolves.toBe(true);
    // The first page moved the cursor from nothing to 7; the second did not move it.
    expect(feed.requests).toHaveLength(2);
  });

  test('a new feed id (the server was reset) starts again from the beginning', async () => {
    let feedId = 'feed-1';
    let entries: unknown[] = [1, 2, 3].map((i) => ({ type: 'token', jti: `old-${i}`, exp: now() + 300 }));
    const list = new RevocationList();
    const feed = await feedServer((url, res) => pagedFeed(entries, 100, feedId)(url, res));
    const started = poller({ url: feed.url, list, interval: 60_000 });
    await started.ready;
    feedId = 'feed-2';
    entries = [{ type: 'token', jti: 'new-1', exp: now() + 300 }];
    await started.poll();
    expect(feed.requests.map((u) => u.searchParams.get('since'))).toEqual([null, '3', null]);
    expect(list.isRevoked(claims({ jti: 'new-1' }))).toBe(true);
    expect(started.cursor).toBe('1');
  });
});

describe('failures never reach the application', () => {
  test.each([
    ['an HTTP error', 'http_status', (res: ServerResponse) => res.writeHead(500).end('down')],
    ['HTML', 'not_json', (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>')],
    ['a body over the cap', 'too_large', (res: ServerResponse) => json(res, { revocations: [], pad: 'x'.repeat(5000) })],
    ['a redirect', 'redirect', (res: ServerResponse) => res.writeHead(302, { location: '/elsewhere' }).end()],
    ['JSON of the wrong shape', 'feed_invalid', (res: ServerResponse) => json(res, { entries: [] })],
    ['an invalid cursor', 'feed_invalid', (res: ServerResponse) => json(res, { cursor: { at: 1 }, revocations: [] })],
  ] as const)('%s is reported as %s and the list keeps its entries', async (_name, failure, answer) => {
    const list = new RevocationList();
    list.revoke({ jti: 'kept', expiresAt: now() + 300 });
    const feed = await feedServer((_url, res) => answer(res));
    const events: RevocationFeedEvent[] = [];
    const started = poller({ url: feed.url, list, maxBytes: 1000, interval: 60_000, onEvent: (e) => events.push(e) });
    await expect(started.poll()).resolves.toBe(false);
    expect(events[0]).toEqual(expect.objectContaining({ type: 'revocations_poll_failed', failure, consecutiveFailures: 1, lastSuccessAt: undefined }));
    expect(list.isRevoked(claims({ jti: 'kept' }))).toBe(true);
  });

  test('a feed that does not answer in time is abandoned at the timeout', async () => {
    const feed = await feedServer(() => undefined);
    const events: RevocationFeedEvent[] = [];
    const started = poller({ url: feed.url, list: new RevocationList(), timeout: 200, interval: 60_000, onEvent: (e) => events.push(e) });
    const startedAt = Date.now();
    await expect(started.poll()).resolves.toBe(false);
    expect(Date.now() - startedAt).toBeLessThan(2000);
    expect(events[0]).toEqual(expect.objectContaining({ failure: 'timeout' }));
  });

  test('a feed that is down is retried every interval, and catches up once it is back', async () => {
    let up = false;
    const list = new RevocationList();
    const feed = await feedServer((url, res) => (up ? pagedFeed([{ type: 'token', jti: 'late', exp: now() + 300 }], 100)(url, res) : res.writeHead(503).end()));
    const events: RevocationFeedEvent[] = [];
    const started = poller({ url: feed.url, list, interval: 50, onEvent: (e) => events.push(e) });
    await waitFor(() => events.filter((e) => e.type === 'revocations_poll_failed').length >= 2);
    up = true;
    await expect(started.ready).resolves.toBe(true);
    expect(list.isRevoked(claims({ jti: 'late' }))).toBe(true);
    const failures = events.filter((e) => e.type === 'revocations_poll_failed');
    expect(failures.map((e) => (e as { consecutiveFailures: number }).consecutiveFailures).slice(0, 2)).toEqual([1, 2]);
  });

  test('a listener that throws does not stop the poller', async () => {
    const list = new RevocationList();
    const feed = await feedServer(pagedFeed([{ type: 'token', jti: 'a', exp: now() + 300 }], 100));
    const started = poller({
      url: feed.url,
      list,
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    await expect(started.ready).resolves.toBe(true);
    expect(list.isRevoked(claims({ jti: 'a' }))).toBe(true);
  });
});

describe('configuration mistakes are thrown at startup', () => {
  test('a non-https URL to another host is refused', () => {
    expect(() => pollRevocations({ url: 'http://auth.example.com/revocations', list: new RevocationList() })).toThrow(/non-https/);
  });

  test('a missing list or a non-positive interval is refused', () => {
    expect(() => pollRevocations({ url: 'http://127.0.0.1:1/r', list: undefined as unknown as RevocationList })).toThrow(TypeError);
    expect(() => pollRevocations({ url: 'http://127.0.0.1:1/r', list: new RevocationList(), interval: 0 })).toThrow(/interval/);
  });
});

describe('stopping', () => {
  test('stop() ends polling: no request after it, and ready resolves false if never caught up', async () => {
    const feed = await feedServer((_url, res) => res.writeHead(500).end());
    const started = poller({ url: feed.url, list: new RevocationList(), interval: 30 });
    await waitFor(() => feed.requests.length >= 2);
    started.stop();
    const seen = feed.requests.length;
    await sleep(150);
    expect(feed.requests.length).toBe(seen);
    await expect(started.ready).resolves.toBe(false);
    await expect(started.poll()).resolves.toBe(false);
  });

  test('stop() aborts a request under way, whose answer is then not applied', async () => {
    const list = new RevocationList();
    let respond: (() => void) | undefined;
    const feed = await feedServer((url, res) => {
      respond = () => pagedFeed([{ type: 'token', jti: 'late', exp: now() + 300 }], 100)(url, res);
    });
    const started = poller({ url: feed.url, list });
    await waitFor(() => respond !== undefined);
    started.stop();
    respond?.();
    await expect(started.ready).resolves.toBe(false);
    expect(list.isRevoked(claims({ jti: 'late' }))).toBe(false);
  });

  test('an aborted signal stops the poller', async () => {
    const feed = await feedServer(pagedFeed([], 100));
    const controller = new AbortController();
    const started = poller({ url: feed.url, list: new RevocationList(), interval: 30, signal: controller.signal });
    await started.ready;
    controller.abort();
    const seen = feed.requests.length;
    await sleep(120);
    expect(feed.requests.length).toBe(seen);
  });
});

describe('with a verifier', () => {
  test('a token revoked on the feed is refused within one poll interval, cache hits included', async () => {
    const key = makeKey('ES256', 'k1');
    const jwks = await startJwksServer([key.jwk]);
    try {
      const revocations: unknown[] = [];
      const feed = await feedServer(pagedFeed(revocations, 100));
      const list = new RevocationList();
      const verifier = createVerifier({ issuer: jwks.issuer, audience: 'api', revocation: list });
      const token = mint(key, { issuer: jwks.issuer, audience: 'api' }, { claims: { jti: 'to-revoke' } });
      await poller({ url: feed.url, list, interval: 50 }).ready;
      await cacheToken(verifier, token); // now in the verified-token cache

      revocations.push({ type: 'token', jti: 'to-revoke', exp: now() + 300 });
      await waitFor(() => list.isRevoked(claims({ jti: 'to-revoke' })));
      await expect(verifier.verify(token)).rejects.toMatchObject({ reason: 'token_revoked', status: 401 });
    } finally {
      await jwks.close();
    }
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(condition: () => boolean, timeout = 5000): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}
