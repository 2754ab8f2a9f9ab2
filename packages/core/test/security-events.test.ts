/**
 * Shared Signals push delivery (signals/security-events.ts, RFC 8935 with SSF 1.0 and CAEP 1.0):
 * each refusal is a 400 with its RFC 8935 code, each CAEP event revokes what it says in the
 * verifier's list, the answers are RFC 8935's. A real transmitter: SETs signed with jose under an
 * RS256 key that a JWKS server on 127.0.0.1 publishes, and an ssf-configuration served by a
 * node:http server here. Access tokens come from another issuer with its own keys.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createVerifier, SECURITY_EVENT_TYPES, securityEvents, type ReceiverRequest, type ReceiverResponse, type SecurityEventsOptions, type SignalEvent, type TokenwardEvent, type VerifierOptions } from '@tokenward/core';
import { serveOneKey } from '../../../test/support/jwks-server';
import { makeKey, type TestKey } from '../../../test/support/keys';
import { rejection } from '../../../test/support/observe';
import { signSecurityEvent } from '../../../test/support/security-events';
import { mint, now } from '../../../test/support/tokens';

const { sessionRevoked, credentialChange, tokenClaimsChange, verification, streamUpdated } = SECURITY_EVENT_TYPES;
const audience = 'https://api.example.com';
const receiverAudience = 'https://api.example.com/ssf';
const idp = serveOneKey('ES256', 'idp-1');
const transmitter = serveOneKey('RS256', 'tr-1');

function setup(options: Partial<SecurityEventsOptions> = {}, verifierOptions: Partial<VerifierOptions> = {}) {
  const keyEvents: TokenwardEvent[] = [];
  const verifier = createVerifier({ issuer: idp.server.issuer, audience, jwksUri: idp.server.jwksUri, tokenCache: false, onEvent: (event) => keyEvents.push(event), ...verifierOptions });
  const events: SignalEvent[] = [];
  const receiver = securityEvents({
    verifier,
    transmitter: { issuer: transmitter.server.issuer, jwksUri: transmitter.server.jwksUri },
    audience: receiverAudience,
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { verifier, receiver, events, keyEvents };
}

const user = (sub = 'user-42', iss = idp.server.issuer) => ({ format: 'iss_sub', iss, sub });
const withSession = (sid = 'session-1', sub = 'user-42') => ({ format: 'complex', user: user(sub), session: { format: 'opaque', id: sid } });

/** A SET as the transmitter signs it; a claim or header member set to undefined is left out. */
function securityEvent(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key: TestKey = transmitter.key): Promise<string> {
  return signSecurityEvent(
    key,
    {
      iss: transmitter.server.issuer,
      aud: receiverAudience,
      iat: now(),
      jti: `set-${Math.random().toString(36).slice(2)}`,
      txn: '8675309',
      sub_id: user(),
      events: { [credentialChange]: { credential_type: 'password', change_type: 'revoke' } },
      ...claims,
    },
    header,
  );
}

function push(token: string): ReceiverRequest {
  return { method: 'POST', contentType: 'application/secevent+jwt', body: token };
}

function accessToken(claims: Record<string, unknown> = {}, issuer = idp.server.issuer): string {
  return mint(idp.key, { issuer, audience }, { claims: { sid: 'session-1', ...claims } });
}

async function expectAccepted(receiver: ReturnType<typeof setup>['receiver'], request: ReceiverRequest | Promise<ReceiverRequest>): Promise<void> {
  expect(await receiver.handle(await request)).toEqual({ status: 202, headers: { 'Cache-Control': 'no-store' }, body: undefined });
}

async function expectRefused(receiver: ReturnType<typeof setup>['receiver'], request: ReceiverRequest, err: string, description?: RegExp): Promise<ReceiverResponse> {
  const response = await receiver.handle(request);
  expect(response.status).toBe(400);
  expect(response.headers['Content-Type']).toBe('application/json');
  expect(response.headers['Content-Language']).toBe('en');
  const body = JSON.parse(response.body as string) as Record<string, string>;
  expect(Object.keys(body)).toEqual(['err', 'description']);
  expect(body.err).toBe(err);
  if (description !== undefined) expect(body.description).toMatch(description);
  return response;
}

const received = (events: SignalEvent[]) => events.filter((event) => event.type === 'security_event_received');

describe('a CAEP event revokes in the verifier list (CAEP 1.0 §3) and is answered 202 with no body (RFC 8935 §2.2)', () => {
  test('session-revoked with a session refuses the tokens of that session only', async () => {
    const { verifier, receiver, events } = setup();
    const session = accessToken({ iat: now() - 5 });
    const otherSession = accessToken({ iat: now() - 5, sid: 'session-2' });
    const otherUser = accessToken({ iat: now() - 5, sub: 'user-7', sid: 'session-9' });
    const token = await securityEvent({ sub_id: withSession(), events: { [sessionRevoked]: { initiating_entity: 'policy', event_timestamp: now() - 1 } } });

    await expectAccepted(receiver, push(token));
    expect(received(events)).toEqual([{ type: 'security_event_received', issuer: transmitter.server.issuer, jti: expect.any(String), eventType: sessionRevoked, action: 'revoked_session' }]);
    expect((await rejection(verifier.verify(session))).reason).toBe('token_revoked');
    await expect(verifier.verify(otherSession)).resolves.toMatchObject({ subject: 'user-42' });
    await expect(verifier.verify(otherUser)).resolves.toMatchObject({ subject: 'user-7' });
    await expect(verifier.verify(accessToken({ iat: now() + 1 }))).resolves.toMatchObject({ subject: 'user-42' });
  });

  test('session-revoked naming only the user refuses all of the user tokens', async () => {
    const { verifier, receiver, events } = setup();
    await expectAccepted(receiver, securityEvent({ events: { [sessionRevoked]: {} } }).then(push));
    expect(received(events)[0]).toMatchObject({ action: 'revoked_subject' });
    expect((await rejection(verifier.verify(accessToken({ iat: now() - 5, sid: 'session-2' })))).reason).toBe('token_revoked');
    await expect(verifier.verify(accessToken({ iat: now() - 5, sub: 'user-7' }))).resolves.toBeDefined();
  });

  test('credential-change with change_type revoke, update or delete refuses the user tokens; a create changes nothing', async () => {
    for (const change of ['revoke', 'update', 'delete']) {
      const { verifier, receiver } = setup();
      await expectAccepted(receiver, securityEvent({ sub_id: withSession('session-3'), events: { [credentialChange]: { credential_type: 'password', change_type: change } } }).then(push));
      expect((await rejection(verifier.verify(accessToken({ iat: now() - 5 })))).reason).toBe('token_revoked');
    }
    const { verifier, receiver, events } = setup();
    await expectAccepted(receiver, securityEvent({ events: { [credentialChange]: { credential_type: 'fido2-roaming', change_type: 'create' } } }).then(push));
    expect(received(events)[0]).toMatchObject({ action: 'ignored', reason: 'credential_created' });
    await expect(verifier.verify(accessToken({ iat: now() - 5 }))).resolves.toBeDefined();
  });

  test('credential-change without a change_type is refused; a change_type CAEP does not define is ignored', async () => {
    const { verifier, receiver, events } = setup();
    await expectRefused(receiver, push(await securityEvent({ events: { [credentialChange]: { credential_type: 'password' } } })), 'invalid_request', /change_type/);
    await expectAccepted(receiver, securityEvent({ events: { [credentialChange]: { credential_type: 'password', change_type: 'rotate' } } }).then(push));
    expect(received(events)[0]).toMatchObject({ action: 'ignored', reason: 'change_type_unknown' });
    await expect(verifier.verify(accessToken({ iat: now() - 5 }))).resolves.toBeDefined();
  });

  test('token-claims-change refuses the user tokens: the claims they carry are stale', async () => {
    const { verifier, receiver, events } = setup();
    await expectAccepted(receiver, securityEvent({ events: { [tokenClaimsChange]: { claims: { role: 'guest' } } } }).then(push));
    expect(received(events)[0]).toMatchObject({ action: 'revoked_subject' });
    expect((await rejection(verifier.verify(accessToken({ iat: now() - 5 })))).reason).toBe('token_revoked');
  });

  test('revocations are scoped to subjectIssuer: the same sub from another issuer of the verifier is accepted', async () => {
    const other = 'https://other.example/';
    const { verifier, receiver } = setup({ subjectIssuer: idp.server.issuer }, { issuer: [idp.server.issuer, other] });
    await expectAccepted(receiver, securityEvent().then(push));
    expect((await rejection(verifier.verify(accessToken({ iat: now() - 5 })))).reason).toBe('token_revoked');
    await expect(verifier.verify(accessToken({ iat: now() - 5 }, other))).resolves.toMatchObject({ issuer: other });
  });
});

describe('the cutoff is the event_timestamp (CAEP 1.0 §2), else the SET iat', () => {
  test('tokens issued after the event, before the SET, are still accepted', async () => {
    const { verifier, receiver } = setup();
    await expectAccepted(receiver, securityEvent({ events: { [sessionRevoked]: { event_timestamp: now() - 60 } } }).then(push));
    expect((await rejection(verifier.verify(accessToken({ iat: now() - 120 })))).reason).toBe('token_revoked');
    await expect(verifier.verify(accessToken({ iat: now() - 30 }))).resolves.toBeDefined();
  });

  test('a timestamp in milliseconds (drafts before June 2025) is read as such', async () => {
    const { verifier, receiver } = setup();
    await expectAccepted(receiver, securityEvent({ events: { [sessionRevoked]: { event_timestamp: (now() - 60) * 1000 } } }).then(push));
    expect((await rejection(verifier.verify(accessToken({ iat: now() - 120 })))).reason).toBe('token_revoked');
    await expect(verifier.verify(accessToken({ iat: now() - 30 }))).resolves.toBeDefined();
  });

  test('a timestamp after the SET iat, not a number, or negative gives the iat', async () => {
    const { verifier, receiver } = setup();
    await expectAccepted(receiver, securityEvent({ iat: now() - 60, events: { [sessionRevoked]: { event_timestamp: now() + 3600 } } }).then(push));
    expect((await rejection(verifier.verify(accessToken({ iat: now() - 90 })))).reason).toBe('token_revoked');
    await expect(verifier.verify(accessToken({ iat: now() - 30 }))).resolves.toBeDefined();

    for (const timestamp of ['yesterday', -1]) {
      const second = setup();
      await expectAccepted(second.receiver, securityEvent({ iat: now() - 60, events: { [sessionRevoked]: { event_timestamp: timestamp } } }).then(push));
      expect((await rejection(second.verifier.verify(accessToken({ iat: now() - 90 })))).reason).toBe('token_revoked');
      await expect(second.verifier.verify(accessToken({ iat: now() - 30 }))).resolves.toBeDefined();
    }
  });
});

describe('the request (RFC 8935 §2.1): a POST whose body is the SET, as application/secevent+jwt', () => {
  test('another method is a 405 naming POST', async () => {
    const { receiver } = setup();
    const response = await receiver.handle({ ...push(await securityEvent()), method: 'PUT' });
    expect(response.status).toBe(405);
    expect(response.headers.Allow).toBe('POST');
  });

  test('another media type, an empty body, a body the framework parsed, or one over 64 KiB is invalid_request', async () => {
    const { receiver } = setup();
    const token = await securityEvent();
    expect(receiver.mediaType).toBe('application/secevent+jwt');
    await expectRefused(receiver, { ...push(token), contentType: 'application/jwt' }, 'invalid_request', /secevent\+jwt/);
    await expectRefused(receiver, { ...push(token), contentType: undefined }, 'invalid_request', /secevent\+jwt/);
    await expectRefused(receiver, { ...push(token), body: '' }, 'invalid_request', /not a security event token/);
    await expectRefused(receiver, { ...push(token), body: { set: token } }, 'invalid_request', /not a security event token/);
    await expectRefused(receiver, { ...push(token), body: 'a'.repeat(64 * 1024 + 1) }, 'invalid_request', /too large/);
    await expectAccepted(receiver, { ...push(token), contentType: 'application/secevent+jwt; charset=utf-8', body: Buffer.from(`\n${token}\r\n`) });
  });
});

describe('the SET is verified (RFC 8935 §2, SSF 1.0 §4.1): signature, iss, aud, iat, jti, typ', () => {
  test('a key the transmitter does not publish, a broken signature, or alg none is invalid_key', async () => {
    const { receiver } = setup();
    await expectRefused(receiver, push(await securityEvent({}, {}, makeKey('RS256', 'tr-1'))), 'invalid_key');
    const token = await securityEvent();
    await expectRefused(receiver, push(`${token.slice(0, -6)}AAAAAA`), 'invalid_key');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'secevent+jwt' })).toString('base64url')}.${token.split('.')[1] as string}.`;
    await expectRefused(receiver, push(none), 'invalid_key');
  });

  test('another iss, the access-token issuer included, is invalid_issuer, with nothing fetched', async () => {
    const { receiver } = setup();
    const before = idp.server.jwksRequests + transmitter.server.jwksRequests;
    await expectRefused(receiver, push(await securityEvent({ iss: idp.server.issuer })), 'invalid_issuer');
    await expectRefused(receiver, push(await securityEvent({ iss: `${transmitter.server.issuer}/` })), 'invalid_issuer');
    expect(idp.server.jwksRequests + transmitter.server.jwksRequests).toBe(before);
  });

  test('an aud without ours is invalid_audience; an array containing ours is accepted', async () => {
    const { receiver } = setup();
    await expectRefused(receiver, push(await securityEvent({ aud: audience })), 'invalid_audience');
    await expectAccepted(receiver, securityEvent({ aud: ['https://elsewhere.example', receiverAudience] }).then(push));
  });

  test('an iat older than maxAge or in the future, or no iat or jti, is invalid_request; no exp is needed', async () => {
    const { receiver } = setup({ maxAge: 600 });
    await expectRefused(receiver, push(await securityEvent({ iat: now() - 900 })), 'invalid_request');
    await expectRefused(receiver, push(await securityEvent({ iat: now() + 120 })), 'invalid_request');
    await expectRefused(receiver, push(await securityEvent({ iat: undefined })), 'invalid_request');
    await expectRefused(receiver, push(await securityEvent({ jti: undefined })), 'invalid_request');
    await expectAccepted(receiver, securityEvent({ iat: now() - 500 }).then(push));
  });

  test('maxAge defaults to one hour', async () => {
    const { receiver } = setup();
    await expectRefused(receiver, push(await securityEvent({ iat: now() - 3700 })), 'invalid_request');
    await expectAccepted(receiver, securityEvent({ iat: now() - 3000 }).then(push));
  });

  test('typ must be secevent+jwt (SSF 1.0 §4.1.1), compared without case or application/', async () => {
    const { receiver } = setup();
    await expectRefused(receiver, push(await securityEvent({}, { typ: undefined })), 'invalid_request', /typ/);
    await expectRefused(receiver, push(await securityEvent({}, { typ: 'JWT' })), 'invalid_request', /typ/);
    await expectRefused(receiver, push(await securityEvent({}, { typ: 'logout+jwt' })), 'invalid_request', /typ/);
    await expectAccepted(receiver, securityEvent({}, { typ: 'application/secevent+jwt' }).then(push));
    await expectAccepted(receiver, securityEvent({}, { typ: 'SecEvent+JWT' }).then(push));
  });
});

describe('the SSF 1.0 SET profile (§4.1.2, §4.2) and RFC 8417 §2.2', () => {
  test('a sub claim is invalid_request', async () => {
    const { verifier, receiver } = setup();
    await expectRefused(receiver, push(await securityEvent({ sub: 'user-42' })), 'invalid_request', /sub claim/);
    await expect(verifier.verify(accessToken({ iat: now() - 5 }))).resolves.toBeDefined();
  });

  test('no events, two events, or an event that is not an object is invalid_request', async () => {
    const { receiver } = setup();
    await expectRefused(receiver, push(await securityEvent({ events: undefined })), 'invalid_request', /events/);
    await expectRefused(receiver, push(await securityEvent({ events: [] })), 'invalid_request', /events/);
    await expectRefused(receiver, push(await securityEvent({ events: {} })), 'invalid_request', /exactly one/);
    await expectRefused(receiver, push(await securityEvent({ events: { [sessionRevoked]: {}, [credentialChange]: { change_type: 'revoke' } } })), 'invalid_request', /exactly one/);
    await expectRefused(receiver, push(await securityEvent({ events: { [sessionRevoked]: true } })), 'invalid_request', /not a JSON object/);
  });
});

describe('the subject: sub_id (SSF 1.0 §3), else the event subject of earlier drafts', () => {
  test('sub_id is read before the event subject', async () => {
    const { verifier, receiver } = setup();
    await expectAccepted(receiver, securityEvent({ sub_id: user('user-42'), events: { [sessionRevoked]: { subject: user('user-7') } } }).then(push));
    expect((await rejection(verifier.verify(accessToken({ iat: now() - 5 })))).reason).toBe('token_revoked');
    await expect(verifier.verify(accessToken({ iat: now() - 5, sub: 'user-7' }))).resolves.toBeDefined();
  });

  test('without sub_id, the event subject is read, a complex one without format too', async () => {
    const { verifier, receiver } = setup();
    await expectAccepted(receiver, securityEvent({ sub_id: undefined, events: { [sessionRevoked]: { subject: user('user-7') } } }).then(push));
    expect((await rejection(verifier.verify(accessToken({ iat: now() - 5, sub: 'user-7' })))).reason).toBe('token_revoked');
    await expectAccepted(receiver, securityEvent({ sub_id: undefined, events: { [sessionRevoked]: { subject: { user: user('user-8'), session: { format: 'opaque', id: 'session-8' } } } } }).then(push));
    expect((await rejection(verifier.verify(accessToken({ iat: now() - 5, sub: 'user-8', sid: 'session-8' })))).reason).toBe('token_revoked');
    await expect(verifier.verify(accessToken({ iat: now() - 5, sub: 'user-8', sid: 'session-9' }))).resolves.toBeDefined();
  });

  test('an iss_sub of another issuer names someone else: ignored, nothing revoked, the session of that subject either', async () => {
    const { verifier, receiver, events } = setup();
    await expectAccepted(receiver, securityEvent({ sub_id: user('user-42', 'https://elsewhere.example') }).then(push));
    await expectAccepted(receiver, securityEvent({ sub_id: { format: 'complex', user: user('user-42', 'https://elsewhere.example'), session: { format: 'opaque', id: 'session-1' } }, events: { [sessionRevoked]: {} } }).then(push));
    expect(received(events).map((event) => event.type === 'security_event_received' && [event.action, event.reason])).toEqual([
      ['ignored', 'subject_other_issuer'],
      ['ignored', 'subject_other_issuer'],
    ]);
    await expect(verifier.verify(accessToken({ iat: now() - 5 }))).resolves.toBeDefined();
  });

  test('opaque and email subjects are ignored unless subjectFormats takes them as the tokens sub', async () => {
    const strict = setup();
    await expectAccepted(strict.receiver, securityEvent({ sub_id: { format: 'opaque', id: 'user-42' } }).then(push));
    await expectAccepted(strict.receiver, securityEvent({ sub_id: { format: 'email', email: 'user-42' } }).then(push));
    await expectAccepted(strict.receiver, securityEvent({ sub_id: { format: 'phone_number', phone_number: '+12065550100' } }).then(push));
    expect(received(strict.events).map((event) => event.type === 'security_event_received' && event.reason)).toEqual(['subject_format', 'subject_format', 'subject_format']);
    await expect(strict.verifier.verify(accessToken({ iat: now() - 5 }))).resolves.toBeDefined();

    const opaque = setup({ subjectFormats: ['iss_sub', 'opaque'] });
    await expectAccepted(opaque.receiver, securityEvent({ sub_id: { format: 'opaque', id: 'user-42' } }).then(push));
    expect((await rejection(opaque.verifier.verify(accessToken({ iat: now() - 5 })))).reason).toBe('token_revoked');
    const email = setup({ subjectFormats: ['email'] });
    await expectAccepted(email.receiver, securityEvent({ sub_id: { format: 'email', email: 'ada@example.com' } }).then(push));
    expect((await rejection(email.verifier.verify(accessToken({ iat: now() - 5, sub: 'ada@example.com' })))).reason).toBe('token_revoked');
    await expectAccepted(email.receiver, securityEvent({ sub_id: user('user-42') }).then(push));
    await expect(email.verifier.verify(accessToken({ iat: now() - 5 }))).resolves.toBeDefined();
  });

  test('a complex subject whose user cannot be named still names its opaque session', async () => {
    const { verifier, receiver } = setup();
    await expectAccepted(receiver, securityEvent({ sub_id: { format: 'complex', user: { format: 'email', email: 'ada@example.com' }, session: { format: 'opaque', id: 'session-1' } }, events: { [tokenClaimsChange]: { claims: {} } } }).then(push));
    expect((await rejection(verifier.verify(accessToken({ iat: now() - 5 })))).reason).toBe('token_revoked');
    await expect(verifier.verify(accessToken({ iat: now() - 5, sid: 'session-2' }))).resolves.toBeDefined();
  });

  test('a session member of another format than opaque names no sid: session-revoked then revokes the user', async () => {
    const { verifier, receiver, events } = setup();
    const session = { format: 'jwt_id', iss: idp.server.issuer, jti: 'session-2' };
    await expectAccepted(receiver, securityEvent({ sub_id: { format: 'complex', user: user(), session }, events: { [sessionRevoked]: {} } }).then(push));
    expect(received(events)[0]).toMatchObject({ action: 'revoked_subject' });
    expect((await rejection(verifier.verify(accessToken({ iat: now() - 5, sid: 'session-3' })))).reason).toBe('token_revoked');
  });

  test('no subject, a subject that is not an object, without a format, or missing a member of its format is invalid_request', async () => {
    const { receiver } = setup();
    await expectRefused(receiver, push(await securityEvent({ sub_id: undefined })), 'invalid_request', /no subject/);
    await expectRefused(receiver, push(await securityEvent({ sub_id: 'user-42' })), 'invalid_request', /not a JSON object/);
    await expectRefused(receiver, push(await securityEvent({ sub_id: { sub: 'user-42' } })), 'invalid_request', /no format/);
    await expectRefused(receiver, push(await securityEvent({ sub_id: { format: 'iss_sub', iss: idp.server.issuer } })), 'invalid_request', /needs sub/);
    await expectRefused(receiver, push(await securityEvent({ sub_id: { format: 'complex', user: user(), session: { format: 'opaque', id: '' } } })), 'invalid_request', /needs id/);
  });
});

describe('a SET resent (RFC 8935 §2): answered as the first time, and changing nothing', () => {
  test('the same SET again is a 202 reported as repeated; another SET reusing its jti is not applied', async () => {
    const { verifier, receiver, events } = setup();
    const first = await securityEvent({ jti: 'set-once' });
    await expectAccepted(receiver, push(first));
    await expectAccepted(receiver, push(first));
    expect(received(events).map((event) => event.type === 'security_event_received' && event.action)).toEqual(['revoked_subject', 'repeated']);

    await expectAccepted(receiver, securityEvent({ jti: 'set-once', sub_id: user('user-7') }).then(push));
    await expect(verifier.verify(accessToken({ iat: now() - 5, sub: 'user-7' }))).resolves.toBeDefined();
  });

  test('a refused SET sent again is refused again', async () => {
    const { receiver } = setup();
    const token = await securityEvent({ sub: 'user-42' });
    await expectRefused(receiver, push(token), 'invalid_request', /sub claim/);
    await expectRefused(receiver, push(token), 'invalid_request', /sub claim/);
  });
});

describe('events this receiver does not act on are accepted and ignored', () => {
  test('an unknown event type is a 202 reported as ignored, its subject unread', async () => {
    const { verifier, receiver, events } = setup();
    await expectAccepted(receiver, securityEvent({ sub_id: { unusual: true }, events: { 'https://schemas.openid.net/secevent/risc/event-type/account-disabled': { reason: 'hijacking' } } }).then(push));
    expect(received(events)[0]).toMatchObject({ action: 'ignored', reason: 'event_type_unknown' });
    await expect(verifier.verify(accessToken({ iat: now() - 5 }))).resolves.toBeDefined();
  });

  test('the SSF verification and stream-updated events are a 202 reported as stream events', async () => {
    const { receiver, events } = setup();
    const stream = { format: 'opaque', id: 'f67e39a0a4d34d56b3aa1bc4cff0069f' };
    await expectAccepted(receiver, securityEvent({ sub_id: stream, events: { [verification]: { state: 'VGhpcyBpcyBhbiBleGFtcGxl' } } }).then(push));
    await expectAccepted(receiver, securityEvent({ sub_id: stream, events: { [streamUpdated]: { status: 'paused' } } }).then(push));
    expect(received(events).map((event) => event.type === 'security_event_received' && [event.eventType, event.reason])).toEqual([
      [verification, 'stream_event'],
      [streamUpdated, 'stream_event'],
    ]);
  });
});

/** An SSF transmitter's configuration endpoint on 127.0.0.1, serving `document(issuer)` at the §7.2 location for `path`. */
async function startConfiguration(path: string, document: (issuer: string) => unknown) {
  let requests = 0;
  const seen: string[] = [];
  let issuer = '';
  const server: Server = createServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url !== `/.well-known/ssf-configuration${path}`) {
      res.writeHead(404).end();
      return;
    }
    requests++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document(issuer)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
  return {
    issuer,
    seen,
    get requests() {
      return requests;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('the transmitter keys: its jwksUri, else its ssf-configuration (SSF 1.0 §7.2)', () => {
  test('an issuer with a path is configured at /.well-known/ssf-configuration/<path>, read once, and its jwks_uri used', async () => {
    const configuration = await startConfiguration('/tenants/acme', (issuer) => ({ spec_version: '1_0', issuer, jwks_uri: transmitter.server.jwksUri, delivery_methods_supported: ['urn:ietf:rfc:8935'] }));
    try {
      const { verifier, receiver } = setup({ transmitter: { issuer: configuration.issuer } });
      await receiver.ready();
      await expectAccepted(receiver, securityEvent({ iss: configuration.issuer }).then(push));
      await expectAccepted(receiver, securityEvent({ iss: configuration.issuer, sub_id: user('user-7') }).then(push));
      expect(configuration.requests).toBe(1);
      expect(configuration.seen).toEqual(['/.well-known/ssf-configuration/tenants/acme']);
      expect((await rejection(verifier.verify(accessToken({ iat: now() - 5, sub: 'user-7' })))).reason).toBe('token_revoked');
      await expectRefused(receiver, push(await securityEvent()), 'invalid_issuer');
    } finally {
      await configuration.close();
    }
  });

  test('a configuration naming another issuer, even by a trailing slash, gives no keys: ready() says why, a SET is a 503', async () => {
    for (const [stated, hint] of [
      [() => 'https://transmitter.example', /names the issuer "https:\/\/transmitter.example"/],
      [(issuer: string) => `${issuer}/`, /differ only in a trailing slash/],
    ] as const) {
      const configuration = await startConfiguration('', (issuer) => ({ issuer: stated(issuer), jwks_uri: transmitter.server.jwksUri }));
      try {
        const { receiver, events, keyEvents } = setup({ transmitter: { issuer: configuration.issuer } });
        await expect(receiver.ready()).rejects.toThrow(hint);
        const before = transmitter.server.jwksRequests;
        const response = await receiver.handle(push(await securityEvent({ iss: configuration.issuer })));
        expect(response.status).toBe(503);
        expect(response.headers['Retry-After']).toBe('30');
        expect(transmitter.server.jwksRequests).toBe(before);
        expect(events.at(-1)).toMatchObject({ type: 'signal_rejected', receiver: 'security_events', failure: 'invalid_key' });
        expect(keyEvents.find((event) => event.type === 'keys_refresh_failed')).toMatchObject({ failure: 'metadata_invalid', message: expect.stringMatching(hint) });
      } finally {
        await configuration.close();
      }
    }
  });

  test('a configuration without jwks_uri, or not an object, gives no keys', async () => {
    for (const [document, message] of [
      [(issuer: string) => ({ issuer }), /has no jwks_uri/],
      [() => [], /is not a JSON object/],
    ] as const) {
      const configuration = await startConfiguration('', document);
      try {
        await expect(setup({ transmitter: { issuer: configuration.issuer } }).receiver.ready()).rejects.toThrow(message);
      } finally {
        await configuration.close();
      }
    }
  });

  test('with jwksUri the configuration is never read; keys that cannot be fetched are a 503 with Retry-After, not a 400', async () => {
    const configuration = await startConfiguration('', (issuer) => ({ issuer, jwks_uri: transmitter.server.jwksUri }));
    try {
      const { receiver } = setup({ transmitter: { issuer: configuration.issuer, jwksUri: `${configuration.issuer}/missing-jwks.json` } });
      const response = await receiver.handle(push(await securityEvent({ iss: configuration.issuer })));
      expect(response).toEqual({ status: 503, headers: { 'Cache-Control': 'no-store', 'Retry-After': '30' }, body: undefined });
      expect(configuration.seen).toEqual(['/missing-jwks.json']);
    } finally {
      await configuration.close();
    }
  });
});

describe('answers never carry the SET, and setup mistakes are TypeErrors naming the option and value', () => {
  test('a refusal body holds a fixed description only', async () => {
    const { receiver } = setup();
    const token = await securityEvent({ aud: 'https://elsewhere.example' });
    const response = await expectRefused(receiver, push(token), 'invalid_audience');
    expect(response.body).not.toContain(token.split('.')[1] as string);
  });

  test('each misconfiguration is refused at construction', () => {
    const { verifier } = setup();
    const base = { verifier, transmitter: { issuer: transmitter.server.issuer }, audience: receiverAudience };
    expect(() => securityEvents({ ...base, verifier: createVerifier({ issuer: idp.server.issuer, audience, revocation: false }) })).toThrow(/revocation list/);
    expect(() => securityEvents({ ...base, verifier: { ...verifier } })).toThrow(/createVerifier/);
    expect(() => securityEvents({ ...base, transmitter: { issuer: 'transmitter.example' } })).toThrow(/transmitter.issuer .*"transmitter.example"/);
    expect(() => securityEvents({ ...base, transmitter: { issuer: 'http://transmitter.example' } })).toThrow(/transmitter.issuer .*"http:\/\/transmitter.example"/);
    expect(() => securityEvents({ ...base, transmitter: { issuer: 'https://transmitter.example/?tenant=1' } })).toThrow(/transmitter.issuer/);
    expect(() => securityEvents({ ...base, transmitter: { issuer: 'https://transmitter.example', jwksUri: 'http://transmitter.example/jwks' } })).toThrow(/transmitter.jwksUri .*"http:\/\/transmitter.example\/jwks"/);
    expect(() => securityEvents({ ...base, audience: [] })).toThrow(/audience .*\[\]/);
    expect(() => securityEvents({ ...base, verifier: createVerifier({ issuer: [idp.server.issuer, 'https://other.example/'], audience }) })).toThrow(/needs subjectIssuer/);
    expect(() => securityEvents({ ...base, subjectIssuer: 'https://other.example/' })).toThrow(/subjectIssuer .*"https:\/\/other.example\/"/);
    expect(() => securityEvents({ ...base, subjectFormats: ['phone_number' as 'email'] })).toThrow(/subjectFormats .*phone_number/);
    expect(() => securityEvents({ ...base, subjectFormats: [] })).toThrow(/subjectFormats/);
    expect(() => securityEvents({ ...base, maxAge: 0 })).toThrow(/maxAge .*0/);
    expect(() => securityEvents({ ...base, maxAge: 86_401 })).toThrow(/maxAge .*86401/);
    expect(() => securityEvents({ ...base, algorithms: ['HS256'] })).toThrow(/algorithms .*HS256/);
  });
});
