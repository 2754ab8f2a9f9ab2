/**
 * Wycheproof test vectors (fixtures/wycheproof, Apache-2.0) through the verification path that
 * production uses:
 * - JOSE vectors (json_web_signature, json_web_key): the key material is served by a real JWKS
 *   server on 127.0.0.1 and read by RemoteJwks; each JWS goes through splitCompact, parseHeader,
 *   key selection and verifyJws, exactly as in createVerifier (only the JWT claims step is left
 *   out: these payloads are not claim sets).
 * - Primitive vectors (ECDSA P-256, RSA PKCS#1 v1.5, RSA-PSS, Ed25519): the key goes through
 *   vetJwk and KeyEntry.import, the signature through verifySignature.
 * The signature is checked both inline and on the thread pool (`signatureWork`); the verdicts must agree.
 * Every verdict must equal Wycheproof's `valid` / `invalid`. The only departures are listed in
 * POLICY below, each with its reason, and asserted as refusals.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'jose';
import { DEFAULT_ALGORITHMS, isTokenwardError } from '@tokenward/core';
import { parseHeader, splitCompact } from '../src/jws/compact';
import { verifySignature, verifySignatureInPool } from '../src/jws/signature';
import { verifyJws } from '../src/jws/verify';
import { vetJwk } from '../src/keys/jwk';
import { KeyEntry } from '../src/keys/key-entry';
import { RemoteJwks } from '../src/keys/remote-jwks';
import { resolveOptions } from '../src/options';
import { startJwksServer, type JwksServer } from '../../../test/support/jwks-server';

type Verdict = 'valid' | 'invalid';
interface Vector {
  tcId: number;
  comment: string;
  flags: string[];
  result: Verdict | 'acceptable';
}
interface JoseVector extends Vector {
  jws: unknown;
}
interface PrimitiveVector extends Vector {
  msg: string;
  sig: string;
}
interface Group<T> {
  comment?: string;
  public?: JWK | { keys: JWK[] };
  private?: JWK | { keys: JWK[] };
  publicKeyJwk?: JWK;
  keyJwk?: JWK;
  publicKeyDer?: string;
  tests: T[];
}

const load = <T>(name: string): { testGroups: Array<Group<T>> } =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures', 'wycheproof', name), 'utf8'));

const ALGORITHMS = new Set(DEFAULT_ALGORITHMS);
// The vectors include payloads larger than the 8 KiB production default; the cap is an option.
const MAX_BYTES = 1 << 20;

/**
 * Where tokenward refuses what Wycheproof calls valid, by design. Each entry is asserted to be
 * refused; nothing else may differ.
 */
const POLICY: Record<string, string> = {
  symmetric: 'HS256/HS384/HS512: tokenward never verifies with symmetric keys (design rule: keys only from a JWKS, asymmetric only)',
  es521: 'RFC 7520 figure 27 publishes its P-521 key with the non-registered alg "ES521"; a JWK whose alg is not an allowed JWS algorithm is dropped',
  jwk_alg_mismatch: 'the JWK says alg PS256 and the token PS384; a JWK alg must equal the header alg (RFC 7517 §4.4, design rule)',
  empty_payload: 'an empty payload is a valid JWS but never an access token (no claims): refused at the shape check',
};

// Counted once and written down, so that a new departure cannot slip in unnoticed.
const DEPARTURES: Record<string, Record<string, number>> = {
  'json_web_signature_test.json': { symmetric: 10, empty_payload: 6, es521: 2, jwk_alg_mismatch: 2 },
  'json_web_key_test.json': { symmetric: 4 },
};

function policyFor(jws: unknown, keys: JWK[]): string | undefined {
  if (typeof jws !== 'string') return undefined;
  let header: { alg?: unknown; kid?: unknown } = {};
  try {
    header = JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof header.alg === 'string' && /^HS(256|384|512)$/.test(header.alg)) return 'symmetric';
  if (keys.some((key) => key.alg === 'ES521')) return 'es521';
  if (keys.some((key) => key.kid === header.kid && key.alg !== undefined && key.alg !== header.alg)) return 'jwk_alg_mismatch';
  if (jws.split('.')[1] === '') return 'empty_payload';
  return undefined;
}

// A verifier holds public keys: private members of the test's key material are not published.
const PRIVATE = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth']);
function published(material: JWK | { keys: JWK[] }): JWK[] {
  const keys = 'keys' in material ? material.keys : [material];
  return keys.map((key) => Object.fromEntries(Object.entries(key).filter(([name]) => !(key.kty !== 'oct' && PRIVATE.has(name)))) as JWK);
}

let jwks: JwksServer;
beforeAll(async () => {
  jwks = await startJwksServer();
});
afterAll(() => jwks.close());

/** The verdict with the signature checked inline and on the thread pool; the two must agree. */
async function joseVerdict(jws: unknown, keys: JWK[]): Promise<Verdict> {
  jwks.setKeys(keys);
  // The refresh policy and fetch limits a verifier with default options uses.
  const { refresh, jwksFetch } = resolveOptions({ issuer: jwks.issuer, audience: 'https://api.example.com' });
  const keySet = new RemoteJwks(async () => jwks.jwksUri, ALGORITHMS, refresh, jwksFetch, { emit: () => undefined, clock: Date.now });
  const verdicts = await Promise.all(
    (['inline', 'threadpool'] as const).map(async (work): Promise<Verdict> => {
      try {
        const parts = splitCompact(jws, MAX_BYTES);
        const header = parseHeader(parts.header, { algorithms: ALGORITHMS, requireTyp: false });
        const key = await keySet.key(header.kid, header.alg);
        const keyObject = key.imported(header.alg) ?? (await key.import(header.alg));
        await verifyJws(jws as string, parts, header.alg, keyObject, work);
        return 'valid';
      } catch (error) {
        if (!isTokenwardError(error)) throw error;
        return 'invalid';
      }
    }),
  );
  expect(verdicts[1]).toBe(verdicts[0]);
  return verdicts[0] as Verdict;
}

/** verifySignature's verdict, checked against the thread-pool variant. */
async function signatureVerdict(alg: string, key: KeyObject, msg: Buffer, sig: Buffer): Promise<Verdict> {
  const inline = verifySignature(alg, key, msg, sig);
  expect(await verifySignatureInPool(alg, key, msg, sig)).toBe(inline);
  return inline ? 'valid' : 'invalid';
}

describe.each(['json_web_signature_test.json', 'json_web_key_test.json'])('Wycheproof %s', (file) => {
  const cases = load<JoseVector>(file).testGroups.flatMap((group) =>
    group.tests.map((test) => ({ group, test, keys: published((group.public ?? group.private) as JWK) })),
  );

  test.each(cases.map((c) => [`tcId ${c.test.tcId} ${c.group.comment ?? ''} ${c.test.comment}`, c] as const))('%s', async (_name, { test, keys }) => {
    const verdict = await joseVerdict(test.jws, keys);
    const policy = policyFor(test.jws, keys);
    if (policy !== undefined) {
      expect({ policy, verdict }).toEqual({ policy, verdict: 'invalid' });
    } else {
      expect(test.result).not.toBe('acceptable');
      expect(verdict).toBe(test.result);
    }
  });

  test('the vectors Wycheproof calls valid and we refuse by policy are exactly the documented ones', () => {
    const departures: Record<string, number> = {};
    for (const c of cases) {
      const policy = policyFor(c.test.jws, c.keys);
      if (c.test.result === 'valid' && policy !== undefined) departures[policy] = (departures[policy] ?? 0) + 1;
    }
    expect(departures).toEqual(DEPARTURES[file]);
    for (const policy of Object.keys(departures)) expect(POLICY[policy]).toEqual(expect.any(String));
  });
});

/** Imports the key as production does: vetJwk, then KeyEntry.import (jose) for `alg`. */
async function importKey(jwk: JWK, alg: string) {
  const vetted = vetJwk({ ...jwk, alg: undefined, kid: undefined }, ALGORITHMS);
  if (typeof vetted === 'string') throw new Error(`vector key refused: ${vetted}`);
  return new KeyEntry(vetted).import(alg);
}

function jwkOf(group: Group<PrimitiveVector>): JWK {
  const jwk = group.publicKeyJwk ?? group.keyJwk;
  if (jwk !== undefined) return jwk;
  return createPublicKey({ key: Buffer.from(group.publicKeyDer as string, 'hex'), format: 'der', type: 'spki' }).export({ format: 'jwk' }) as JWK;
}

const PRIMITIVES = [
  ['ecdsa_secp256r1_sha256_p1363_test.json', 'ES256'],
  ['rsa_signature_2048_sha256_test.json', 'RS256'],
  ['rsa_pss_2048_sha256_mgf1_32_test.json', 'PS256'],
  ['ed25519_test.json', 'EdDSA'],
] as const;

// Wycheproof's "acceptable" verdicts we meet, and what we do with them.
const ACCEPTABLE: Record<string, Verdict> = {
  // PKCS#1 v1.5 DigestInfo without the NULL parameter (RFC 8017 §9.2 note 2 allows verifiers to
  // accept it); OpenSSL refuses it and so do we.
  'rsa_signature_2048_sha256_test.json#8': 'invalid',
};

describe.each(PRIMITIVES)('Wycheproof %s as %s signatures', (file, alg) => {
  const cases = load<PrimitiveVector>(file).testGroups.flatMap((group) => group.tests.map((test) => ({ group, test })));
  test.each(cases.map((c) => [`tcId ${c.test.tcId} ${c.test.comment}`, c] as const))('%s', async (_name, { group, test }) => {
    const key = await importKey(jwkOf(group), alg);
    const verdict = await signatureVerdict(alg, key, Buffer.from(test.msg, 'hex'), Buffer.from(test.sig, 'hex'));
    const expected = test.result === 'acceptable' ? ACCEPTABLE[`${file}#${test.tcId}`] : test.result;
    expect(verdict).toBe(expected);
  });
});

/**
 * DER-encoded ECDSA: JWS signatures are raw R || S (RFC 7518 §3.4), so every DER signature is
 * refused as a JWS signature. To still check the arithmetic on these vectors, a strict DER decoder
 * (below) turns each into R || S; its verdict, combined with ours, must equal Wycheproof's.
 */
describe('Wycheproof ecdsa_secp256r1_sha256_test.json (DER)', () => {
  const cases = load<PrimitiveVector>('ecdsa_secp256r1_sha256_test.json').testGroups.flatMap((group) => group.tests.map((test) => ({ group, test })));

  test.each(cases.map((c) => [`tcId ${c.test.tcId} ${c.test.comment}`, c] as const))('%s', async (_name, { group, test }) => {
    const key = await importKey(jwkOf(group), 'ES256');
    const msg = Buffer.from(test.msg, 'hex');
    const der = Buffer.from(test.sig, 'hex');
    expect(await signatureVerdict('ES256', key, msg, der)).toBe('invalid');
    const raw = derToRaw(der, 32);
    const verdict: Verdict = raw === undefined ? 'invalid' : await signatureVerdict('ES256', key, msg, raw);
    expect(verdict).toBe(test.result);
  });
});

/** Strict DER `SEQUENCE { INTEGER r, INTEGER s }` to fixed-size R || S, or undefined. */
function derToRaw(der: Buffer, size: number): Buffer | undefined {
  let offset = 0;
  const length = (): number | undefined => {
    const first = der[offset++];
    if (first === undefined) return undefined;
    if (first < 0x80) return first;
    if (first !== 0x81) return undefined; // r and s of P-256 never need more than one length byte
    const value = der[offset++];
    return value !== undefined && value >= 0x80 ? value : undefined; // minimal length encoding
  };
  const integer = (): Buffer | undefined => {
    if (der[offset++] !== 0x02) return undefined;
    const len = length();
    if (len === undefined || len === 0 || offset + len > der.length) return undefined;
    const bytes = der.subarray(offset, offset + len);
    offset += len;
    if ((bytes[0] as number) & 0x80) return undefined; // negative
    if (bytes.length > 1 && bytes[0] === 0 && !((bytes[1] as number) & 0x80)) return undefined; // not minimal
    const value = bytes[0] === 0 ? bytes.subarray(1) : bytes;
    return value.length > size ? undefined : Buffer.concat([Buffer.alloc(size - value.length), value]);
  };
  if (der[offset++] !== 0x30) return undefined;
  const total = length();
  if (total === undefined || offset + total !== der.length) return undefined;
  const r = integer();
  const s = integer();
  if (r === undefined || s === undefined || offset !== der.length) return undefined;
  return Buffer.concat([r, s]);
}
