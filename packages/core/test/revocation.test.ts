/**
 * The revocation list (README "Options", `RevocationList`): by jti, by subject and by client
 * ("issued at or before T"), optionally per issuer; entries that expire by themselves; a hard
 * bound on memory. Tokens go through createVerifier against a real JWKS server; time moves with
 * the `clock` option.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createVerifier, RevocationList, type VerifierOptions } from '@tokenward/core';
import { serveOneKey } from '../../../test/support/jwks-server';
import { figure } from '../../../test/support/figures';
import { claimsAt, rejection, testClock, type TestClock } from '../../../test/support/observe';
import { mint } from '../../../test/support/tokens';

const audience = 'https://api.example.com';
const TOLERANCE = 300; // seconds: MAX_CLOCK_TOLERANCE, the grace every expiry adds

const jwks = serveOneKey('ES256', 'k1');

function token(clock: TestClock, claims: Record<string, unknown> = {}, issuer = jwks.server.issuer): string {
  return mint(jwks.key, { issuer, audience }, { claims: { ...claimsAt(clock), ...claims } });
}

function setup(options: Partial<VerifierOptions> & { issuer?: VerifierOptions['issuer'] } = {}) {
  const clock = testClock();
  const revocation = new RevocationList({ clock });
  // No verified-token cache: each verify here is a full verification, so only the list decides.
  const verifier = createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, clock, revocation, tokenCache: false, ...options });
  return { clock, revocation, verifier };
}

describe('revocation by jti refuses exactly that token', () => {
  test('a revoked token is refused token_revoked 401 while another token of the same subject verifies', async () => {
    const { clock, revocation, verifier } = setup();
    const revoked = token(clock, { jti: 'jti-revoked' });
    const other = token(clock, { jti: 'jti-other' });
    const verified = await verifier.verify(revoked);

    revocation.revoke({ jti: 'jti-revoked', expiresAt: verified.expiresAt });
    expect(await rejection(verifier.verify(revoked))).toMatchObject({ reason: 'token_revoked', status: 401, code: 'invalid_token' });
    await expect(verifier.verify(other)).resolves.toMatchObject({ subject: 'user-42' });
    expect(verifier.revocation).toBe(revocation);
  });
});

describe('revocation by subject refuses tokens issued at or before the cutoff', () => {
  test('revokeSubject refuses tokens issued at or before now and accepts one issued later', async () => {
    const { clock, revocation, verifier } = setup();
    const before = token(clock, { sub: 'user-42', iat: clock.seconds() - 10 });
    const atCutoff = token(clock, { sub: 'user-42' });
    const otherUser = token(clock, { sub: 'user-7' });

    revocation.revokeSubject('user-42');
    expect(await rejection(verifier.verify(before))).toMatchObject({ reason: 'token_revoked', status: 401 });
    expect((await rejection(verifier.verify(atCutoff))).reason).toBe('token_revoked');
    await expect(verifier.verify(otherUser)).resolves.toMatchObject({ subject: 'user-7' });

    clock.advance(1_000);
    await expect(verifier.verify(token(clock, { sub: 'user-42' }))).resolves.toMatchObject({ subject: 'user-42' });
  });

  test('an explicit before sets the cutoff: a token issued one second after it verifies', async () => {
    const { clock, revocation, verifier } = setup();
    const cutoff = clock.seconds() - 60;
    revocation.revokeSubject('user-42', { before: cutoff });

    expect((await rejection(verifier.verify(token(clock, { iat: cutoff })))).reason).toBe('token_revoked');
    await expect(verifier.verify(token(clock, { iat: cutoff + 1 }))).resolves.toMatchObject({ subject: 'user-42' });
  });

  test('an earlier cutoff does not undo a later one', async () => {
    const { clock, revocation, verifier } = setup();
    revocation.revokeSubject('user-42');
    revocation.revokeSubject('user-42', { before: clock.seconds() - 60 });

    expect((await rejection(verifier.verify(token(clock, { iat: clock.seconds() - 30 })))).reason).toBe('token_revoked');
  });
});

describe('revocation by client refuses the tokens of that OAuth client', () => {
  test('revokeClient refuses tokens whose client_id (or azp) matches, and accepts other clients', async () => {
    const { clock, revocation, verifier } = setup();
    // Issued before the revocation: the clock runs in real time, and a token minted after it in the next second would not be.
    const [byClientId, byAzp] = [token(clock, { client_id: 'app-1' }), token(clock, { azp: 'app-1' })];
    revocation.revokeClient('app-1');

    expect(await rejection(verifier.verify(byClientId))).toMatchObject({ reason: 'token_revoked', status: 401 });
    expect((await rejection(verifier.verify(byAzp))).reason).toBe('token_revoked');
    await expect(verifier.verify(token(clock, { client_id: 'app-2' }))).resolves.toMatchObject({ clientId: 'app-2' });
    await expect(verifier.verify(token(clock))).resolves.toMatchObject({ clientId: undefined });
  });
});

describe('revocation by session refuses the tokens that carry that provider session', () => {
  test('revokeSession refuses tokens whose sid matches and were issued up to the cutoff, and accepts other sessions and tokens without sid', async () => {
    const { clock, revocation, verifier } = setup();
    const session = token(clock, { sid: 's-1' });
    revocation.revokeSession('s-1', { issuer: jwks.server.issuer });

    expect(await rejection(verifier.verify(session))).toMatchObject({ reason: 'token_revoked', status: 401 });
    await expect(verifier.verify(token(clock, { sid: 's-2' }))).resolves.toMatchObject({ subject: 'user-42' });
    await expect(verifier.verify(token(clock))).resolves.toMatchObject({ subject: 'user-42' });
    clock.advance(1_000);
    await expect(verifier.verify(token(clock, { sid: 's-1' }))).resolves.toMatchObject({ subject: 'user-42' });
  });

  test('a session id of one issuer does not revoke the same id at another', async () => {
    const a = 'https://a.example/';
    const b = 'https://b.example/';
    const { clock, revocation, verifier } = setup({ issuer: [a, b] });
    const atA = token(clock, { sid: 's-1' }, a);
    revocation.revokeSession('s-1', { issuer: a });

    expect((await rejection(verifier.verify(atA))).reason).toBe('token_revoked');
    await expect(verifier.verify(token(clock, { sid: 's-1' }, b))).resolves.toMatchObject({ issuer: b });
  });

  test('a session entry counts in size and is bounded by max like the other kinds', () => {
    const clock = testClock();
    const evicted: string[] = [];
    const list = new RevocationList({ clock, max: 2, onEvict: (entry) => evicted.push(`${entry.kind}:${entry.value}`) });
    list.revokeSession('s-1');
    list.revokeSession('s-2');
    list.revokeSession('s-3');
    expect(list.size).toBe(2);
    expect(evicted).toEqual(['session:s-1']);
    expect(() => list.revokeSession('')).toThrow('a session id is required');
  });
});

describe('a revocation scoped to an issuer only hits that issuer', () => {
  test('revokeSubject with issuer A refuses user-42 of A and accepts user-42 of B', async () => {
    const a = 'https://a.example/';
    const b = 'https://b.example/';
    const { clock, revocation, verifier } = setup({ issuer: [a, b] });
    revocation.revokeSubject('user-42', { issuer: a });

    expect((await rejection(verifier.verify(token(clock, { sub: 'user-42' }, a)))).reason).toBe('token_revoked');
    await expect(verifier.verify(token(clock, { sub: 'user-42' }, b))).resolves.toMatchObject({ issuer: b, subject: 'user-42' });
  });

  test('revokeClient with issuer B refuses app-1 of B and accepts app-1 of A', async () => {
    const a = 'https://a.example/';
    const b = 'https://b.example/';
    const { clock, revocation, verifier } = setup({ issuer: [a, b] });
    revocation.revokeClient('app-1', { issuer: b });

    expect((await rejection(verifier.verify(token(clock, { client_id: 'app-1' }, b)))).reason).toBe('token_revoked');
    await expect(verifier.verify(token(clock, { client_id: 'app-1' }, a))).resolves.toMatchObject({ issuer: a });
  });
});

describe('entries expire by themselves once no token they match can still be valid', () => {
  test('a jti entry lives until the token exp + 300 s, then is dropped when looked up', () => {
    const clock = testClock();
    const list = new RevocationList({ clock });
    const exp = clock.seconds() + 60;
    list.revoke({ jti: 'j1', expiresAt: exp });
    expect(list.size).toBe(1);

    clock.advance((60 + TOLERANCE - 1) * 1000);
    expect(list.isRevoked({ jti: 'j1', exp })).toBe(true);
    expect(list.size).toBe(1);

    clock.advance(2_000);
    expect(list.isRevoked({ jti: 'j1', exp })).toBe(false);
    expect(list.size).toBe(0);
  });

  test('a subject entry lives until cutoff + maxTokenLifetime + 300 s, then is dropped when looked up', () => {
    const clock = testClock();
    const list = new RevocationList({ clock, maxTokenLifetime: 3_600 });
    const cutoff = clock.seconds();
    list.revokeSubject('user-42', { before: cutoff });
    const claims = { sub: 'user-42', iat: cutoff, exp: cutoff + 3_600 };

    clock.advance((3_600 + TOLERANCE - 1) * 1000);
    expect(list.isRevoked(claims)).toBe(true);
    clock.advance(2_000);
    expect(list.isRevoked(claims)).toBe(false);
    expect(list.size).toBe(0);
  });

  test('a client entry lives until cutoff + maxTokenLifetime + 300 s, then is dropped when looked up', () => {
    const clock = testClock();
    const list = new RevocationList({ clock, maxTokenLifetime: 600 });
    const cutoff = clock.seconds();
    list.revokeClient('app-1', { before: cutoff });
    const claims = { client_id: 'app-1', iat: cutoff, exp: cutoff + 600 };

    clock.advance((600 + TOLERANCE - 1) * 1000);
    expect(list.isRevoked(claims)).toBe(true);
    clock.advance(2_000);
    expect(list.isRevoked(claims)).toBe(false);
    expect(list.size).toBe(0);
  });

  test('revoking a token that can no longer be accepted adds no entry', () => {
    const clock = testClock();
    const list = new RevocationList({ clock, maxTokenLifetime: 600 });
    list.revoke({ jti: 'old', expiresAt: clock.seconds() - TOLERANCE - 1 });
    list.revokeSubject('user-42', { before: clock.seconds() - 600 - TOLERANCE - 1 });
    expect(list.size).toBe(0);
  });
});

describe('the list has a hard size bound', () => {
  function collectGarbage(): () => void {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  }

  test('with max 1000, a million revoke() calls keep size <= 3000, count the early evictions, and keep the heap bounded', () => {
    const gc = collectGarbage();
    const clock = testClock();
    const evictions: string[] = [];
    const list = new RevocationList({ clock, max: 1_000, onEvict: ({ kind }) => void (evictions.length < 10 && evictions.push(kind)) });
    const exp = clock.seconds() + 300;
    gc();
    const heapBefore = process.memoryUsage().heapUsed;

    for (let i = 0; i < 1_000_000; i++) list.revoke({ jti: `jti-${i}`, expiresAt: exp });
    for (let i = 0; i < 10_000; i++) {
      list.revokeSubject(`user-${i}`);
      list.revokeClient(`client-${i}`);
    }

    gc();
    const growth = process.memoryUsage().heapUsed - heapBefore;
    figure(`1,000,000 revocations (max 1000): heap growth ${(growth / 1024 / 1024).toFixed(2)} MB, size ${list.size}, evicted ${list.evicted}`);
    expect(list.size).toBeLessThanOrEqual(3_000);
    expect(list.size).toBe(3_000);
    expect(list.evicted).toBe(1_000_000 - 1_000 + 2 * (10_000 - 1_000));
    expect(evictions[0]).toBe('jti');
    expect(growth).toBeLessThan(50 * 1024 * 1024);
    // The newest entries are the ones kept.
    expect(list.isRevoked({ jti: 'jti-999999', exp })).toBe(true);
    expect(list.isRevoked({ jti: 'jti-0', exp })).toBe(false);
  });

  test('with the default max, a million distinct jti revocations keep at most 100,000 entries', () => {
    const clock = testClock();
    const list = new RevocationList({ clock });
    const exp = clock.seconds() + 300;
    for (let i = 0; i < 1_000_000; i++) list.revoke({ jti: `jti-${i}`, expiresAt: exp });

    expect(list.size).toBe(100_000);
    expect(list.evicted).toBe(900_000);
  });
});

describe('the list must outlive the tokens it covers', () => {
  test('createVerifier throws when the RevocationList maxTokenLifetime is shorter than the verifier one', () => {
    const list = new RevocationList({ maxTokenLifetime: 3_600 });
    expect(() => createVerifier({ issuer: jwks.server.issuer, audience, revocation: list })).toThrow(TypeError);
    expect(() => createVerifier({ issuer: jwks.server.issuer, audience, revocation: list, maxTokenLifetime: 3_601 })).toThrow(/maxTokenLifetime/);
    expect(createVerifier({ issuer: jwks.server.issuer, audience, revocation: list, maxTokenLifetime: 3_600 }).revocation).toBe(list);
  });

  test('by default a verifier has its own list on its own clock; revocation: false has none', async () => {
    const clock = testClock();
    clock.advance(60_000);
    const verifier = createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, clock, maxTokenLifetime: 600 });
    expect(verifier.revocation).toBeInstanceOf(RevocationList);
    expect(verifier.revocation?.maxTokenLifetime).toBe(600);
    // Issued 30 s before the verifier's now, which is a minute ahead of the wall clock: only a
    // cutoff taken from the verifier's clock covers it.
    const issuedEarlier = token(clock, { iat: clock.seconds() - 30 });
    verifier.revocation?.revokeSubject('user-42');
    expect((await rejection(verifier.verify(issuedEarlier))).reason).toBe('token_revoked');

    expect(createVerifier({ issuer: jwks.server.issuer, audience, revocation: false }).revocation).toBeUndefined();
  });
});
