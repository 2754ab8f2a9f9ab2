import { createVerifier } from '@tokenward/core';
import { admin, decodeJwt, get, JOB, startServer, token, type Harness } from './support';

async function machineToken(harness: Harness): Promise<string> {
  const answer = await token(harness.server, JOB, { grant_type: 'client_credentials' });
  return answer.body.access_token;
}

const kidOf = (jwt: string) => decodeJwt(jwt).header.kid as string;

async function publishedKids(harness: Harness): Promise<string[]> {
  const jwks = await get(`${harness.server.url}/jwks.json`);
  return jwks.body.keys.map((key: { kid: string }) => key.kid);
}

/** A resource server's verifier on the server's clock, refetching the JWKS whenever it needs to. */
function resourceServer(harness: Harness) {
  return createVerifier({ issuer: harness.server.issuer, audience: harness.server.audience, clock: harness.now, jwks: { cooldown: 0 } });
}

describe('key rotation', () => {
  test('the next key is published first, signs only once activated, and the old key stays published', async () => {
    const harness = await startServer({ keyPublishLead: 600, accessTokenTtl: 900 });
    const verifier = resourceServer(harness);
    const before = await machineToken(harness);
    const oldKid = kidOf(before);
    await expect(verifier.verify(before)).resolves.toBeDefined();

    const published = await admin(harness.server, 'POST', '/admin/keys');
    expect(published.status).toBe(200);
    const newKid = published.body.kid;
    expect(await publishedKids(harness)).toEqual([oldKid, newKid]);
    expect(kidOf(await machineToken(harness))).toBe(oldKid);

    // Too early: resource servers may not have fetched the new key yet.
    expect(await admin(harness.server, 'POST', '/admin/keys/activate')).toMatchObject({ status: 409, body: { error: 'next_key_too_new' } });
    harness.advance(600);
    expect(await admin(harness.server, 'POST', '/admin/keys/activate')).toMatchObject({ status: 200, body: { kid: newKid } });

    const after = await machineToken(harness);
    expect(kidOf(after)).toBe(newKid);
    await expect(verifier.verify(after)).resolves.toBeDefined();
    // Tokens signed before the rotation keep working until they expire.
    await expect(verifier.verify(before)).resolves.toBeDefined();
    expect((await admin(harness.server, 'GET', '/admin/keys')).body.keys.map((k: { status: string }) => k.status)).toEqual(['retired', 'active']);
  });

  test('a retired key is removed only once every token it signed has expired (plus clock tolerance)', async () => {
    const harness = await startServer({ keyPublishLead: 0, accessTokenTtl: 300, keyRetireGrace: 300 });
    const oldKid = kidOf(await machineToken(harness));
    harness.server.publishNextKey();
    harness.server.activateNextKey();
    harness.advance(599);
    expect((await admin(harness.server, 'POST', '/admin/keys/prune')).body.removed).toEqual([]);
    harness.advance(1);
    expect((await admin(harness.server, 'POST', '/admin/keys/prune')).body.removed).toEqual([oldKid]);
    expect(await publishedKids(harness)).not.toContain(oldKid);
  });

  test('retired keys are also removed on their own, during later requests', async () => {
    const harness = await startServer({ keyPublishLead: 0, accessTokenTtl: 60, keyRetireGrace: 60 });
    const oldKid = kidOf(await machineToken(harness));
    harness.server.publishNextKey();
    harness.server.activateNextKey();
    harness.advance(121);
    await machineToken(harness);
    expect(await publishedKids(harness)).not.toContain(oldKid);
  });

  test('only one next key at a time, and activation needs one', async () => {
    const harness = await startServer();
    expect(await admin(harness.server, 'POST', '/admin/keys/activate')).toMatchObject({ status: 409, body: { error: 'no_next_key' } });
    expect((await admin(harness.server, 'POST', '/admin/keys')).status).toBe(200);
    expect(await admin(harness.server, 'POST', '/admin/keys')).toMatchObject({ status: 409, body: { error: 'next_key_exists' } });
  });
});

describe('emergency key removal', () => {
  test('the signing key leaves the JWKS at once, a new key signs, and tokens under the old kid are refused', async () => {
    const harness = await startServer();
    const verifier = resourceServer(harness);
    const compromised = await machineToken(harness);
    const kid = kidOf(compromised);
    await expect(verifier.verify(compromised)).resolves.toBeDefined();

    const removed = await admin(harness.server, 'DELETE', `/admin/keys/${kid}`);
    expect(removed).toMatchObject({ status: 200, body: { removed: kid, active: expect.any(String) } });
    expect(removed.body.active).not.toBe(kid);
    expect(await publishedKids(harness)).toEqual([removed.body.active]);

    const fresh = await machineToken(harness);
    expect(kidOf(fresh)).toBe(removed.body.active);
    // The unknown kid makes the verifier refetch; the vanished kid then stops verifying, cached tokens included.
    await expect(verifier.verify(fresh)).resolves.toBeDefined();
    await expect(verifier.verify(compromised)).rejects.toMatchObject({ reason: 'unknown_kid', status: 401 });
  });

  test('removing the active key promotes a published next key without waiting for its lead', async () => {
    const harness = await startServer({ keyPublishLead: 600 });
    const active = kidOf(await machineToken(harness));
    const next = harness.server.publishNextKey().kid;
    expect(harness.server.removeKey(active)).toMatchObject({ removed: active, active: next });
    expect(kidOf(await machineToken(harness))).toBe(next);
  });

  test('a next or retired key can be removed too; an unknown kid is 404', async () => {
    const harness = await startServer({ keyPublishLead: 0 });
    const first = kidOf(await machineToken(harness));
    const second = harness.server.publishNextKey().kid;
    harness.server.activateNextKey();
    const third = harness.server.publishNextKey().kid;
    expect((await admin(harness.server, 'DELETE', `/admin/keys/${first}`)).status).toBe(200);
    expect((await admin(harness.server, 'DELETE', `/admin/keys/${third}`)).status).toBe(200);
    expect(await publishedKids(harness)).toEqual([second]);
    expect((await admin(harness.server, 'DELETE', '/admin/keys/nope')).status).toBe(404);
  });

  test('key changes survive a restart', async () => {
    const harness = await startServer({ keyPublishLead: 0 });
    const removed = kidOf(await machineToken(harness));
    const { active } = harness.server.removeKey(removed);
    await harness.restart();
    expect(await publishedKids(harness)).toEqual([active]);
    expect(kidOf(await machineToken(harness))).toBe(active);
  });
});

describe('the admin API', () => {
  test('needs the admin token', async () => {
    const { server } = await startServer();
    const anonymous = await get(`${server.url}/admin/keys`);
    expect(anonymous.status).toBe(401);
    const wrong = await get(`${server.url}/admin/keys`, { authorization: 'Bearer guess' });
    expect(wrong.status).toBe(401);
  });

  test('does not exist without an adminToken option', async () => {
    const { server } = await startServer({ adminToken: undefined });
    expect((await admin(server, 'GET', '/admin/keys')).status).toBe(404);
  });
});
