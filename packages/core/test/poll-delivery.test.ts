/**
 * Shared Signals poll delivery (signals/poll-delivery.ts, RFC 8936): SETs fetched from a real poll
 * endpoint on 127.0.0.1, which keeps every SET until it is acknowledged or refused and so delivers
 * the others again, and records each request. SETs are signed with jose under an RS256 key a JWKS
 * server publishes; the SET rules themselves are security-events.test.ts's.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerifier, pollSecurityEvents, SECURITY_EVENT_TYPES, type SecurityEventPoller, type SecurityEventPollEvent, type SecurityEventPollOptions, type SignalEvent, type VerifierOptions } from '@tokenward/core';
import { figure } from '../../../test/support/figures';
import { serveOneKey, startJwksServer } from '../../../test/support/jwks-server';
import { rejection } from '../../../test/support/observe';
import { signSecurityEvent } from '../../../test/support/security-events';
import { mint, now } from '../../../test/support/tokens';

const audience = 'https://api.example.com';
const receiverAudience = 'https://api.example.com/ssf';
const idp = serveOneKey('ES256', 'idp-1');
const transmitter = serveOneKey('RS256', 'tr-1');

interface PollRequest {
  body: { ack?: string[]; setErrs?: Record<string, { err: string; description: string }>; maxEvents?: number; returnImmediately?: boolean };
  headers: IncomingHttpHeaders;
  at: number;
}

/** An RFC 8936 poll endpoint: `deliver` queues a SET, kept (and sent again) until acknowledged or refused. */
interface PollEndpoint {
  url: string;
  requests: PollRequest[];
  queue: Map<string, unknown>;
  acknowledged: string[];
  refused: Record<string, { err: string; description: string }>;
  mode: 'ok' | 'error' | 'hang' | 'null' | 'not_object' | 'sets_array' | 'more_text';
  /** Milliseconds an answer is held back (mode 'ok'). */
  delay: number;
  /** Requests whose connection the poller closed before the answer. */
  abandoned: number;
  /** Answer with every queued SET, whatever maxEvents says. */
  ignoreMaxEvents: boolean;
  /** Say moreAvailable whatever is left. */
  alwaysMore: boolean;
  /** When set, a request without this Authorization is answered 401. */
  authorization: string | undefined;
  deliver(jti: string, set: unknown): void;
  close(): Promise<void>;
}

async function startPollEndpoint(): Promise<PollEndpoint> {
  const hanging = new Set<ServerResponse>();
  const endpoint: PollEndpoint = {
    url: '',
    requests: [],
    queue: new Map(),
    acknowledged: [],
    refused: {},
    mode: 'ok',
    delay: 0,
    abandoned: 0,
    ignoreMaxEvents: false,
    alwaysMore: false,
    authorization: undefined,
    deliver: (jti, set) => endpoint.queue.set(jti, set),
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as PollRequest['body'];
      endpoint.requests.push({ body, headers: req.headers, at: Date.now() });
      if (endpoint.authorization !== undefined && req.headers.authorization !== endpoint.authorization) {
        res.writeHead(401, { 'www-authenticate': 'Bearer' }).end();
        return;
      }
      const reply = (answer: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      switch (endpoint.mode) {
        case 'error':
          res.writeHead(500).end();
          return;
        case 'hang':
          hanging.add(res);
          res.on('close', () => {
            if (!res.writableEnded) endpoint.abandoned++;
          });
          return;
        case 'null':
          return reply(null);
        case 'not_object':
          return reply([]);
        case 'sets_array':
          return reply({ sets: [] });
        case 'more_text':
          return reply({ sets: {}, moreAvailable: 'yes' });
      }
      for (const jti of body.ack ?? []) {
        endpoint.queue.delete(jti);
        endpoint.acknowledged.push(jti);
      }
      for (const [jti, error] of Object.entries(body.setErrs ?? {})) {
        endpoint.queue.delete(jti);
        endpoint.refused[jti] = error;
      }
      const queued = [...endpoint.queue];
      const taken = endpoint.ignoreMaxEvents ? queued : queued.slice(0, body.maxEvents ?? queued.length);
      const answer = { sets: Object.fromEntries(taken), moreAvailable: endpoint.alwaysMore || taken.length < queued.length };
      if (endpoint.delay === 0) reply(answer);
      else setTimeout(() => reply(answer), endpoint.delay);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ssf/poll`;
  endpoint.close = async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return endpoint;
}

let endpoints: PollEndpoint[] = [];
let pollers: SecurityEventPoller[] = [];
afterEach(async () => {
  for (const poller of pollers) poller.stop();
  await Promise.all(endpoints.map((endpoint) => endpoint.close()));
  endpoints = [];
  pollers = [];
});

async function pollEndpoint(): Promise<PollEndpoint> {
  const endpoint = await startPollEndpoint();
  endpoints.push(endpoint);
  return endpoint;
}

function start(endpoint: PollEndpoint, options: Partial<SecurityEventPollOptions> = {}, verifierOptions: Partial<VerifierOptions> = {}) {
  const verifier = createVerifier({ issuer: idp.server.issuer, audience, jwksUri: idp.server.jwksUri, tokenCache: false, ...verifierOptions });
  const events: Array<SignalEvent | SecurityEventPollEvent> = [];
  const poller = pollSecurityEvents({
    verifier,
    transmitter: { issuer: transmitter.server.issuer, jwksUri: transmitter.server.jwksUri },
    audience: receiverAudience,
    endpoint: endpoint.url,
    // Long enough that a test sees a second poll only when it asks for one (or when one comes at once).
    interval: 60_000,
    onEvent: (event) => events.push(event),
    ...options,
  });
  pollers.push(poller);
  return { verifier, poller, events };
}

let counter = 0;
/** A CAEP credential-change SET revoking `sub`; returns its jti and the SET. */
async function revoking(sub: string, claims: Record<string, unknown> = {}): Promise<[string, string]> {
  const jti = `set-${++counter}`;
  const set = await signSecurityEvent(transmitter.key, {
    iss: transmitter.server.issuer,
    aud: receiverAudience,
    iat: now(),
    jti,
    sub_id: { format: 'iss_sub', iss: idp.server.issuer, sub },
    events: { [SECURITY_EVENT_TYPES.credentialChange]: { credential_type: 'password', change_type: 'revoke' } },
    ...claims,
  });
  return [jti, set];
}

const accessToken = (sub: string) => mint(idp.key, { issuer: idp.server.issuer, audience }, { claims: { sub, iat: now() - 5 } });

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const ofType = <T extends (SignalEvent | SecurityEventPollEvent)['type']>(events: Array<SignalEvent | SecurityEventPollEvent>, type: T) =>
  events.filter((event): event is Extract<SignalEvent | SecurityEventPollEvent, { type: T }> => event.type === type);

describe('SETs from the poll endpoint are applied by the push rules and acknowledged on the next request (RFC 8936 §2.4)', () => {
  test('a SET revokes at the first poll; its jti is in the ack of the next request, and the endpoint drops it', async () => {
    const endpoint = await pollEndpoint();
    const [jti, set] = await revoking('user-42');
    endpoint.deliver(jti, set);
    const { verifier, poller, events } = start(endpoint);

    await expect(poller.ready).resolves.toBe(true);
    expect((await rejection(verifier.verify(accessToken('user-42')))).reason).toBe('token_revoked');
    await expect(verifier.verify(accessToken('user-7'))).resolves.toBeDefined();
    const [first] = endpoint.requests;
    expect(first?.body).toEqual({ ack: [], setErrs: {}, maxEvents: 100, returnImmediately: true });
    expect(first?.headers).toMatchObject({ 'content-type': 'application/json', accept: 'application/json' });
    expect(first?.headers['content-language']).toBeUndefined();

    await expect(poller.poll()).resolves.toBe(true);
    expect(endpoint.requests[1]?.body).toMatchObject({ ack: [jti], setErrs: {} });
    expect(endpoint.queue.size).toBe(0);
    expect(ofType(events, 'security_events_polled').map(({ received, acknowledged, refused }) => [received, acknowledged, refused])).toEqual([
      [1, 0, 0],
      [0, 1, 0],
    ]);
    expect(ofType(events, 'security_event_received')).toEqual([{ type: 'security_event_received', issuer: transmitter.server.issuer, jti, eventType: SECURITY_EVENT_TYPES.credentialChange, action: 'revoked_subject' }]);
  });

  test('a refused SET goes back in setErrs with its RFC 8935 code and description, with Content-Language', async () => {
    const endpoint = await pollEndpoint();
    const [good, goodSet] = await revoking('user-42');
    const [bad, badSet] = await revoking('user-7', { aud: 'https://elsewhere.example' });
    endpoint.deliver(good, goodSet);
    endpoint.deliver(bad, badSet);
    endpoint.deliver('not-a-set', 42);
    const { verifier, poller } = start(endpoint);
    await expect(poller.ready).resolves.toBe(true);
    await poller.poll();

    const second = endpoint.requests[1] as PollRequest;
    expect(second.body.ack).toEqual([good]);
    expect(second.body.setErrs).toEqual({
      [bad]: { err: 'invalid_audience', description: 'The event token audience is not this receiver' },
      'not-a-set': { err: 'invalid_request', description: expect.stringMatching(/compact JWT/) },
    });
    expect(second.headers['content-language']).toBe('en');
    expect(endpoint.refused).toEqual(second.body.setErrs);
    await expect(verifier.verify(accessToken('user-7'))).resolves.toBeDefined();
  });

  test('a SET delivered again is acknowledged again and changes nothing (§2.4)', async () => {
    const endpoint = await pollEndpoint();
    const [jti, set] = await revoking('user-42');
    endpoint.deliver(jti, set);
    const { poller, events } = start(endpoint);
    await poller.ready;
    await poller.poll();
    endpoint.deliver(jti, set);
    await poller.poll();
    await poller.poll();
    expect(endpoint.requests.map((request) => request.body.ack)).toEqual([[], [jti], [], [jti]]);
    expect(ofType(events, 'security_event_received').map((event) => event.action)).toEqual(['revoked_subject', 'repeated']);
  });

  test('a SET whose keys cannot be had is neither acknowledged nor refused, and is applied when delivered again', async () => {
    const keys = await startJwksServer([transmitter.key.jwk]);
    try {
      keys.setMode('error');
      const endpoint = await pollEndpoint();
      const [jti, set] = await revoking('user-42');
      endpoint.deliver(jti, set);
      let ready = false;
      const { verifier, poller, events } = start(endpoint, { transmitter: { issuer: transmitter.server.issuer, jwksUri: keys.jwksUri } }, { jwks: { cooldown: 0 } });
      void poller.ready.then((caughtUp) => (ready = caughtUp));
      await until(() => ofType(events, 'security_events_polled').length === 1);
      expect(ofType(events, 'signal_rejected')[0]).toMatchObject({ failure: 'invalid_key' });
      await poller.poll();
      expect(endpoint.requests[1]?.body).toMatchObject({ ack: [], setErrs: {} });
      expect(ready).toBe(false);

      keys.setMode('ok');
      await poller.poll();
      expect((await rejection(verifier.verify(accessToken('user-42')))).reason).toBe('token_revoked');
      await expect(poller.ready).resolves.toBe(true);
      await poller.poll();
      expect(endpoint.requests[3]?.body.ack).toEqual([jti]);
    } finally {
      await keys.close();
    }
  });

  test('outcomes of a request that failed are sent again with the next one', async () => {
    const endpoint = await pollEndpoint();
    const [jti, set] = await revoking('user-42');
    endpoint.deliver(jti, set);
    const { poller } = start(endpoint);
    await poller.ready;
    endpoint.mode = 'error';
    await expect(poller.poll()).resolves.toBe(false);
    endpoint.mode = 'ok';
    await expect(poller.poll()).resolves.toBe(true);
    expect(endpoint.requests.map((request) => request.body.ack)).toEqual([[], [jti], [jti]]);
  });
});

describe('moreAvailable (RFC 8936 §2.3) and maxEvents', () => {
  test('the endpoint is polled again at once while it has more, maxEvents at a time', async () => {
    const endpoint = await pollEndpoint();
    const sent = await Promise.all(['u1', 'u2', 'u3', 'u4', 'u5'].map((sub) => revoking(sub)));
    for (const [jti, set] of sent) endpoint.deliver(jti, set);
    const { verifier, poller } = start(endpoint, { maxEvents: 2 });

    // The interval is a minute: only polling at once gets through the three pages in time.
    await expect(poller.ready).resolves.toBe(true);
    expect(endpoint.requests.map((request) => request.body.maxEvents)).toEqual([2, 2, 2]);
    expect(endpoint.requests.map((request) => request.body.ack)).toEqual([[], [sent[0]?.[0], sent[1]?.[0]], [sent[2]?.[0], sent[3]?.[0]]]);
    for (const sub of ['u1', 'u2', 'u3', 'u4', 'u5']) expect((await rejection(verifier.verify(accessToken(sub)))).reason).toBe('token_revoked');
  });

  test('moreAvailable with no SETs waits the interval instead of polling in a loop', async () => {
    const endpoint = await pollEndpoint();
    endpoint.alwaysMore = true;
    const { poller } = start(endpoint);
    await poller.ready;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(endpoint.requests).toHaveLength(1);
  });

  test('SETs beyond maxEvents in an answer are left unacknowledged, and taken when they come again', async () => {
    const endpoint = await pollEndpoint();
    endpoint.ignoreMaxEvents = true;
    const sent = await Promise.all(['u1', 'u2', 'u3'].map((sub) => revoking(sub)));
    for (const [jti, set] of sent) endpoint.deliver(jti, set);
    const { verifier, poller, events } = start(endpoint, { maxEvents: 2 });
    let ready = false;
    void poller.ready.then((caughtUp) => (ready = caughtUp));
    await until(() => ofType(events, 'security_events_polled').length === 1);
    await expect(verifier.verify(accessToken('u3'))).resolves.toBeDefined();
    expect(ready).toBe(false);
    await poller.poll();
    expect(endpoint.requests[1]?.body.ack).toEqual([sent[0]?.[0], sent[1]?.[0]]);
    expect((await rejection(verifier.verify(accessToken('u3')))).reason).toBe('token_revoked');
    await expect(poller.ready).resolves.toBe(true);
  });
});

describe('the request: its Authorization (RFC 8936 §3), the answer read within limits', () => {
  test('a string is sent as is; a function is asked before each request', async () => {
    const endpoint = await pollEndpoint();
    endpoint.authorization = 'Bearer stream-token';
    const fixed = start(endpoint, { authorization: 'Bearer stream-token' });
    await expect(fixed.poller.ready).resolves.toBe(true);
    fixed.poller.stop();

    let issued = 0;
    endpoint.authorization = undefined;
    const rotating = start(endpoint, { authorization: async () => `Bearer t-${++issued}` });
    await rotating.poller.ready;
    await rotating.poller.poll();
    expect(endpoint.requests.map((request) => request.headers.authorization)).toEqual(['Bearer stream-token', 'Bearer t-1', 'Bearer t-2']);
  });

  test('a 401, or a function that throws or gives nothing, is a failure reported, and nothing is sent for the latter', async () => {
    const endpoint = await pollEndpoint();
    endpoint.authorization = 'Bearer stream-token';
    const unauthorized = start(endpoint, { authorization: 'Bearer expired' });
    await until(() => ofType(unauthorized.events, 'security_events_poll_failed').length === 1);
    expect(ofType(unauthorized.events, 'security_events_poll_failed')[0]).toMatchObject({ failure: 'http_status', message: expect.stringMatching(/401/) });
    unauthorized.poller.stop();

    for (const authorization of [() => Promise.reject(new Error('token endpoint down')), () => '']) {
      const failing = start(endpoint, { authorization });
      await until(() => ofType(failing.events, 'security_events_poll_failed').length === 1);
      expect(ofType(failing.events, 'security_events_poll_failed')[0]).toMatchObject({ failure: 'authorization_failed' });
      failing.poller.stop();
    }
    expect(endpoint.requests).toHaveLength(1);
  });

  test('an answer over maxBytes, or one that is not { sets: {...}, moreAvailable?: boolean }, is a failure', async () => {
    const endpoint = await pollEndpoint();
    const [jti, set] = await revoking('user-42');
    endpoint.deliver(jti, set);
    const small = start(endpoint, { maxBytes: 256 });
    await until(() => ofType(small.events, 'security_events_poll_failed').length === 1);
    expect(ofType(small.events, 'security_events_poll_failed')[0]).toMatchObject({ failure: 'too_large' });
    await expect(small.verifier.verify(accessToken('user-42'))).resolves.toBeDefined();
    small.poller.stop();

    for (const [mode, message] of [
      ['null', /no `sets` object/],
      ['not_object', /no `sets` object/],
      ['sets_array', /no `sets` object/],
      ['more_text', /invalid `moreAvailable`/],
    ] as const) {
      endpoint.mode = mode;
      const { events, poller } = start(endpoint);
      await until(() => ofType(events, 'security_events_poll_failed').length === 1);
      expect(ofType(events, 'security_events_poll_failed')[0]).toMatchObject({ failure: 'answer_invalid', message: expect.stringMatching(message) });
      poller.stop();
    }
  });
});

describe('failures never reach the application and back off, doubling up to maxBackoff', () => {
  test('a down endpoint is retried one interval later, then twice as late each time, up to the cap; a success starts over', async () => {
    const endpoint = await pollEndpoint();
    endpoint.mode = 'error';
    const { events, poller } = start(endpoint, { interval: 25, maxBackoff: 100 });
    await until(() => ofType(events, 'security_events_poll_failed').length === 5);
    const failures = ofType(events, 'security_events_poll_failed');
    expect(failures.map((event) => event.retryIn)).toEqual([25, 50, 100, 100, 100]);
    expect(failures.map((event) => event.consecutiveFailures)).toEqual([1, 2, 3, 4, 5]);
    expect(failures[0]).toMatchObject({ failure: 'http_status', lastSuccessAt: undefined });
    const gaps = endpoint.requests.slice(1, 5).map((request, i) => request.at - (endpoint.requests[i] as PollRequest).at);
    figure(`poll backoff: gaps between requests ${gaps.join(', ')} ms for waits of 25, 50, 100, 100 ms`);
    // Each wait at least the one announced (a millisecond of clock rounding aside), and growing.
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual((failures[i]?.retryIn as number) - 1));

    endpoint.mode = 'ok';
    await expect(poller.ready).resolves.toBe(true);
    endpoint.mode = 'error';
    await expect(poller.poll()).resolves.toBe(false);
    expect(ofType(events, 'security_events_poll_failed').at(-1)).toMatchObject({ consecutiveFailures: 1, retryIn: 25, lastSuccessAt: expect.any(Number) });
  });

  test('a listener that throws does not stop the poller', async () => {
    const endpoint = await pollEndpoint();
    const [jti, set] = await revoking('user-42');
    endpoint.deliver(jti, set);
    const { verifier, poller } = start(endpoint, {
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    await expect(poller.ready).resolves.toBe(true);
    expect((await rejection(verifier.verify(accessToken('user-42')))).reason).toBe('token_revoked');
  });
});

describe('stopping', () => {
  test('stop() ends polling: no request after it, and ready resolves false if never caught up', async () => {
    const endpoint = await pollEndpoint();
    endpoint.mode = 'error';
    const { poller, events } = start(endpoint, { interval: 20, maxBackoff: 20 });
    await until(() => ofType(events, 'security_events_poll_failed').length === 1);
    poller.stop();
    await expect(poller.ready).resolves.toBe(false);
    const made = endpoint.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(endpoint.requests).toHaveLength(made);
    await expect(poller.poll()).resolves.toBe(false);
  });

  test('stop() aborts a request under way, whose answer is then not applied', async () => {
    const endpoint = await pollEndpoint();
    endpoint.mode = 'hang';
    const [jti, set] = await revoking('user-42');
    endpoint.deliver(jti, set);
    const { verifier, poller, events } = start(endpoint, { timeout: 10_000 });
    await until(() => endpoint.requests.length === 1);
    poller.stop();
    await expect(poller.ready).resolves.toBe(false);
    await until(() => endpoint.abandoned === 1, 1000);
    await expect(verifier.verify(accessToken('user-42'))).resolves.toBeDefined();
    expect(ofType(events, 'security_events_poll_failed')).toEqual([]);
  });

  test('an answer that arrives after stop() (a fetch that ignores the abort) is not applied', async () => {
    const endpoint = await pollEndpoint();
    endpoint.delay = 100;
    const [jti, set] = await revoking('user-42');
    endpoint.deliver(jti, set);
    const { verifier, poller, events } = start(endpoint, { fetch: (url, init) => fetch(url, { ...init, signal: null }) });
    await until(() => endpoint.requests.length === 1);
    poller.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expect(verifier.verify(accessToken('user-42'))).resolves.toBeDefined();
    expect(events).toEqual([]);
  });

  test('an aborted signal stops the poller, before or after it starts', async () => {
    const endpoint = await pollEndpoint();
    const aborted = start(endpoint, { signal: AbortSignal.abort() });
    await expect(aborted.poller.ready).resolves.toBe(false);
    expect(endpoint.requests).toHaveLength(0);

    endpoint.mode = 'hang';
    const controller = new AbortController();
    const later = start(endpoint, { signal: controller.signal });
    await until(() => endpoint.requests.length === 1);
    controller.abort();
    await expect(later.poller.ready).resolves.toBe(false);
  });
});

describe('setup mistakes are TypeErrors naming the option and value', () => {
  test('each misconfiguration is refused at construction, the SET rules included', async () => {
    const endpoint = await pollEndpoint();
    const verifier = createVerifier({ issuer: idp.server.issuer, audience, jwksUri: idp.server.jwksUri });
    const base: SecurityEventPollOptions = { verifier, transmitter: { issuer: transmitter.server.issuer }, audience: receiverAudience, endpoint: endpoint.url };
    expect(() => pollSecurityEvents({ ...base, endpoint: 'http://transmitter.example/poll' })).toThrow(/endpoint .*"http:\/\/transmitter.example\/poll"/);
    expect(() => pollSecurityEvents({ ...base, endpoint: 'poll' })).toThrow(/endpoint .*"poll"/);
    expect(() => pollSecurityEvents({ ...base, authorization: '' })).toThrow(/authorization .*""/);
    expect(() => pollSecurityEvents({ ...base, interval: 0 })).toThrow(/interval .*0/);
    expect(() => pollSecurityEvents({ ...base, interval: 5000, maxBackoff: 1000 })).toThrow(/maxBackoff .*1000/);
    expect(() => pollSecurityEvents({ ...base, maxEvents: 1.5 })).toThrow(/maxEvents .*1.5/);
    expect(() => pollSecurityEvents({ ...base, timeout: -1 })).toThrow(/timeout .*-1/);
    expect(() => pollSecurityEvents({ ...base, verifier: createVerifier({ issuer: idp.server.issuer, audience, revocation: false }) })).toThrow(/pollSecurityEvents needs a verifier with a revocation list/);
    expect(() => pollSecurityEvents({ ...base, audience: '' })).toThrow(/pollSecurityEvents audience/);
    expect(endpoint.requests).toHaveLength(0);
  });

  test('maxBackoff defaults to 60 s, or to the interval when that is longer', async () => {
    const endpoint = await pollEndpoint();
    endpoint.mode = 'error';
    for (const [interval, waits] of [
      [20_000, [20_000, 40_000, 60_000]],
      [90_000, [90_000, 90_000, 90_000]],
    ] as const) {
      const { events, poller } = start(endpoint, { interval });
      await until(() => ofType(events, 'security_events_poll_failed').length === 1);
      await poller.poll();
      await poller.poll();
      expect(ofType(events, 'security_events_poll_failed').map((event) => event.retryIn)).toEqual(waits);
      poller.stop();
    }
  });
});
