/**
 * A verification key from a JWKS, with its imported form per algorithm. jose checks the JWK
 * against the algorithm and imports it, once per key and algorithm; node:crypto then uses the
 * KeyObject for every token (jws/signature.ts).
 */
import { KeyObject } from 'node:crypto';
import { importJWK, type CryptoKey } from 'jose';
import { TokenwardError } from '../errors.js';
import type { VettedJwk } from './jwk.js';

export class KeyEntry {
  private readonly ready = new Map<string, KeyObject>();
  private readonly pending = new Map<string, Promise<KeyObject>>();
  constructor(readonly vetted: VettedJwk) {}

  get kid(): string | undefined {
    return this.vetted.kid;
  }

  /** The key already imported for `alg`, without waiting (the common case after the first token). */
  imported(alg: string): KeyObject | undefined {
    return this.ready.get(alg);
  }

  /** Imports the key for `alg`; rejects with `key_mismatch` when jose refuses it (say, an EC point off its curve). */
  import(alg: string): Promise<KeyObject> {
    let key = this.pending.get(alg);
    if (key === undefined) {
      key = (importJWK(this.vetted.jwk, alg) as Promise<CryptoKey>).then(
        (cryptoKey) => {
          const keyObject = KeyObject.from(cryptoKey);
          this.ready.set(alg, keyObject);
          return keyObject;
        },
        (cause: unknown) => {
          throw new TokenwardError('key_mismatch', { cause });
        },
      );
      this.pending.set(alg, key);
    }
    return key;
  }
}
