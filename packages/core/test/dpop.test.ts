/**
 * Sender-constrained tokens in core: the `cnf` rule (binding.ts) and the DPoP proof checks of
 * RFC 9449 §4.3 (dpop/), one describe per rule. Tokens are signed by a key of a real JWKS server
 * on 127.0.0.1; proofs are minted with jose as a client would (test/support/dpop.ts). Each hostile
 * request differs from an accepted one only in the rule under test, and each test asserts the
 * exact reason, so removing a rule fails its test.
 */
import { generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { createVerifier, MemoryReplayStore, type TokenRequest, type TokenwardError, type Verifier, type VerifierOptions } from '@tokenward/core';
import { ath, dpopClient, proof, type DpopClient, type ProofOptions } from '../../../test/support/dpop';
import { serveOneKey } from '../../../test/support/jwks-server';
import { rejection, thrown } from '../../../test/support/observe';
import { b64url, json, mint, now } from '../../../test/support/tokens';
import { DPOP_ALGS } from '../../../test/support/challenges';
import { SignJWT, exportJWK } from 'jose';

const audience = 'https://api.example.com';
const origin = 'https://api.example.com';
const path = '/messages';
const jwks = serveOneKey('ES256', 'k1');

let client: DpopClient;
let other: DpopClient;
let verifier: Verifier;
beforeAll(async () => {
  client = await dpopClient('ES256');
  other = await dpopClient('ES256');
  verifier = makeVerifier();
});

function makeVerifier(options: Partial<VerifierOptions> = {}): Verifier {
  return createVerifier({ issuer: jwks.server.issuer, audience, jwksUri: jwks.server.jwksUri, ...options });
}

/** An access token bound to `jkt` (or with the `cnf` given). */
function boundToken(cnf: unknown = { jkt: client.jkt }, claims: Record<string, unknown> = {}): string {
  return mint(jwks.key, { issuer: jwks.server.issuer, audience }, { claims: { cnf, ...claims } });
}

/** A DPoP request: `DPoP <token>` and a proof for GET origin+path with the token's ath. */
async function dpopRequest(token: string, options: Partial<ProofOptions> & { by?: DpopClient; request?: Partial<TokenRequest> } = {}): Promise<TokenRequest> {
  const dpop = await proof(options.by ?? client, { method: 'GET', url: `${origin}${path}?page=2#top`, accessToken: token, ...options });
  return { authorization: `DPoP ${token}`, dpop, method: 'GET', url: `${path}?page=2`, origin, ...options.request };
}

async function refused(request: TokenRequest | Promise<TokenRequest>, v: Verifier = verifier): Promise<TokenwardError> {
  return rejection(Promise.resolve().then(async () => v.check(await request)));
}

async function accepted(request: TokenRequest | Promise<TokenRequest>, v: Verifier = verifier) {
  return v.check(await request);
}

describe('baseline: a bound token with a good proof is accepted', () => {
  test('DPoP scheme, one proof by the bound key, for this method, URL and token', async () => {
    const token = boundToken();
    const verified = await accepted(dpopRequest(token));
    expect(verified).toMatchObject({ subject: 'user-42', binding: { jkt: client.jkt } });
  });

  test('an unbound token with the Bearer scheme is still a bearer token', async () => {
    const verified = await accepted({ authorization: `Bearer ${mint(jwks.key, { issuer: jwks.server.issuer, audience })}` });
    expect(verified?.binding).toBeUndefined();
  });
});

describe('rule: a binding is never ignored (RFC 7800 cnf, RFC 9449 §7.2)', () => {
  test('a DPoP-bound token presented with the Bearer scheme is refused invalid_token', async () => {
    const error = await refused({ authorization: `Bearer ${boundToken()}` });
    expect(error).toMatchObject({ reason: 'dpop_bound_as_bearer', status: 401, code: 'invalid_token' });
  });

  test('also once the token is in the verified-token cache', async () => {
    const token = boundToken();
    await accepted(dpopRequest(token));
    await accepted(dpopRequest(token)); // its second verification stores it in the cache
    expect(thrown(() => verifier.check({ authorization: `Bearer ${token}` }))).toMatchObject({ reason: 'dpop_bound_as_bearer' });
  });

  test('an unbound token with the DPoP scheme is refused', async () => {
    const token = mint(jwks.key, { issuer: jwks.server.issuer, audience });
    expect(await refused(dpopRequest(token))).toMatchObject({ reason: 'token_not_dpop_bound', code: 'invalid_token' });
  });

  test.each([
    ['a cnf with only members we do not verify', { jwk: { kty: 'EC' } }],
    ['an empty cnf', {}],
    ['a cnf that is not an object', 'abc'],
    ['a cnf that is an array', [client?.jkt]],
  ])('%s is refused cnf_unsupported, with any scheme', async (_name, cnf) => {
    expect(await refused({ authorization: `Bearer ${boundToken(cnf)}` })).toMatchObject({ reason: 'cnf_unsupported', code: 'invalid_token' });
  });

  test('a jkt that is not a SHA-256 thumbprint is a claim of the wrong type', async () => {
    expect(await refused({ authorization: `Bearer ${boundToken({ jkt: 42 })}` })).toMatchObject({ reason: 'claim_invalid' });
    expect(await refused({ authorization: `Bearer ${boundToken({ jkt: 'short' })}` })).toMatchObject({ reason: 'claim_invalid' });
  });

  test('members beside jkt are allowed', async () => {
    const token = boundToken({ jkt: client.jkt, kid: 'k', 'x5t#S1': 'abc' });
    await expect(accepted(dpopRequest(token))).resolves.toMatchObject({ binding: { jkt: client.jkt } });
  });

  test('verify() alone cannot accept a bound token: its proof is in the request', async () => {
    await expect(verifier.verify(boundToken())).rejects.toMatchObject({ reason: 'binding_unproven' });
    await expect(verifier.verify(boundToken({ 'x5t#S256': 'a'.repeat(43) }))).rejects.toMatchObject({ reason: 'binding_unproven' });
  });
});

describe('rule: exactly one DPoP proof (RFC 9449 §4.3 check 1)', () => {
  test('the DPoP scheme without a DPoP header is dpop_proof_missing', async () => {
    expect(await refused({ ...(await dpopRequest(boundToken())), dpop: undefined })).toMatchObject({ reason: 'dpop_proof_missing', code: 'invalid_dpop_proof' });
  });

  test('two DPoP headers (a list, or joined by a comma as Node joins them) are dpop_proof_multiple', async () => {
    const token = boundToken();
    const one = await dpopRequest(token);
    const two = await dpopRequest(token);
    expect(await refused({ ...one, dpop: [one.dpop as string, two.dpop as string] })).toMatchObject({ reason: 'dpop_proof_multiple' });
    expect(await refused({ ...one, dpop: `${one.dpop as string}, ${two.dpop as string}` })).toMatchObject({ reason: 'dpop_proof_multiple' });
  });

  test('a DPoP proof with the Bearer scheme is a bad request', async () => {
    const token = mint(jwks.key, { issuer: jwks.server.issuer, audience });
    const request = await dpopRequest(token);
    expect(await refused({ ...request, authorization: `Bearer ${token}` })).toMatchObject({ reason: 'dpop_proof_with_bearer', status: 400, code: 'invalid_request' });
  });
});

describe('rule: the proof is a compact JWS under a size cap, with typ dpop+jwt (checks 2 and 4)', () => {
  test.each([
    ['not a JWS', 'abc'],
    ['five segments (JWE)', 'a.b.c.d.e'],
    ['padding', 'eyJhbGciOiJFUzI1NiJ9=.e30.AAAA'],
  ])('%s is dpop_proof_malformed', async (_name, value) => {
    expect(await refused({ ...(await dpopRequest(boundToken())), dpop: value })).toMatchObject({ reason: 'dpop_proof_malformed' });
  });

  test('a proof over the byte cap is refused before it is parsed', async () => {
    const token = boundToken();
    const small = makeVerifier({ dpop: { maxProofBytes: 600 } });
    await expect(accepted(dpopRequest(token), small)).resolves.toBeDefined();
    const big = await dpopRequest(token, { claims: { filler: 'x'.repeat(600) } });
    expect(await refused(big, small)).toMatchObject({ reason: 'dpop_proof_malformed' });
  });

  test.each([['jwt'], ['at+jwt'], [undefined]])('typ %s is dpop_typ_invalid', async (typ) => {
    expect(await refused(dpopRequest(boundToken(), { header: { typ } }))).toMatchObject({ reason: 'dpop_typ_invalid' });
  });

  test('typ is matched as a media type: application/dpop+jwt and DPoP+JWT are accepted', async () => {
    await expect(accepted(dpopRequest(boundToken(), { header: { typ: 'application/dpop+jwt' } }))).resolves.toBeDefined();
    await expect(accepted(dpopRequest(boundToken(), { header: { typ: 'DPoP+JWT' } }))).resolves.toBeDefined();
  });

  test('claims missing or of the wrong type are dpop_proof_malformed', async () => {
    for (const claims of [{ jti: undefined }, { jti: 7 }, { jti: 'x'.repeat(257) }, { htm: undefined }, { htu: 42 }]) {
      expect(await refused(dpopRequest(boundToken(), { claims }))).toMatchObject({ reason: 'dpop_proof_malformed' });
    }
  });

  test('an unknown crit extension makes the proof unusable', async () => {
    // Signed by hand: jose refuses to sign a crit it does not know.
    const token = boundToken();
    const input = `${json({ typ: 'dpop+jwt', alg: 'ES256', jwk: client.jwk, crit: ['x'], x: 1 })}.${json({ jti: 'j-crit', htm: 'GET', htu: `${origin}${path}`, iat: now(), ath: ath(token) })}`;
    const signature = sign('sha256', Buffer.from(input), { key: KeyObject.from(client.privateKey), dsaEncoding: 'ieee-p1363' }).toString('base64url');
    expect(await refused({ ...(await dpopRequest(token)), dpop: `${input}.${signature}` })).toMatchObject({ reason: 'dpop_proof_malformed' });
  });
});

describe('rule: an asymmetric alg from the allowlist, a public jwk that fits it (checks 5-7)', () => {
  /** A proof with `header` and `claims` as given, signed by `sign` (default: no signature). */
  function forgedProof(header: Record<string, unknown>, claims: Record<string, unknown>, signature = 'AAAA'): string {
    return `${json(header)}.${json(claims)}.${signature}`;
  }
  const claimsFor = (token: string) => ({ jti: 'j1', htm: 'GET', htu: `${origin}${path}`, iat: now(), ath: ath(token) });

  test.each([['none'], ['HS256'], ['RSA-OAEP']])('alg %s is dpop_alg_not_allowed', async (alg) => {
    const token = boundToken();
    const request = await dpopRequest(token);
    expect(await refused({ ...request, dpop: forgedProof({ typ: 'dpop+jwt', alg, jwk: client.jwk }, claimsFor(token)) })).toMatchObject({ reason: 'dpop_alg_not_allowed' });
  });

  test('an alg outside the configured list is refused', async () => {
    const esOnly = makeVerifier({ dpop: { algorithms: ['EdDSA'] } });
    expect(await refused(dpopRequest(boundToken()), esOnly)).toMatchObject({ reason: 'dpop_alg_not_allowed' });
  });

  test('the challenge lists the accepted algs', async () => {
    const error = await refused(dpopRequest(boundToken(), { header: { typ: 'jwt' } }));
    expect(error.wwwAuthenticate).toBe(`Bearer realm="api", DPoP realm="api", error="invalid_dpop_proof", error_description="DPoP proof type is not dpop+jwt", algs="${DPOP_ALGS}"`);
  });

  test('a missing jwk, a private one, a symmetric one, a small RSA one, or one of another curve is dpop_jwk_invalid', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const privateJwk = privateKey.export({ format: 'jwk' });
    const rsa1024 = await exportJWK(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey);
    const p384 = await exportJWK(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey);
    for (const jwk of [undefined, privateJwk, { kty: 'oct', k: 'c2VjcmV0' }, p384]) {
      expect(await refused(dpopRequest(boundToken(), { header: { jwk } }))).toMatchObject({ reason: 'dpop_jwk_invalid' });
    }
    const rsaToken = boundToken();
    const request = await dpopRequest(rsaToken);
    expect(await refused({ ...request, dpop: forgedProof({ typ: 'dpop+jwt', alg: 'RS256', jwk: rsa1024 }, claimsFor(rsaToken)) })).toMatchObject({ reason: 'dpop_jwk_invalid' });
  });

  test("a jwk whose own alg is not the proof's is dpop_jwk_invalid, though the key would verify", async () => {
    const token = boundToken();
    expect(await refused(dpopRequest(token, { header: { jwk: { ...client.jwk, alg: 'ES384' } } }))).toMatchObject({ reason: 'dpop_jwk_invalid' });
  });

  test("a proof signed by another key than its header's jwk is dpop_signature_invalid", async () => {
    const token = boundToken();
    // The header carries the bound client's key; the signature is the other client's.
    const dpop = await new SignJWT({ jti: 'j-forged', htm: 'GET', htu: `${origin}${path}`, iat: now(), ath: ath(token) })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: client.jwk })
      .sign(other.privateKey);
    expect(await refused({ ...(await dpopRequest(token)), dpop })).toMatchObject({ reason: 'dpop_signature_invalid' });
  });

  test('a proof by a key other than the bound one is the token refused: dpop_key_mismatch (invalid_token)', async () => {
    const error = await refused(dpopRequest(boundToken(), { by: other }));
    expect(error).toMatchObject({ reason: 'dpop_key_mismatch', code: 'invalid_token' });
    expect(error.wwwAuthenticate).toBe(`Bearer realm="api", DPoP realm="api", error="invalid_token", error_description="Token is bound to another DPoP key", algs="${DPOP_ALGS}"`);
  });

  test.each([['EdDSA'], ['RS256'], ['PS256'], ['ES384']])('a %s proof key is accepted', async (alg) => {
    const keyed = await dpopClient(alg);
    await expect(accepted(dpopRequest(boundToken({ jkt: keyed.jkt }), { by: keyed }))).resolves.toMatchObject({ binding: { jkt: keyed.jkt } });
  });
});

describe('rule: htm is the request method (check 8)', () => {
  test('a proof for POST on a GET request is dpop_htm_mismatch', async () => {
    expect(await refused(dpopRequest(boundToken(), { method: 'POST' }))).toMatchObject({ reason: 'dpop_htm_mismatch' });
  });

  test('methods are case-sensitive (RFC 9110 §9.1)', async () => {
    expect(await refused(dpopRequest(boundToken(), { method: 'get' }))).toMatchObject({ reason: 'dpop_htm_mismatch' });
  });
});

describe('rule: htu is the request URI without query and fragment, normalised (check 9)', () => {
  test.each([
    ['another path', `${origin}/other`],
    ['another host', `https://evil.example.com${path}`],
    ['another scheme', `http://api.example.com${path}`],
    ['another port', `https://api.example.com:8443${path}`],
    ['a path prefix', `${origin}${path}/x`],
    ['an encoded slash for a slash', `${origin}%2Fmessages`],
    ['userinfo', `https://user@api.example.com${path}`],
    ['not a URL', 'messages'],
    ['another protocol', `ftp://api.example.com${path}`],
  ])('%s is dpop_htu_mismatch', async (_name, url) => {
    expect(await refused(dpopRequest(boundToken(), { url }))).toMatchObject({ reason: 'dpop_htu_mismatch' });
  });

  test.each([
    ['an upper-case scheme and host', `HTTPS://API.Example.COM${path}`],
    ['the default port', `https://api.example.com:443${path}`],
    ['a dot segment', `${origin}/x/..${path}`],
    ['a percent-encoded unreserved character', `${origin}/m%65ssages`],
    ['no query or fragment', `${origin}${path}`],
  ])('%s matches the same URI', async (_name, url) => {
    await expect(accepted(dpopRequest(boundToken(), { url }))).resolves.toBeDefined();
  });

  test('percent-encodings match whatever the case of their hex digits', async () => {
    const token = boundToken();
    const request = await dpopRequest(token, { url: `${origin}/a%2fb`, request: { url: '/a%2Fb' } });
    await expect(accepted(request)).resolves.toBeDefined();
  });

  test('a request target in absolute form cannot borrow another origin', async () => {
    const request = dpopRequest(boundToken(), { url: `https://evil.example.com${path}`, request: { url: `https://evil.example.com${path}` } });
    expect(await refused(request)).toMatchObject({ reason: 'dpop_htu_mismatch' });
  });

  test.each([
    ['a fragment', 'api.example.com#'],
    ['a path and a query', 'api.example.com/users?'],
    ['a backslash', 'api.example.com\\users'],
    ['credentials', 'user@api.example.com'],
    ['nothing', ''],
  ])('a Host with %s is no origin: no proof matches it', async (_name, host) => {
    // A proof captured for /users must not be usable on another path by shaping the Host header.
    const request = dpopRequest(boundToken(), { url: `https://api.example.com/users`, request: { origin: `https://${host}`, url: '/admin/delete' } });
    expect(await refused(request)).toMatchObject({ reason: 'dpop_htu_mismatch' });
  });

  test('without an origin for the request, no htu can match: refused, never guessed', async () => {
    expect(await refused(dpopRequest(boundToken(), { request: { origin: undefined } }))).toMatchObject({ reason: 'dpop_htu_mismatch' });
  });

  test('publicOrigin wins over what the request says (an app behind a proxy)', async () => {
    const behindProxy = makeVerifier({ publicOrigin: 'https://public.example.com/' });
    const request = dpopRequest(boundToken(), { url: `https://public.example.com${path}`, request: { origin: 'http://10.0.0.7:8080' } });
    await expect(accepted(request, behindProxy)).resolves.toBeDefined();
    expect(await refused(dpopRequest(boundToken(), { request: { origin: 'https://public.example.com' } }), behindProxy)).toMatchObject({ reason: 'dpop_htu_mismatch' });
  });

  test('publicOrigin must be an origin', () => {
    expect(() => makeVerifier({ publicOrigin: 'https://api.example.com/base' })).toThrow('publicOrigin must be scheme://host[:port]');
    expect(() => makeVerifier({ publicOrigin: 'api.example.com' })).toThrow('publicOrigin');
  });
});

describe('rule: iat within the window, by default 300 s old to 30 s ahead (check 11)', () => {
  test.each([
    ['301 s old', -301],
    ['31 s ahead', 31],
  ])('a proof %s is dpop_iat_invalid', async (_name, offset) => {
    expect(await refused(dpopRequest(boundToken(), { iat: now() + offset }))).toMatchObject({ reason: 'dpop_iat_invalid' });
  });

  test.each([
    ['299 s old', -299],
    ['29 s ahead', 29],
  ])('a proof %s is accepted', async (_name, offset) => {
    await expect(accepted(dpopRequest(boundToken(), { iat: now() + offset }))).resolves.toBeDefined();
  });

  test('a proof without iat, or with a string iat, is dpop_iat_invalid', async () => {
    expect(await refused(dpopRequest(boundToken(), { claims: { iat: undefined } }))).toMatchObject({ reason: 'dpop_iat_invalid' });
    expect(await refused(dpopRequest(boundToken(), { claims: { iat: String(now()) } }))).toMatchObject({ reason: 'dpop_iat_invalid' });
  });

  test('the window is an option (±5 minutes for the MCP conformance suite)', async () => {
    const wide = makeVerifier({ dpop: { maxAge: 300, leeway: 300 } });
    await expect(accepted(dpopRequest(boundToken(), { iat: now() + 290 }), wide)).resolves.toBeDefined();
    const narrow = makeVerifier({ dpop: { maxAge: 10, leeway: 0 } });
    expect(await refused(dpopRequest(boundToken(), { iat: now() - 20 }), narrow)).toMatchObject({ reason: 'dpop_iat_invalid' });
  });
});

describe('rule: ath is the hash of the access token (check 12)', () => {
  test('a proof without ath is dpop_ath_mismatch', async () => {
    expect(await refused(dpopRequest(boundToken(), { claims: { ath: undefined } }))).toMatchObject({ reason: 'dpop_ath_mismatch' });
  });

  test("a proof for another token of the same key is dpop_ath_mismatch", async () => {
    const token = boundToken();
    const forOther = await dpopRequest(boundToken());
    expect(await refused({ ...forOther, authorization: `DPoP ${token}` })).toMatchObject({ reason: 'dpop_ath_mismatch' });
  });
});

describe('rule: a proof is used once (RFC 9449 §11.1)', () => {
  test('the same proof twice is dpop_replayed the second time', async () => {
    const request = await dpopRequest(boundToken());
    await expect(accepted(request)).resolves.toBeDefined();
    expect(await refused(request)).toMatchObject({ reason: 'dpop_replayed' });
  });

  test('the same jti from another key is another proof', async () => {
    const jti = `shared-${Math.random()}`;
    await expect(accepted(dpopRequest(boundToken(), { jti }))).resolves.toBeDefined();
    await expect(accepted(dpopRequest(boundToken({ jkt: other.jkt }), { jti, by: other }))).resolves.toBeDefined();
  });

  test('a refused proof uses up nothing: fixed, it is accepted', async () => {
    const token = boundToken();
    const jti = `retry-${Math.random()}`;
    expect(await refused(dpopRequest(token, { jti, method: 'POST' }))).toMatchObject({ reason: 'dpop_htm_mismatch' });
    await expect(accepted(dpopRequest(token, { jti }))).resolves.toBeDefined();
  });

  test('the memory store is bounded: full of replayable proofs, it refuses new ones (503) instead of forgetting old ones', async () => {
    let clockOffset = 0;
    const clock = () => Date.now() + clockOffset;
    let full = 0;
    const store = new MemoryReplayStore({ max: 2, onFull: () => full++, clock });
    const small = makeVerifier({ dpop: { replay: store }, clock });
    const token = boundToken();
    const first = await dpopRequest(token);
    await accepted(first, small);
    await accepted(dpopRequest(token), small);
    expect(await refused(dpopRequest(token), small)).toMatchObject({ reason: 'dpop_replay_unavailable', status: 503 });
    expect({ size: store.size, refused: store.refused, full }).toEqual({ size: 2, refused: 1, full: 1 });
    // The first proof is still remembered: a flood cannot reopen its replay.
    expect(await refused(first, small)).toMatchObject({ reason: 'dpop_replayed' });
    // Once the remembered proofs are too old to be accepted anywhere, they make room.
    clockOffset += 302_000;
    await expect(accepted(dpopRequest(token, { iat: Math.floor(clock() / 1000) }), small)).resolves.toBeDefined();
  });

  test('a store answering with any thenable is waited for (a replay from such a store is refused)', async () => {
    const thenable = (answer: boolean) => ({ then: (resolve: (v: boolean) => void) => setTimeout(() => resolve(answer), 5) });
    const replayed = makeVerifier({ dpop: { replay: { use: () => thenable(false) as unknown as PromiseLike<boolean> } } });
    expect(await refused(dpopRequest(boundToken()), replayed)).toMatchObject({ reason: 'dpop_replayed' });
    const fresh = makeVerifier({ dpop: { replay: { use: () => thenable(true) as unknown as PromiseLike<boolean> } } });
    await expect(accepted(dpopRequest(boundToken()), fresh)).resolves.toBeDefined();
  });

  test('a store that does not answer in time refuses the proof with a 503', async () => {
    const silent = makeVerifier({ dpop: { replay: { use: () => new Promise<boolean>(() => undefined) }, replayTimeout: 50 } });
    expect(await refused(dpopRequest(boundToken()), silent)).toMatchObject({ reason: 'dpop_replay_unavailable', status: 503 });
  });

  test('a store that cannot answer refuses the proof with a 503, never accepts it', async () => {
    const broken = makeVerifier({ dpop: { replay: { use: () => { throw new Error('store down'); } } } });
    const error = await refused(dpopRequest(boundToken()), broken);
    expect(error).toMatchObject({ reason: 'dpop_replay_unavailable', status: 503 });
    expect(error.headers).toMatchObject({ 'Retry-After': '30' });
    const rejecting = makeVerifier({ dpop: { replay: { use: () => Promise.reject(new Error('timeout')) } } });
    expect(await refused(dpopRequest(boundToken()), rejecting)).toMatchObject({ reason: 'dpop_replay_unavailable' });
    const asyncStore = makeVerifier({ dpop: { replay: { use: async () => false } } });
    expect(await refused(dpopRequest(boundToken()), asyncStore)).toMatchObject({ reason: 'dpop_replayed' });
  });

  test('a cached token still needs a fresh proof on every request', async () => {
    const token = boundToken();
    await accepted(dpopRequest(token)); // its second verification, next, stores it in the cache
    const request = await dpopRequest(token);
    await accepted(request);
    expect(await refused({ ...request, dpop: undefined })).toMatchObject({ reason: 'dpop_proof_missing' });
    expect(await refused(request)).toMatchObject({ reason: 'dpop_replayed' });
  });
});

describe('rule: server nonces, when turned on (RFC 9449 §9)', () => {
  let clockOffset = 0;
  const clock = () => Date.now() + clockOffset;
  let withNonces: Verifier;
  beforeAll(() => {
    withNonces = makeVerifier({ dpop: { nonce: { lifetime: 60, secret: 'a secret of sixteen bytes or more' } }, clock });
  });

  test('a proof without the nonce is answered use_dpop_nonce with a DPoP-Nonce to use', async () => {
    const error = await refused(dpopRequest(boundToken()), withNonces);
    expect(error).toMatchObject({ reason: 'dpop_nonce_required', status: 401, code: 'use_dpop_nonce' });
    expect(error.headers['DPoP-Nonce']).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(error.wwwAuthenticate).toContain('DPoP realm="api", error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"');
  });

  test('the proof with that nonce is accepted; during the next window too, not after', async () => {
    const nonce = (await refused(dpopRequest(boundToken()), withNonces)).headers['DPoP-Nonce'];
    await expect(accepted(dpopRequest(boundToken(), { nonce }), withNonces)).resolves.toBeDefined();
    clockOffset += 60_000;
    await expect(accepted(dpopRequest(boundToken(), { nonce, iat: Math.floor(clock() / 1000) }), withNonces)).resolves.toBeDefined();
    clockOffset += 60_000;
    const stale = await refused(dpopRequest(boundToken(), { nonce, iat: Math.floor(clock() / 1000) }), withNonces);
    expect(stale).toMatchObject({ reason: 'dpop_nonce_required' });
    expect(stale.headers['DPoP-Nonce']).not.toBe(nonce);
  });

  test('instances sharing the secret accept each other\'s nonces; another secret does not', async () => {
    const nonce = (await refused(dpopRequest(boundToken()), withNonces)).headers['DPoP-Nonce'];
    const twin = makeVerifier({ dpop: { nonce: { lifetime: 60, secret: 'a secret of sixteen bytes or more' } }, clock });
    const stranger = makeVerifier({ dpop: { nonce: { lifetime: 60, secret: 'another secret, sixteen+ bytes' } }, clock });
    await expect(accepted(dpopRequest(boundToken(), { nonce, iat: Math.floor(clock() / 1000) }), twin)).resolves.toBeDefined();
    expect(await refused(dpopRequest(boundToken(), { nonce, iat: Math.floor(clock() / 1000) }), stranger)).toMatchObject({ reason: 'dpop_nonce_required' });
  });

  test('a nonce of other characters is refused as not ours, never an error', async () => {
    const nonce = (await refused(dpopRequest(boundToken()), withNonces)).headers['DPoP-Nonce'] as string;
    for (const wrong of [`é${nonce.slice(1)}`, `${nonce}x`, 'x'.repeat(200), '']) {
      expect(await refused(dpopRequest(boundToken(), { nonce: wrong, iat: Math.floor(clock() / 1000) }), withNonces)).toMatchObject({ reason: 'dpop_nonce_required' });
    }
  });

  test('a short secret is refused at startup', () => {
    expect(() => makeVerifier({ dpop: { nonce: { secret: 'short' } } })).toThrow('at least 16 bytes');
  });
});

describe('rule: modes per verifier and per route', () => {
  const bearer = () => ({ authorization: `Bearer ${mint(jwks.key, { issuer: jwks.server.issuer, audience })}` });

  test("'required' refuses a Bearer token: dpop_required with only the DPoP challenge", async () => {
    const required = makeVerifier({ dpop: { mode: 'required' } });
    const error = await refused(bearer(), required);
    expect(error).toMatchObject({ reason: 'dpop_required', status: 401, code: undefined });
    expect(error.wwwAuthenticate).toBe(`DPoP realm="api", algs="${DPOP_ALGS}"`);
    await expect(accepted(dpopRequest(boundToken()), required)).resolves.toBeDefined();
    expect((await refused({ authorization: undefined }, required)).wwwAuthenticate).toBe(`DPoP realm="api", algs="${DPOP_ALGS}"`);
  });

  test("'disabled' does not accept the DPoP scheme, challenges Bearer only, and still never accepts a bound token", async () => {
    const disabled = makeVerifier({ dpop: { mode: 'disabled' } });
    const error = await refused(dpopRequest(boundToken()), disabled);
    expect(error).toMatchObject({ reason: 'credentials_missing' });
    expect(error.wwwAuthenticate).toBe('Bearer realm="api"');
    expect(await refused({ authorization: `Bearer ${boundToken()}` }, disabled)).toMatchObject({ reason: 'dpop_bound_as_bearer' });
    await expect(accepted(bearer(), disabled)).resolves.toBeDefined();
  });

  test('a route may require DPoP where the verifier allows both', async () => {
    const error = await rejection(Promise.resolve().then(() => verifier.check(bearer(), { dpop: 'required' })));
    expect(error).toMatchObject({ reason: 'dpop_required' });
    await expect(Promise.resolve(verifier.check(await dpopRequest(boundToken()), { dpop: 'required' }))).resolves.toBeDefined();
  });

  test('a route may turn DPoP off where the verifier allows it', async () => {
    expect(await rejection(Promise.resolve().then(async () => verifier.check(await dpopRequest(boundToken()), { dpop: 'disabled' })))).toMatchObject({ reason: 'credentials_missing' });
  });

  test('a later stage that requires DPoP refuses a token admitted as Bearer', async () => {
    const admitted = (await accepted(bearer())) as NonNullable<Awaited<ReturnType<Verifier['check']>>>;
    expect(thrown(() => verifier.check({ authorization: undefined }, { dpop: 'required' }, admitted))).toMatchObject({ reason: 'dpop_required' });
  });

  test('an unknown mode is a TypeError at startup', () => {
    expect(() => makeVerifier({ dpop: { mode: 'sometimes' as never } })).toThrow('dpop.mode must be one of');
  });
});

describe('rule: no part of a proof ever reaches a response', () => {
  test('descriptions are fixed and bodies hold only error and error_description', async () => {
    const request = await dpopRequest(boundToken(), { method: 'POST', jti: 'secret-jti-value' });
    const error = await refused(request);
    const wire = JSON.stringify({ headers: error.headers, body: error.body, json: error });
    expect(wire).not.toContain('secret-jti-value');
    expect(wire).not.toContain(request.dpop as string);
    expect(wire).not.toContain(b64url(JSON.stringify(client.jwk)).slice(0, 20));
  });
});

describe('each rejection is its own error', () => {
  test('one refused key import, remembered, still answers each request with its own challenges', async () => {
    const { startJwksServer } = await import('../../../test/support/jwks-server');
    const { makeKey } = await import('../../../test/support/keys');
    const key = makeKey('ES256', 'off-curve');
    // A P-256 point that is not on the curve: vetted (the members are well formed), refused by jose.
    const broken = await startJwksServer([{ ...key.jwk, y: key.jwk.x }]);
    try {
      const v = createVerifier({ issuer: broken.issuer, audience, jwksUri: broken.jwksUri, tokenCache: false });
      const t = () => mint(key, { issuer: broken.issuer, audience });
      const [allowed, bearerOnly] = await Promise.all([
        rejection(Promise.resolve().then(() => v.check({ authorization: `Bearer ${t()}` }))),
        rejection(Promise.resolve().then(() => v.check({ authorization: `Bearer ${t()}` }, { dpop: 'disabled' }))),
      ]);
      expect([allowed.reason, bearerOnly.reason]).toEqual(['key_mismatch', 'key_mismatch']);
      expect(allowed).not.toBe(bearerOnly);
      expect(allowed.wwwAuthenticate).toContain('DPoP realm="api"');
      expect(bearerOnly.wwwAuthenticate).not.toContain('DPoP');
    } finally {
      await broken.close();
    }
  });
});
