/**
 * RFC 7662 §2: one introspection request and the answer, read as carefully as a key set is
 * (fetch-json.ts: https except loopback, no redirects, a deadline, a byte cap before parsing):
 * - POST `token` with `token_type_hint=access_token`, the client authenticated as RFC 6749
 *   §2.3.1 says (HTTP Basic of the form-encoded id and secret, or both in the body);
 * - the answer must be JSON (RFC 7662 §2.2) or, when asked for, a JWT of type
 *   token-introspection+jwt (RFC 9701 §5) signed by the issuer with a key of its JWKS, for us
 *   (`aud`), recent (`iat`), whose `token_introspection` member is the answer;
 * - `active` must be a boolean: anything else is the server failing, not the token.
 * Every failure is a SourceError with a stable code; its message names the endpoint, never the
 * token or the secret.
 */
import { errors, jwtVerify } from 'jose';
import { discoverEndpoint } from '../discovery.js';
import { fetchBody, SourceError, type FetchFailure, type FetchJsonOptions } from '../fetch-json.js';
import { headerKey, type RemoteJwks } from '../keys/remote-jwks.js';
import { JWT_RESPONSE_TYPE, type IntrospectionSettings } from './options.js';

export type IntrospectionFailure = FetchFailure | 'answer_invalid' | 'answer_signature_invalid';

/** An RFC 7662 §2.2 answer whose `active` is a boolean. */
export type IntrospectionAnswer = Readonly<Record<string, unknown>> & { readonly active: boolean };

/** What a signed answer is checked against (RFC 9701). */
export interface SignedAnswerPolicy {
  /** The issuer's key set. */
  keys(): RemoteJwks;
  /** Values of which the answer's `aud` must contain one: our client id, our audiences. */
  audiences: readonly string[];
  algorithms: readonly string[];
  /** Seconds. */
  clockTolerance: number;
  /** Milliseconds since the epoch. */
  clock: () => number;
}

// RFC 9701 §5 signs the answer at the moment it is made: an older one is a replay or a cache.
const SIGNED_ANSWER_MAX_AGE = 300;

export class IntrospectionEndpoint {
  private resolved: Promise<string> | undefined;
  private discovered: string | undefined;
  private readonly authorization: string | undefined;

  constructor(
    private readonly settings: IntrospectionSettings,
    /** How the issuer's metadata is read, to discover the endpoint. */
    private readonly metadataFetch: FetchJsonOptions,
    private readonly signed: SignedAnswerPolicy,
  ) {
    // RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
    this.authorization =
      settings.clientAuthentication === 'client_secret_basic' ? `Basic ${Buffer.from(`${formEncode(settings.clientId)}:${formEncode(settings.clientSecret)}`).toString('base64')}` : undefined;
  }

  /** The endpoint's URL: configured, or read from the issuer's metadata once (again after a failure). */
  url(): Promise<string> {
    if (this.settings.endpoint !== undefined) return Promise.resolve(this.settings.endpoint);
    this.resolved ??= discoverEndpoint(this.settings.issuer, 'introspection_endpoint', this.metadataFetch).then(
      (url) => (this.discovered = url),
      (error: unknown) => {
        this.resolved = undefined;
        throw error;
      },
    );
    return this.resolved;
  }

  /** The known URL, for reports; undefined until it is discovered. */
  get knownUrl(): string | undefined {
    return this.settings.endpoint ?? this.discovered;
  }

  async introspect(token: string): Promise<IntrospectionAnswer> {
    const url = await this.url();
    const form = new URLSearchParams({ token, token_type_hint: 'access_token' });
    if (this.authorization === undefined) {
      form.set('client_id', this.settings.clientId);
      form.set('client_secret', this.settings.clientSecret);
    }
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    const { text, mediaType } = await fetchBody(url, this.settings.fetch, { method: 'POST', headers, body: form.toString() });
    const answer = this.settings.signedResponse ? await this.signedAnswer(url, text, mediaType) : jsonAnswer(url, text, mediaType);
    if (typeof answer.active !== 'boolean') throw new SourceError<IntrospectionFailure>('answer_invalid', `${url} answered without a boolean active`);
    return answer as IntrospectionAnswer;
  }

  private async signedAnswer(url: string, text: string, mediaType: string): Promise<Readonly<Record<string, unknown>>> {
    if (mediaType !== JWT_RESPONSE_TYPE) throw new SourceError<IntrospectionFailure>('content_type', `${url} answered ${mediaType || 'no content type'}, not the signed ${JWT_RESPONSE_TYPE} asked for`);
    const keys = this.signed.keys();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(text.trim(), (header) => headerKey(keys, header.kid, header.alg), {
        issuer: this.settings.issuer,
        audience: [...this.signed.audiences],
        algorithms: [...this.signed.algorithms],
        typ: 'token-introspection+jwt',
        clockTolerance: this.signed.clockTolerance,
        maxTokenAge: SIGNED_ANSWER_MAX_AGE,
        requiredClaims: ['iat'],
        currentDate: new Date(this.signed.clock()),
      }));
    } catch (cause) {
      const what = cause instanceof errors.JOSEError ? cause.code : 'no key';
      throw new SourceError<IntrospectionFailure>('answer_signature_invalid', `${url} answered a signed introspection that does not verify (${what})`);
    }
    const inner = payload.token_introspection;
    if (!isObject(inner)) throw new SourceError<IntrospectionFailure>('answer_invalid', `${url} answered a signed introspection without a token_introspection object`);
    return inner;
  }
}

function jsonAnswer(url: string, text: string, mediaType: string): Readonly<Record<string, unknown>> {
  if (mediaType !== 'application/json') throw new SourceError<IntrospectionFailure>('content_type', `${url} answered ${mediaType || 'no content type'}, not application/json`);
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new SourceError<IntrospectionFailure>('not_json', `${url} did not answer JSON`);
  }
  if (!isObject(answer)) throw new SourceError<IntrospectionFailure>('answer_invalid', `${url} answered JSON that is not an object`);
  return answer;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// application/x-www-form-urlencoded (RFC 6749 Appendix B): URLSearchParams writes a space as '+'.
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
