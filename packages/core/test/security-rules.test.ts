/**
 * The rules of README "What is enforced" (the attack classes of its "Security" table), one
 * describe per rule, each test named after the rule it holds. Everything goes through
 * createVerifier and real JWKS servers on 127.0.0.1; nothing of ours is mocked. Each hostile
 * token is built so that the rule under test is the only thing between it and acceptance (a good
 * signature by a published key, valid claims), and each test asserts the exact reason and status,
 * so removing a rule fails its test.
 */
import { sign as cryptoSign } from 'node:crypto';
import { createVerifier, isTokenwardError, type AccessToken, type TokenwardEvent, type Verifier, type VerifierOptions } from '@tokenward/core';
import { startRouteServer, sendJson } from '../../../test/support/http-routes';
import { serveKeys, startJwksServer, type JwksServer } from '../../../test/support/jwks-server';
import { makeKey, type TestKey } from '../../../test/support/keys';
import { cacheToken, refuses } from '../../../test/support/observe';
import { b64url, json, now, signInput } from '../../../test/support/tokens';

type Json = Record<string, unknown>;

const audience = 'https://api.example.com';
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
// P-256 group order n (SEC 2 §2.4.2).
const P256_N = Buffer.from('ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551', 'hex');

// Four keys, and the RSA one published again as a PS256 key under a kid of its own.
const published = serveKeys({ rs: 'RS256', es: 'ES256', es384: 'ES384', ed: 'EdDSA' }, (keys) => [
  ...Object.values(keys).map((key) => key.jwk),
  { ...keys.rs.jwk, kid: 'rs-ps256', alg: 'PS256' },
]);
const { rs, es, es384, ed } = published.keys;
/** Another RSA key that claims the kid of the real one. */
let impostor: TestKey;
/** The verifier most tests share: defaults, except that each verify is a full one. */
let verifier: Verifier;

beforeAll(() => {
  impostor = makeKey('RS256', 'rs');
  verifier = makeVerifier();
});

function makeVerifier(options: Partial<VerifierOptions> = {}): Verifier {
  return createVerifier({ issuer: published.server.issuer, audience, jwksUri: published.server.jwksUri, tokenCache: false, ...options });
}

/** Valid claims at `at` (default: now); an `undefined` in `extra` removes that claim. */
function claims(extra: Json = {}, at = now()): Json {
  return { iss: published.server.issuer, aud: audience, sub: 'user-42', iat: at, exp: at + 300, scope: 'read:messages', ...extra };
}

/** `header.payload` exactly as given, with a good `alg` signature by `key` over those bytes. */
function signSegments(key: TestKey, alg: string, header: string, payload: string): string {
  const input = `${header}.${payload}`;
  return `${input}.${signInput(alg, key.privateKey, input)}`;
}

const SIGNABLE = /^(?:[RPE]S(?:256|384|512)|EdDSA)$/;

/** A token signed by `key`; the header defaults to the key's alg and kid (an odd header alg is signed as the key's). */
function token(key: TestKey, header: Json = {}, payload: Json = claims()): string {
  const h = { alg: key.alg, kid: key.kid, ...header };
  const alg = typeof h.alg === 'string' && SIGNABLE.test(h.alg) ? h.alg : key.alg;
  return signSegments(key, alg, json(h), json(payload));
}

/** A token whose header and payload are given as JSON text (for keys JSON.stringify would not write). */
function tokenFromText(key: TestKey, header: string, payload: string): string {
  return signSegments(key, key.alg, b64url(header), b64url(payload));
}

async function accepts(promise: Promise<AccessToken>): Promise<AccessToken> {
  const verified = await promise;
  expect(verified.issuer).toEqual(expect.any(String));
  return verified;
}

const segment = (t: string, i: number): string => t.split('.')[i] as string;
const replaceSegment = (t: string, i: number, value: string): string => t.split('.').map((s, j) => (j === i ? value : s)).join('.');

describe('baseline: a correctly signed, valid token is accepted', () => {
  test('a token from each published key is accepted, so each refusal below is the rule at work', async () => {
    await accepts(verifier.verify(token(rs)));
    await accepts(verifier.verify(token(es)));
    await accepts(verifier.verify(token(es384)));
    await accepts(verifier.verify(token(ed)));
    await accepts(verifier.verify(token(rs, { alg: 'PS256', kid: 'rs-ps256' })));
  });
});

describe('rule: alg comes from an allowlist of asymmetric algorithms; none and HS* are never accepted', () => {
  test.each(['none', 'None', 'NONE', 'nOnE'])('alg %s with an empty signature is refused', async (alg) => {
    await refuses(verifier.verify(`${json({ alg, kid: 'rs' })}.${json(claims())}.`), 'token_malformed');
  });

  test.each(['none', 'None', 'NONE', 'nOnE'])('alg %s with a junk signature is refused', async (alg) => {
    await refuses(verifier.verify(`${json({ alg, kid: 'rs' })}.${json(claims())}.${b64url('junk-signature')}`), 'alg_not_allowed');
  });

  test.each(['none', 'None'])('alg %s carrying a real RS256 signature of the same input is refused', async (alg) => {
    const input = `${json({ alg, kid: 'rs' })}.${json(claims())}`;
    await refuses(verifier.verify(`${input}.${signInput('RS256', rs.privateKey, input)}`), 'alg_not_allowed');
  });

  const secrets: Array<[string, () => Buffer]> = [
    ['the SPKI PEM', () => Buffer.from(rs.publicKey.export({ type: 'spki', format: 'pem' }) as string)],
    ['the PKCS#1 PEM', () => Buffer.from(rs.publicKey.export({ type: 'pkcs1', format: 'pem' }) as string)],
    ['the PEM without its final newline', () => Buffer.from((rs.publicKey.export({ type: 'spki', format: 'pem' }) as string).trimEnd())],
    ['the SPKI DER', () => rs.publicKey.export({ type: 'spki', format: 'der' })],
    ['the published JWK as JSON', () => Buffer.from(JSON.stringify(rs.jwk))],
    ['the bare public JWK as JSON', () => Buffer.from(JSON.stringify(rs.publicKey.export({ format: 'jwk' })))],
  ];
  test.each(secrets)('HS256 keyed with %s of the RSA public key is refused', async (_form, secret) => {
    const input = `${json({ alg: 'HS256', kid: 'rs' })}.${json(claims())}`;
    await refuses(verifier.verify(`${input}.${signInput('HS256', secret(), input)}`), 'alg_not_allowed');
  });

  test.each(['HS384', 'HS512'])('%s keyed with the RSA public key PEM is refused', async (alg) => {
    const input = `${json({ alg, kid: 'rs' })}.${json(claims())}`;
    const pem = Buffer.from(rs.publicKey.export({ type: 'spki', format: 'pem' }) as string);
    await refuses(verifier.verify(`${input}.${signInput(alg, pem, input)}`), 'alg_not_allowed');
  });

  test('a verifier cannot even be configured with HS256 or none', () => {
    expect(() => makeVerifier({ algorithms: ['RS256', 'HS256'] })).toThrow(TypeError);
    expect(() => makeVerifier({ algorithms: ['none'] })).toThrow(TypeError);
    expect(() => makeVerifier({ algorithms: [] })).toThrow(TypeError);
  });

  test('a good token whose alg is outside the configured subset is refused', async () => {
    await refuses(makeVerifier({ algorithms: ['ES256'] }).verify(token(rs)), 'alg_not_allowed');
  });

  test.each([[undefined], [['RS256']], [{ alg: 'RS256' }], [256], ['rs256']])('an alg of %j is refused', async (alg) => {
    await refuses(verifier.verify(token(rs, { alg }, claims())), 'alg_not_allowed');
  });
});

describe('rule: the JWK kty, crv and alg must match the header alg', () => {
  test('an ES256 token under the kid of an RSA key is refused', async () => {
    await refuses(verifier.verify(token(es, { kid: 'rs' })), 'key_mismatch');
  });

  test('an RS256 header under the kid of an EC key is refused', async () => {
    await refuses(verifier.verify(token(rs, { kid: 'es' })), 'key_mismatch');
  });

  test('an ES384 token under the kid of a P-256 key is refused', async () => {
    await refuses(verifier.verify(token(es384, { kid: 'es' })), 'key_mismatch');
  });

  test('an EdDSA header under the kid of an EC key is refused', async () => {
    await refuses(verifier.verify(token(ed, { kid: 'es' })), 'key_mismatch');
  });

  test('an RS256 token under a JWK whose alg is PS256 is refused, although the RSA key signed it', async () => {
    await accepts(verifier.verify(token(rs, { alg: 'PS256', kid: 'rs-ps256' })));
    await refuses(verifier.verify(token(rs, { alg: 'RS256', kid: 'rs-ps256' })), 'key_mismatch');
  });
});

describe('rule: keys come only from the configured JWKS; jku, x5u, x5c and jwk headers are never followed', () => {
  let attacker: TestKey;
  beforeAll(() => {
    attacker = makeKey('ES256', 'attacker');
  });

  test('a token carrying its own key in a jwk header, signed with that key, is refused', async () => {
    await refuses(verifier.verify(token(attacker, { jwk: attacker.jwk })), 'key_reference_header');
    // Also under the kid of a published key, and without any kid.
    await refuses(verifier.verify(token(attacker, { kid: 'es', jwk: attacker.jwk })), 'key_reference_header');
    await refuses(verifier.verify(token(attacker, { kid: undefined, jwk: attacker.jwk })), 'key_reference_header');
  });

  test.each(['jku', 'x5u'])('a %s header pointing at the attacker JWKS on a real server is refused, and that server gets no request', async (name) => {
    const evil = await startRouteServer({ '/jwks.json': (res) => sendJson(res, { keys: [attacker.jwk] }) });
    try {
      await refuses(verifier.verify(token(attacker, { [name]: `${evil.origin}/jwks.json` })), 'key_reference_header');
      await refuses(verifier.verify(token(attacker, { kid: 'es', [name]: `${evil.origin}/jwks.json` })), 'key_reference_header');
      // Long enough for a fire-and-forget fetch to have arrived.
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(evil.requests).toEqual([]);
    } finally {
      await evil.close();
    }
  });

  test('a token carrying an x5c chain with the attacker key is refused', async () => {
    const der = attacker.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    await refuses(verifier.verify(token(attacker, { x5c: [der] })), 'key_reference_header');
  });

  test('a token signed by an impostor under a published kid is refused', async () => {
    await refuses(verifier.verify(token(impostor)), 'signature_invalid');
  });
});

describe('rule: unknown crit extensions are refused', () => {
  test.each<[string, Json]>([
    ['crit listing an unknown extension', { crit: ['urn:example:ext'], 'urn:example:ext': 1 }],
    ['crit listing b64', { crit: ['b64'], b64: true }],
    ['crit listing exp', { crit: ['exp'], exp: now() + 300 }],
    ['an empty crit list', { crit: [] }],
    ['a crit that is not a list', { crit: 'b64', b64: true }],
  ])('a good token with %s is refused', async (_name, header) => {
    await refuses(verifier.verify(token(rs, header)), 'crit_unsupported');
  });
});

describe('rule: kid is only an exact-match lookup key', () => {
  test.each([[7], [{}], [{ $ne: null }], [['rs']], [''], [null], [true], ['r'.repeat(257)]])('a kid of %j is refused', async (kid) => {
    await refuses(verifier.verify(token(rs, { kid })), 'kid_invalid');
  });

  test.each(['RS', 'rs ', ' rs', 'rs\u0000', 'r*'])('a kid %j that is not exactly a published one finds no key', async (kid) => {
    // Issued before the key set was fetched, so no key published since can be its: a final 401.
    await refuses(verifier.verify(token(rs, { kid }, claims({}, now() - 60))), 'unknown_kid');
  });
});

describe('rule: ECDSA signatures are raw R || S and verified strictly (no psychic signatures)', () => {
  const withSignature = (key: TestKey, signature: Buffer): string => {
    const t = token(key);
    return replaceSegment(t, 2, signature.toString('base64url'));
  };

  test('ES256 with r = s = 0 (64 zero bytes) is refused', async () => {
    await refuses(verifier.verify(withSignature(es, Buffer.alloc(64))), 'signature_invalid');
  });

  test('ES256 with r = s = n (the group order) is refused', async () => {
    await refuses(verifier.verify(withSignature(es, Buffer.concat([P256_N, P256_N]))), 'signature_invalid');
  });

  test('ES384 with r = s = 0 (96 zero bytes) is refused', async () => {
    await refuses(verifier.verify(withSignature(es384, Buffer.alloc(96))), 'signature_invalid');
  });

  test('a valid DER-encoded ES256 signature by the right key is refused', async () => {
    const input = `${json({ alg: 'ES256', kid: 'es' })}.${json(claims())}`;
    const der = cryptoSign('sha256', Buffer.from(input), { key: es.privateKey, dsaEncoding: 'der' });
    await refuses(verifier.verify(`${input}.${der.toString('base64url')}`), 'signature_invalid');
  });
});

describe('rule: the token shape is checked before any parsing (strict base64url, three segments, size cap)', () => {
  /**
   * A valid token whose header and payload lengths leave spare bits in their last character (2
   * and 3 leftover characters) and whose three segments all contain `-` or `_`. The segment under
   * test is altered first and the token signed over the altered bytes, so a lenient decoder (Node's
   * base64url one is) would see the same JSON and a good signature: only the shape rule stops it.
   */
  function variant(index: 0 | 1 | 2, change: (s: string) => string): { token: string; before: string; after: string } {
    for (let nonce = 0; ; nonce++) {
      const header = padJson(`{"alg":"RS256","kid":"rs","nonce":"???${nonce}"`, 1);
      const payload = padJson(JSON.stringify(claims({ note: `???>>>${nonce}` })).slice(0, -1), 2);
      const h = b64url(header);
      const p = b64url(payload);
      const canonical = signSegments(rs, 'RS256', h, p);
      const sig = segment(canonical, 2);
      if (![h, p, sig].every((s) => /[-_]/.test(s) && s.length % 4 !== 0)) continue;
      if (index === 2) return { token: replaceSegment(canonical, 2, change(sig)), before: sig, after: change(sig) };
      const before = index === 0 ? h : p;
      const after = change(before);
      return { token: index === 0 ? signSegments(rs, 'RS256', after, p) : signSegments(rs, 'RS256', h, after), before, after };
    }
  }
  /** Closes a JSON object with spaces so that its byte length is `rest` modulo 3. */
  function padJson(open: string, rest: number): string {
    let text = `${open}}`;
    while (Buffer.byteLength(text) % 3 !== rest) text = `${text.slice(0, -1)} }`;
    return text;
  }
  const sameBytes = (a: string, b: string): void => expect(Buffer.from(b, 'base64url')).toEqual(Buffer.from(a, 'base64url'));
  const segments: Array<[string, 0 | 1 | 2]> = [['header', 0], ['payload', 1], ['signature', 2]];

  test('the unaltered token used below is accepted', async () => {
    for (const [, i] of segments) await accepts(verifier.verify(variant(i, (s) => s).token));
  });

  test.each(segments)('padding (=) in the %s is refused', async (_name, i) => {
    const { token: t, before, after } = variant(i, (s) => s + '='.repeat((4 - (s.length % 4)) % 4));
    sameBytes(before, after);
    await refuses(verifier.verify(t), 'token_malformed');
  });

  const whitespace: Array<[string, 0 | 1 | 2, string]> = segments.flatMap(([name, i]) => [' ', '\n', '\t', '\r\n'].map((ws): [string, 0 | 1 | 2, string] => [name, i, ws]));
  test.each(whitespace)(
    'whitespace in the %s (%j) is refused',
    async (_name, i, ws) => {
      const { token: t, before, after } = variant(i, (s) => `${s.slice(0, 5)}${ws}${s.slice(5)}`);
      sameBytes(before, after);
      await refuses(verifier.verify(t), 'token_malformed');
    },
  );

  test.each(segments)('the standard base64 alphabet (+ and /) in the %s is refused', async (_name, i) => {
    const { token: t, before, after } = variant(i, (s) => s.replace(/-/g, '+').replace(/_/g, '/'));
    expect(after).not.toEqual(before);
    sameBytes(before, after);
    await refuses(verifier.verify(t), 'token_malformed');
  });

  test.each(segments)('non-zero trailing bits in the %s (a second spelling of the same bytes) are refused', async (_name, i) => {
    const { token: t, before, after } = variant(i, (s) => `${s.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(s.slice(-1)) | 1]}`);
    expect(after).not.toEqual(before);
    sameBytes(before, after);
    await refuses(verifier.verify(t), 'token_malformed');
  });

  test('a five-segment JWE-looking token is refused', async () => {
    const jwe = [json({ alg: 'RSA-OAEP-256', enc: 'A256GCM', kid: 'rs' }), b64url('encrypted-key'), b64url('iv'), b64url('ciphertext'), b64url('tag')].join('.');
    await refuses(verifier.verify(jwe), 'token_encrypted');
    await refuses(verifier.verify(`${token(rs)}.${b64url('x')}.${b64url('y')}`), 'token_encrypted');
  });

  test('a three-segment token with an enc header is refused as encrypted', async () => {
    await refuses(verifier.verify(token(rs, { enc: 'A256GCM' })), 'token_encrypted');
  });

  test.each<[string, (t: string) => string]>([
    ['two segments', (t) => t.split('.').slice(0, 2).join('.')],
    ['four segments', (t) => `${t}.${b64url('x')}`],
    ['an empty payload', (t) => replaceSegment(t, 1, '')],
    ['one segment', (t) => segment(t, 0)],
    ['the JWS JSON serialization', (t) => JSON.stringify({ protected: segment(t, 0), payload: segment(t, 1), signature: segment(t, 2) })],
    ['an empty string', () => ''],
  ])('%s is refused', async (_name, change) => {
    await refuses(verifier.verify(change(token(rs))), 'token_malformed');
  });

  test('a token that is not a string is refused', async () => {
    await refuses(verifier.verify(undefined as unknown as string), 'token_malformed');
    await refuses(verifier.verify({ toString: () => token(rs) } as unknown as string), 'token_malformed');
    // With the verified-token cache on, which verify() consults first.
    const cached = makeVerifier({ tokenCache: { max: 10 } });
    await refuses(cached.verify(undefined as unknown as string), 'token_malformed');
    await refuses(cached.verify(12345 as unknown as string), 'token_malformed');
  });

  test('a good token over 8 KiB is refused by default, and accepted under a larger maxTokenBytes', async () => {
    const big = token(rs, {}, claims({ filler: 'x'.repeat(8 * 1024) }));
    expect(big.length).toBeGreaterThan(8 * 1024);
    await refuses(verifier.verify(big), 'token_too_large');
    await accepts(makeVerifier({ maxTokenBytes: 16 * 1024 }).verify(big));
  });

  test('a custom maxTokenBytes is a byte cap: a token of exactly the cap is accepted, one byte more refused', async () => {
    const t = token(rs);
    await accepts(makeVerifier({ maxTokenBytes: t.length }).verify(t));
    await refuses(makeVerifier({ maxTokenBytes: t.length - 1 }).verify(t), 'token_too_large');
  });
});

describe('rule: JWKS keys that are not public signature keys are never used to verify', () => {
  const secret = Buffer.from('a-shared-secret-of-at-least-32-bytes!');
  let small: TestKey;
  let hostile: JwksServer;
  let v: Verifier;
  const events: TokenwardEvent[] = [];
  const issued = (key: TestKey, kid: string, alg = key.alg): string => token(key, { alg, kid }, claims({ iss: hostile.issuer }));

  beforeAll(async () => {
    small = makeKey('RS256', 'rsa-1024', { modulusLength: 1024 });
    const privateRsa = rs.privateKey.export({ format: 'jwk' });
    const privateEc = es.privateKey.export({ format: 'jwk' });
    hostile = await startJwksServer();
    hostile.setKeys({
      keys: [
        { ...rs.jwk, kid: 'good' },
        { ...rs.jwk, kid: 'use-enc', use: 'enc' },
        { ...rs.jwk, kid: 'ops-encrypt', use: undefined, key_ops: ['encrypt'] },
        { ...rs.jwk, kid: 'ops-sign', use: undefined, key_ops: ['sign'] },
        { ...rs.jwk, kid: 'ops-string', use: undefined, key_ops: 'verify' },
        { kty: 'oct', kid: 'oct', alg: 'HS256', use: 'sig', k: secret.toString('base64url') },
        { ...privateRsa, kid: 'private-rsa', alg: 'RS256', use: 'sig' },
        { ...privateEc, kid: 'private-ec', alg: 'ES256', use: 'sig' },
        { ...rs.jwk, kid: 'private-d-only', d: (privateRsa as { d: string }).d },
        small.jwk,
      ],
    });
    v = createVerifier({ issuer: hostile.issuer, audience, jwksUri: hostile.jwksUri, tokenCache: false, onEvent: (e) => events.push(e) });
    // The same RSA key under a clean entry verifies: what the entries below refuse is the entry.
    await accepts(v.verify(issued(rs, 'good')));
  });
  afterAll(() => hostile.close());

  test('a key with use "enc" is never used', async () => {
    await refuses(v.verify(issued(rs, 'use-enc')), 'unknown_kid');
  });

  test.each(['ops-encrypt', 'ops-sign', 'ops-string'])('a key whose key_ops lack "verify" (%s) is never used', async (kid) => {
    await refuses(v.verify(issued(rs, kid)), 'unknown_kid');
  });

  test('an oct key is never used: an HS256 token that verifies with it is refused', async () => {
    const input = `${json({ alg: 'HS256', kid: 'oct' })}.${json(claims({ iss: hostile.issuer }))}`;
    await refuses(v.verify(`${input}.${signInput('HS256', secret, input)}`), 'alg_not_allowed');
  });

  test('an oct key is not even in the key set: an RS256 token under its kid finds no key', async () => {
    await refuses(v.verify(issued(rs, 'oct')), 'unknown_kid');
  });

  test.each<[string, () => TestKey]>([
    ['private-rsa', () => rs],
    ['private-ec', () => es],
    ['private-d-only', () => rs],
  ])('a JWKS entry with private members (%s) is never used, even for a token its private key signed', async (kid, key) => {
    await refuses(v.verify(issued(key(), kid)), 'unknown_kid');
  });

  test('an RSA key of 1024 bits is never used, even for a token it signed', async () => {
    await refuses(v.verify(issued(small, 'rsa-1024')), 'unknown_kid');
  });

  test('each key left out is reported with the reason', () => {
    const ignored = events.flatMap((e) => (e.type === 'key_ignored' ? [[e.kid, e.reason]] : []));
    expect(ignored).toEqual([
      ['use-enc', 'use_not_sig'],
      ['ops-encrypt', 'key_ops_without_verify'],
      ['ops-sign', 'key_ops_without_verify'],
      ['ops-string', 'key_ops_without_verify'],
      ['oct', 'kty_unsupported'],
      ['private-rsa', 'private_key'],
      ['private-ec', 'private_key'],
      ['private-d-only', 'private_key'],
      ['rsa-1024', 'rsa_too_small'],
    ]);
  });
});

describe('rule: a duplicate kid does not let an impostor key verify', () => {
  test.each<[string, () => unknown[]]>([
    ['the legitimate key listed first', () => [rs.jwk, impostor.jwk]],
    ['the impostor key listed first', () => [impostor.jwk, rs.jwk]],
  ])('with %s, a token signed by the impostor under the shared kid is refused', async (_order, keys) => {
    const jwks = await startJwksServer();
    try {
      jwks.setKeys({ keys: keys() });
      const v = createVerifier({ issuer: jwks.issuer, audience, jwksUri: jwks.jwksUri, tokenCache: false });
      await refuses(v.verify(token(impostor, {}, claims({ iss: jwks.issuer }))), 'kid_ambiguous');
      // Nor does the kid pick one of the two for a legitimate token.
      await refuses(v.verify(token(rs, {}, claims({ iss: jwks.issuer }))), 'kid_ambiguous');
    } finally {
      await jwks.close();
    }
  });

  test('without a kid, two keys that fit the alg are ambiguous too', async () => {
    const jwks = await startJwksServer();
    try {
      jwks.setKeys({ keys: [{ ...rs.jwk, kid: undefined }, { ...impostor.jwk, kid: undefined }] });
      const v = createVerifier({ issuer: jwks.issuer, audience, jwksUri: jwks.jwksUri, tokenCache: false });
      await refuses(v.verify(token(impostor, { kid: undefined }, claims({ iss: jwks.issuer }))), 'kid_ambiguous');
    } finally {
      await jwks.close();
    }
  });
});

describe('rule: exp is required and numeric, and the lifetime is capped', () => {
  const T = now();
  let v: Verifier;
  beforeAll(() => {
    v = makeVerifier({ clock: () => T * 1000, clockTolerance: 5, maxTokenLifetime: 600 });
  });
  const at = (extra: Json): string => token(rs, {}, claims(extra, T));

  test('a token without exp is refused', async () => {
    await refuses(v.verify(at({ exp: undefined })), 'exp_missing');
  });

  test.each<[string, unknown]>([
    ['a numeric string', String(T + 300)],
    ['null', null],
    ['an object', { $gt: 0 }],
    ['an array', [T + 300]],
    ['a boolean', true],
  ])('an exp that is %s is refused', async (_name, exp) => {
    await refuses(v.verify(at({ exp })), 'claim_invalid');
  });

  test.each([['nbf'], ['iat']])('a %s that is a string is refused', async (name) => {
    await refuses(v.verify(at({ [name]: String(T) })), 'claim_invalid');
  });

  test('an expired token is refused', async () => {
    await refuses(v.verify(at({ iat: T - 600, exp: T - 60 })), 'token_expired');
  });

  test('a token living longer than maxTokenLifetime (exp - iat) is refused; exactly the maximum is accepted', async () => {
    await accepts(v.verify(at({ iat: T, exp: T + 600 })));
    await refuses(v.verify(at({ iat: T, exp: T + 601 })), 'lifetime_exceeded');
  });

  test('a backdated token whose exp - iat exceeds the maximum is refused although it is current', async () => {
    await refuses(v.verify(at({ iat: T - 1000, exp: T + 100 })), 'lifetime_exceeded');
  });

  test('without iat, an exp beyond now + maxTokenLifetime (+ tolerance) is refused', async () => {
    await accepts(v.verify(at({ iat: undefined, exp: T + 605 })));
    await refuses(v.verify(at({ iat: undefined, exp: T + 606 })), 'lifetime_exceeded');
    await refuses(v.verify(at({ iat: undefined, exp: T + 10 * 365 * 86400 })), 'lifetime_exceeded');
  });
});

describe('rule: nbf and iat are honoured with the clock tolerance, and iat is not in the future', () => {
  const T = now();
  let v: Verifier;
  beforeAll(() => {
    v = makeVerifier({ clock: () => T * 1000, clockTolerance: 5 });
  });
  const at = (extra: Json): string => token(rs, {}, claims(extra, T));

  test('a token whose nbf is in the future is refused', async () => {
    await refuses(v.verify(at({ nbf: T + 60 })), 'token_not_yet_valid');
  });

  test('a token whose iat is in the future is refused', async () => {
    await refuses(v.verify(at({ iat: T + 60, exp: T + 360 })), 'iat_in_future');
  });

  test('exp: within the tolerance is accepted, at the tolerance edge refused', async () => {
    await accepts(v.verify(at({ iat: T - 100, exp: T - 4 })));
    await refuses(v.verify(at({ iat: T - 100, exp: T - 5 })), 'token_expired');
  });

  test('nbf: now + tolerance is accepted, one second more refused', async () => {
    await accepts(v.verify(at({ nbf: T + 5 })));
    await refuses(v.verify(at({ nbf: T + 6 })), 'token_not_yet_valid');
  });

  test('iat: now + tolerance is accepted, one second more refused', async () => {
    await accepts(v.verify(at({ iat: T + 5, exp: T + 305 })));
    await refuses(v.verify(at({ iat: T + 6, exp: T + 306 })), 'iat_in_future');
  });

  test('with a tolerance of 0, exp = now is refused and exp = now + 1 accepted', async () => {
    const exact = makeVerifier({ clock: () => T * 1000, clockTolerance: 0 });
    await refuses(exact.verify(at({ iat: T - 100, exp: T })), 'token_expired');
    await accepts(exact.verify(at({ iat: T - 100, exp: T + 1 })));
  });

  test('the tolerance itself is capped', () => {
    expect(() => makeVerifier({ clockTolerance: 301 })).toThrow(TypeError);
    expect(() => makeVerifier({ clockTolerance: -1 })).toThrow(TypeError);
  });
});

describe('rule: iss must match a configured issuer exactly', () => {
  test.each<[string, () => unknown]>([
    ['another issuer', () => 'https://evil.example.com'],
    ['a trailing-slash variant', () => `${published.server.issuer}/`],
    ['an upper-case variant', () => published.server.issuer.toUpperCase()],
    ['a number', () => 42],
    ['a list holding ours', () => [published.server.issuer]],
    ['no iss at all', () => undefined],
  ])('a good token with %s as iss is refused', async (_name, iss) => {
    await refuses(verifier.verify(token(rs, {}, claims({ iss: iss() }))), 'issuer_mismatch');
  });

  test('an iss that is not configured never triggers a metadata or JWKS request', async () => {
    const home = await startJwksServer([rs.jwk]);
    const foreign = await startJwksServer([rs.jwk]);
    try {
      // No jwksUri: the verifier would discover keys from the issuer's metadata.
      const v = createVerifier({ issuer: home.issuer, audience, tokenCache: false });
      await refuses(v.verify(token(rs, {}, claims({ iss: foreign.issuer }))), 'issuer_mismatch');
      await refuses(v.verify(token(rs, {}, claims({ iss: undefined }))), 'issuer_mismatch');
      await refuses(v.verify(token(rs, {}, claims({ iss: `${home.issuer}/` }))), 'issuer_mismatch');
      const counts = [home.metadataRequests, home.jwksRequests, foreign.metadataRequests, foreign.jwksRequests];
      expect(counts).toEqual([0, 0, 0, 0]);
      // The counters work: the configured issuer is discovered on its first token.
      await accepts(v.verify(token(rs, {}, claims({ iss: home.issuer }))));
      expect([home.metadataRequests, home.jwksRequests]).toEqual([1, 1]);
    } finally {
      await Promise.all([home.close(), foreign.close()]);
    }
  });

  test("a token naming one configured issuer is verified only with that issuer's keys", async () => {
    const a = await startJwksServer([rs.jwk]);
    const other = makeKey('ES256', 'b-key');
    const b = await startJwksServer([other.jwk]);
    try {
      const v = createVerifier({ issuer: [a.issuer, b.issuer], audience, jwksUri: { [a.issuer]: a.jwksUri, [b.issuer]: b.jwksUri }, tokenCache: false });
      await accepts(v.verify(token(other, {}, claims({ iss: b.issuer }))));
      await refuses(v.verify(token(other, {}, claims({ iss: a.issuer }))), 'unknown_kid');
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('rule: aud must contain a configured audience', () => {
  test.each<[string, unknown]>([
    ['another audience', 'https://other.example.com'],
    ['a prefix of ours', audience.slice(0, -1)],
    ['ours with a trailing slash', `${audience}/`],
    ['ours in upper case', audience.toUpperCase()],
    ['no aud at all', undefined],
    ['an empty list', []],
    ['a list without ours', ['https://a.example.com', 'https://b.example.com']],
    ['a list whose only "ours" is nested in a list', [[audience]]],
    ['a list whose only "ours" is inside an object', [{ aud: audience }]],
    ['a list of non-strings', [null, 42, true]],
    ['a number', 42],
    ['an object keyed by ours', { [audience]: true }],
  ])('a good token with %s as aud is refused', async (_name, aud) => {
    await refuses(verifier.verify(token(rs, {}, claims({ aud }))), 'audience_mismatch');
  });

  test('an aud list with one matching member is accepted', async () => {
    await accepts(verifier.verify(token(rs, {}, claims({ aud: ['https://other.example.com', audience] }))));
  });

  test('with several configured audiences, any one of them is accepted and others refused', async () => {
    const v = makeVerifier({ audience: ['https://one.example.com', audience] });
    await accepts(v.verify(token(rs, {}, claims({ aud: 'https://one.example.com' }))));
    await refuses(v.verify(token(rs, {}, claims({ aud: 'https://three.example.com' }))), 'audience_mismatch');
  });
});

describe('rule: typ must be at+jwt when requireTyp is set (RFC 9068)', () => {
  let typed: Verifier;
  beforeAll(() => {
    typed = makeVerifier({ requireTyp: true });
  });

  test.each([[undefined], ['JWT'], ['jwt'], ['application/jwt'], ['at+jwt+x'], ['at+jwt; charset=utf-8'], ['']])('typ %j is refused', async (typ) => {
    await refuses(typed.verify(token(rs, { typ })), 'typ_invalid');
  });

  test.each([['at+jwt'], ['application/at+jwt'], ['AT+JWT'], ['Application/At+Jwt']])('typ %j is accepted (case-insensitive)', async (typ) => {
    await accepts(typed.verify(token(rs, { typ })));
  });

  test('a typ that is not a string is refused, even when typ is not required', async () => {
    await refuses(verifier.verify(token(rs, { typ: ['at+jwt'] })), 'header_invalid');
  });
});

describe('rule: scopes match exact tokens of space-delimited scope or array scp/permissions', () => {
  const withScopes = (extra: Json): string => token(rs, {}, claims({ scope: undefined, ...extra }));

  test.each<[string, Json]>([
    ['scope "readwrite"', { scope: 'readwrite' }],
    ['scope "read:all"', { scope: 'read:all' }],
    ['scope "read:"', { scope: 'read:' }],
    ['scope "reader"', { scope: 'reader' }],
    ['scope "rea"', { scope: 'rea' }],
    ['scope "READ"', { scope: 'READ' }],
    ['scope "read,write"', { scope: 'read,write' }],
    ['scope "read\\twrite" (tab is no delimiter)', { scope: 'read\twrite' }],
    ['scope "read\\u00a0write" (no-break space is no delimiter)', { scope: 'read\u00a0write' }],
    ['scope "read\\nwrite"', { scope: 'read\nwrite' }],
    ['scp ["readwrite"]', { scp: ['readwrite'] }],
    ['scp ["read write"] (array members are not split)', { scp: ['read write'] }],
    ['permissions ["read:all"]', { permissions: ['read:all'] }],
    ['no scope claim at all', {}],
  ])('%s does not satisfy "read"', async (_name, extra) => {
    await refuses(verifier.verify(withScopes(extra), { scopes: ['read'] }), 'insufficient_scope', 403);
  });

  test('a required scope with a trailing space is not satisfied by "read"', async () => {
    await refuses(verifier.verify(withScopes({ scope: 'read' }), { scopes: ['read '] }), 'insufficient_scope', 403);
  });

  test.each<[string, Json]>([
    ['scope "write read"', { scope: 'write read' }],
    ['scp ["write", "read"]', { scp: ['write', 'read'] }],
    ['scp "read"', { scp: 'read' }],
    ['permissions ["read"]', { permissions: ['read'] }],
  ])('%s satisfies "read"', async (_name, extra) => {
    await accepts(verifier.verify(withScopes(extra), { scopes: ['read'] }));
  });

  test.each<[string, Json]>([
    ['scope as a number', { scope: 7 }],
    ['scope as an object', { scope: { read: true } }],
    ['scope as null', { scope: null }],
    ['scp with a number member', { scp: ['read', 1] }],
    ['permissions with a null member', { permissions: [null] }],
    ['scp as a boolean', { scp: true }],
  ])('a token with %s is refused', async (_name, extra) => {
    await refuses(verifier.verify(withScopes(extra)), 'claim_invalid');
  });

  test('all-of needs every scope, any-of at least one', async () => {
    await refuses(verifier.verify(withScopes({ scope: 'read' }), { scopes: ['read', 'write'] }), 'insufficient_scope', 403);
    await accepts(verifier.verify(withScopes({ scope: 'write' }), { anyScopes: ['read', 'write'] }));
    await refuses(verifier.verify(withScopes({ scope: 'admin' }), { anyScopes: ['read', 'write'] }), 'insufficient_scope', 403);
  });
});

describe('rule: the header and payload must be JSON objects', () => {
  test.each([['a JSON array', '[]'], ['an array of claims', '[{"exp":1}]'], ['null', 'null'], ['a string', '"claims"'], ['a number', '42'], ['not JSON', 'not json'], ['truncated JSON', '{"iss":']])(
    'a signed payload that is %s is refused',
    async (_name, payload) => {
      await refuses(verifier.verify(tokenFromText(rs, JSON.stringify({ alg: 'RS256', kid: 'rs' }), payload)), 'payload_invalid');
    },
  );

  test.each([['a JSON array', '["RS256"]'], ['not JSON', 'alg=RS256'], ['null', 'null']])('a signed header that is %s is refused', async (_name, header) => {
    await refuses(verifier.verify(tokenFromText(rs, header, JSON.stringify(claims()))), 'header_invalid');
  });
});

describe('rule: nothing from the claims is merged into other objects (no prototype pollution)', () => {
  const polluting = (extra = ''): string => {
    const base = JSON.stringify(claims()).slice(0, -1);
    return `${base},"__proto__":{"polluted":"yes","scope":"admin"},"constructor":{"prototype":{"polluted":"yes"}}${extra}}`;
  };

  test('__proto__ and constructor.prototype claims pollute no prototype', async () => {
    const verified = await accepts(verifier.verify(tokenFromText(rs, '{"alg":"RS256","kid":"rs","__proto__":{"polluted":"yes"}}', polluting())));
    expect(({} as Json).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(Object.getPrototypeOf(verified.claims)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(verified.header)).toBe(Object.prototype);
    expect((verified.claims as Json).polluted).toBeUndefined();
    expect((verified.header as Json).polluted).toBeUndefined();
    // A scope under __proto__ is no scope.
    expect([...verified.scopes]).toEqual(['read:messages']);
    await refuses(verifier.verify(tokenFromText(rs, '{"alg":"RS256","kid":"rs"}', polluting()), { scopes: ['admin'] }), 'insufficient_scope', 403);
  });

  test('a registered claim hidden under __proto__ does not count', async () => {
    const base = claims({ exp: undefined });
    const payload = `${JSON.stringify(base).slice(0, -1)},"__proto__":{"exp":${now() + 300}}}`;
    await refuses(verifier.verify(tokenFromText(rs, '{"alg":"RS256","kid":"rs"}', payload)), 'exp_missing');
    const noIss = `${JSON.stringify(claims({ iss: undefined })).slice(0, -1)},"__proto__":{"iss":${JSON.stringify(published.server.issuer)}}}`;
    await refuses(verifier.verify(tokenFromText(rs, '{"alg":"RS256","kid":"rs"}', noIss)), 'issuer_mismatch');
  });

  test('a constructor.prototype member of the header pollutes nothing', async () => {
    await accepts(verifier.verify(tokenFromText(rs, '{"alg":"RS256","kid":"rs","constructor":{"prototype":{"jku":"http://127.0.0.1:1/"}}}', JSON.stringify(claims()))));
    expect(({} as Json).jku).toBeUndefined();
  });
});

describe('rule: a token altered anywhere is refused (a bit flip in header, payload or signature)', () => {
  test('flipping a bit of every character of a small valid token is refused each time', async () => {
    const v = makeVerifier();
    const original = token(es, { kid: 'es' }, { iss: published.server.issuer, aud: audience, exp: now() + 300 });
    await accepts(v.verify(original));
    const [h = '', p = ''] = original.split('.');
    const sigStart = h.length + p.length + 2;
    const lastOfSegment = new Set([h.length - 1, h.length + p.length, original.length - 1]);
    const spareBits = (i: number): number => {
      const start = i < h.length ? 0 : i < sigStart ? h.length + 1 : sigStart;
      const rest = (i - start + 1) % 4;
      return lastOfSegment.has(i) ? (rest === 2 ? 0x0f : rest === 3 ? 0x03 : 0) : 0;
    };
    // Reasons a flip may meet before the signature check, depending on what the flipped JSON says.
    const beforeSignature = new Set(['token_malformed', 'header_invalid', 'alg_not_allowed', 'kid_invalid', 'unknown_kid', 'key_mismatch', 'payload_invalid', 'issuer_mismatch', 'token_encrypted', 'crit_unsupported', 'key_reference_header']);
    let checked = 0;
    for (let i = 0; i < original.length; i++) {
      if (original[i] === '.') continue;
      for (const bit of [1, 32]) {
        const flipped = `${original.slice(0, i)}${ALPHABET[ALPHABET.indexOf(original[i] as string) ^ bit]}${original.slice(i + 1)}`;
        const error = await v.verify(flipped).then(
          () => new Error(`accepted with character ${i} flipped (bit ${bit})`),
          (e: unknown) => e,
        );
        if (!isTokenwardError(error)) throw error;
        expect(error.status).toBe(401);
        if ((spareBits(i) & bit) !== 0) {
          // Same bytes, another spelling: the shape rule answers.
          expect([i, bit, error.reason]).toEqual([i, bit, 'token_malformed']);
        } else if (i >= sigStart) {
          expect([i, bit, error.reason]).toEqual([i, bit, 'signature_invalid']);
        } else if (error.reason !== 'signature_invalid') {
          // A flipped header or payload may fail an earlier check, depending on what its JSON now says.
          expect(beforeSignature).toContain(error.reason);
        }
        checked++;
      }
    }
    expect(checked).toBe(2 * (original.length - 2));
  });
});

describe('rule: the signature verdict does not depend on where it is computed (signatureWork)', () => {
  const flipLast = (t: string): string => `${t.slice(0, -2)}${ALPHABET[(ALPHABET.indexOf(t[t.length - 2] as string) + 1) % 64]}${t.slice(-1)}`;

  test.each(['inline', 'threadpool', 'auto'] as const)('%s: 64 overlapping verifications, half with a broken signature, each get their own verdict', async (signatureWork) => {
    const v = makeVerifier({ signatureWork });
    const keys = [rs, es, es384, ed];
    const tokens = Array.from({ length: 64 }, (_, i) => {
      const good = token(keys[i % keys.length] as TestKey, {}, claims({ sub: `user-${i}` }));
      return i % 2 === 0 ? good : flipLast(good);
    });
    const verdicts = await Promise.all(tokens.map((t) => v.verify(t).then((verified) => verified.subject, (e: unknown) => (isTokenwardError(e) ? e.reason : e))));
    expect(verdicts).toEqual(tokens.map((_, i) => (i % 2 === 0 ? `user-${i}` : 'signature_invalid')));
  });

  test('an unknown signatureWork is refused at construction', () => {
    expect(() => makeVerifier({ signatureWork: 'threadPool' as never })).toThrow(TypeError);
  });
});

describe('rule: the returned token is immutable, so a handler cannot alter a cached one', () => {
  test('token, header, claims and scopes resist changes, and the cached token served next is unchanged', async () => {
    const v = makeVerifier({ tokenCache: { max: 100 } });
    const t = token(rs, {}, claims({ scope: 'read write' }));
    const first = await cacheToken(v, t);
    expect(Reflect.set(first, 'subject', 'admin')).toBe(false);
    expect(Reflect.set(first, 'expiresAt', Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(Reflect.set(first.claims, 'sub', 'admin')).toBe(false);
    expect(Reflect.set(first.claims, 'scope', 'admin')).toBe(false);
    expect(Reflect.deleteProperty(first.claims, 'exp')).toBe(false);
    expect(Reflect.set(first.header as object, 'alg', 'none')).toBe(false);
    expect(Reflect.defineProperty(first.claims, 'admin', { value: true })).toBe(false);
    expect(() => (first.scopes as Set<string>).add('admin')).toThrow(TypeError);
    expect(() => (first.scopes as Set<string>).delete('read')).toThrow(TypeError);
    expect(() => (first.scopes as Set<string>).clear()).toThrow(TypeError);

    const second = await v.verify(t);
    expect(second).toBe(first); // a cache hit: the very object handed to the first handler
    expect(second.subject).toBe('user-42');
    expect(second.claims.sub).toBe('user-42');
    expect(second.header?.alg).toBe('RS256');
    expect([...second.scopes].sort()).toEqual(['read', 'write']);
    await refuses(v.verify(t, { scopes: ['admin'] }), 'insufficient_scope', 403);
  });
});
