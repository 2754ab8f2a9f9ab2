/**
 * The `tokenward` command: the answer to "why was my token rejected?" for the developer, with
 * the real verifier of @tokenward/core (discovery, the JWKS fetch, every rule), never a second
 * implementation of a rule.
 *
 *   tokenward inspect <token|->                      header and claims, decoded, NOT verified
 *   tokenward verify <token|-> --issuer --audience   the verdict, the reason, the kid and the kids published,
 *                    [--scopes a,b] [--jwks-uri]     the clock skew, the time to expiry
 *   tokenward jwks <issuer> [--jwks-uri]             the issuer's metadata and keys, and why a key would be ignored
 *
 * `-` reads the token from standard input, so that it stays out of the shell's history. `--json`
 * prints one JSON object instead of text. Exit codes: 0 valid (or decoded, or keys loaded), 1 the
 * token was rejected, 2 a usage error or input that is not a token, 3 the issuer or its keys could
 * not be had.
 */
import { Command, CommanderError, Option } from 'commander';
import { createVerifier, isTokenwardError, TokenwardSetupError, type TokenwardEvent, type Verifier } from '@tokenward/core';

export const EXIT = Object.freeze({ ok: 0, rejected: 1, usage: 2, unavailable: 3 });

/** Where the command reads and writes: the process's streams, or a test's. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin: () => Promise<string>;
  now: () => number;
}

// A token is a few KiB; anything much larger on stdin is not one.
const MAX_INPUT_BYTES = 64 * 1024;
const METADATA_TIMEOUT_MS = 5000;
const MAX_DOCUMENT_BYTES = 1024 * 1024;

/** Runs the command line `argv` (without node and the script); resolves to the exit code. */
export async function run(argv: readonly string[], io: Io): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('tokenward')
    .description('Why a token is accepted or rejected, with the verifier of @tokenward/core')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();
  const json = new Option('--json', 'print one JSON object instead of text');

  program
    .command('inspect')
    .description('decode a token’s header and claims (NOT verified)')
    .argument('<token>', 'the token, or - to read it from standard input')
    .addOption(json)
    .action(async (token: string, options: { json?: boolean }) => {
      code = await inspect(await tokenOf(token, io), options.json === true, io);
    });

  program
    .command('verify')
    .description('verify a token with every rule: signature, key, issuer, audience, time, scopes')
    .argument('<token>', 'the token, or - to read it from standard input')
    .requiredOption('--issuer <url...>', 'accepted issuer(s)')
    .requiredOption('--audience <audience...>', 'accepted audience(s)')
    .option('--scopes <scopes>', 'scopes the token must carry, comma- or space-separated')
    .option('--jwks-uri <url>', 'the JWKS URL, instead of discovery')
    .addOption(json)
    .action(async (token: string, options: VerifyOptions) => {
      code = await verify(await tokenOf(token, io), options, io);
    });

  program
    .command('jwks')
    .description('show an issuer’s metadata and keys, and why any key would be ignored')
    .argument('<issuer>', 'the issuer URL')
    .option('--jwks-uri <url>', 'the JWKS URL, instead of discovery')
    .addOption(json)
    .action(async (issuer: string, options: { jwksUri?: string; json?: boolean }) => {
      code = await jwks(issuer, options, io);
    });

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error instanceof InputError) {
      io.stderr(`tokenward: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
  return code;
}

class InputError extends Error {}

async function tokenOf(argument: string, io: Io): Promise<string> {
  const text = argument === '-' ? await io.stdin() : argument;
  if (Buffer.byteLength(text) > MAX_INPUT_BYTES) throw new InputError(`the token is larger than ${MAX_INPUT_BYTES} bytes`);
  // A pasted "Bearer eyJ..." is the same token.
  return text.trim().replace(/^(Bearer|DPoP)\s+/i, '');
}

// ---- inspect ----

interface Decoded {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
}

function decode(token: string): Decoded | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const [header, claims] = [parts[0], parts[1]].map((part) => {
    try {
      const value: unknown = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  });
  return header === undefined || claims === undefined ? undefined : { header, claims };
}

async function inspect(token: string, asJson: boolean, io: Io): Promise<number> {
  const decoded = decode(token);
  if (decoded === undefined) {
    io.stderr('tokenward: not a compact JWS (three base64url parts, header and claims JSON objects)\n');
    return EXIT.usage;
  }
  const times = timesOf(decoded.claims, io.now());
  if (asJson) {
    io.stdout(`${JSON.stringify({ verified: false, ...decoded, times })}\n`);
    return EXIT.ok;
  }
  io.stdout('NOT VERIFIED: decoded only; run `tokenward verify` to check it\n');
  io.stdout(`header ${JSON.stringify(decoded.header, null, 2)}\n`);
  io.stdout(`claims ${JSON.stringify(decoded.claims, null, 2)}\n`);
  for (const [name, value] of Object.entries(times)) io.stdout(`${name.padEnd(8)} ${value}\n`);
  return EXIT.ok;
}

/** iat, nbf, exp and auth_time as dates and as time from now. */
function timesOf(claims: Record<string, unknown>, nowMs: number): Record<string, string> {
  const times: Record<string, string> = {};
  for (const name of ['iat', 'nbf', 'exp', 'auth_time']) {
    const value = claims[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    times[name] = `${new Date(value * 1000).toISOString()} (${relative(value - nowMs / 1000)})`;
  }
  return times;
}

function relative(seconds: number): string {
  const whole = Math.round(Math.abs(seconds));
  const text = whole < 120 ? `${whole} s` : whole < 7200 ? `${Math.round(whole / 60)} min` : `${Math.round(whole / 3600)} h`;
  return seconds >= 0 ? `in ${text}` : `${text} ago`;
}

/** Core's verifier for the command's options, and the events it reports; a bad option is a usage error. */
function listenedVerifier(issuer: string | string[], audience: string | string[], jwksUri: string | undefined): { verifier: Verifier; events: TokenwardEvent[] } {
  const events: TokenwardEvent[] = [];
  try {
    const verifier = createVerifier({ issuer, audience, ...(jwksUri === undefined ? {} : { jwksUri }), onEvent: (event) => events.push(event) });
    return { verifier, events };
  } catch (error) {
    throw new InputError(error instanceof Error ? error.message : String(error));
  }
}

// ---- verify ----

interface VerifyOptions {
  issuer: string[];
  audience: string[];
  scopes?: string;
  jwksUri?: string;
  json?: boolean;
}

async function verify(token: string, options: VerifyOptions, io: Io): Promise<number> {
  const { verifier, events } = listenedVerifier(options.issuer, options.audience, options.jwksUri);
  const scopes = options.scopes === undefined ? [] : options.scopes.split(/[\s,]+/).filter((scope) => scope !== '');
  const decoded = decode(token);
  const nowSeconds = io.now() / 1000;
  const iat = typeof decoded?.claims.iat === 'number' ? decoded.claims.iat : undefined;
  const exp = typeof decoded?.claims.exp === 'number' ? decoded.claims.exp : undefined;
  const kid = typeof decoded?.header.kid === 'string' ? decoded.header.kid : undefined;
  const report: Record<string, unknown> = {};
  let code: number;
  try {
    const accepted = await verifier.verify(token, { scopes });
    code = EXIT.ok;
    Object.assign(report, { verdict: 'valid', issuer: accepted.issuer, subject: accepted.subject, clientId: accepted.clientId, scopes: [...accepted.scopes] });
  } catch (error) {
    if (!isTokenwardError(error)) throw error;
    code = error.status === 503 ? EXIT.unavailable : EXIT.rejected;
    const rejected = events.find((event) => event.type === 'token_rejected');
    Object.assign(report, {
      verdict: error.status === 503 ? 'unavailable' : 'rejected',
      reason: error.reason,
      status: error.status,
      code: error.code,
      description: error.description,
      ...(rejected?.type === 'token_rejected' && rejected.detail !== undefined ? { detail: rejected.detail } : {}),
    });
  } finally {
    verifier.close();
  }
  const refreshed = events.filter((event) => event.type === 'keys_refreshed');
  const kids = refreshed.at(-1)?.type === 'keys_refreshed' ? (refreshed.at(-1) as { kids: string[] }).kids : undefined;
  const failed = events.find((event) => event.type === 'keys_refresh_failed');
  Object.assign(report, {
    kid,
    ...(kids === undefined ? {} : { kids, kidFound: kid !== undefined && kids.includes(kid) }),
    ...(failed?.type === 'keys_refresh_failed' ? { keysFailure: { failure: failed.failure, message: failed.message } } : {}),
    ...(exp === undefined ? {} : { expiresIn: Math.round(exp - nowSeconds) }),
    // Positive: the token says it was issued after our now, so the clocks differ by at least that.
    ...(iat === undefined ? {} : { clockSkew: Math.max(0, Math.round(iat - nowSeconds)) }),
  });
  if (options.json === true) {
    io.stdout(`${JSON.stringify(report)}\n`);
    return code;
  }
  io.stdout(report.verdict === 'valid' ? 'valid\n' : `${String(report.verdict)}: ${String(report.reason)} (${String(report.status)} ${String(report.code)}: ${String(report.description)})\n`);
  const line = (name: string, value: unknown) => value !== undefined && io.stdout(`  ${name.padEnd(10)} ${typeof value === 'string' ? value : JSON.stringify(value)}\n`);
  line('issuer', report.issuer);
  line('subject', report.subject);
  line('client', report.clientId);
  line('scopes', Array.isArray(report.scopes) ? report.scopes.join(' ') : undefined);
  line('detail', report.detail);
  line('kid', kid === undefined ? '(none)' : `${kid} ${kids === undefined ? '' : kids.includes(kid) ? '(published)' : '(NOT published)'}`.trim());
  line('published', kids === undefined ? undefined : kids.join(', ') || '(no keys with a kid)');
  line('keys', report.keysFailure);
  line('expires', exp === undefined ? '(no exp)' : relative(exp - nowSeconds));
  line('skew', iat === undefined ? undefined : iat > nowSeconds ? `the token was issued ${Math.round(iat - nowSeconds)} s in the future: clocks differ` : 'none seen (iat is not in the future)');
  return code;
}

// ---- jwks ----

async function jwks(issuer: string, options: { jwksUri?: string; json?: boolean }, io: Io): Promise<number> {
  // The audience is never checked here: only the keys are loaded.
  const { verifier, events } = listenedVerifier(issuer, 'tokenward-cli', options.jwksUri);
  let failure: { failure: string; message: string } | undefined;
  try {
    await verifier.ready();
  } catch (error) {
    if (!(error instanceof TokenwardSetupError)) throw error;
    failure = { failure: error.failure, message: error.message };
  } finally {
    verifier.close();
  }
  const refreshed = events.find((event) => event.type === 'keys_refreshed') as Extract<TokenwardEvent, { type: 'keys_refreshed' }> | undefined;
  const ignored = events.filter((event): event is Extract<TokenwardEvent, { type: 'key_ignored' }> => event.type === 'key_ignored').map(({ kid, reason }) => ({ kid, reason }));
  // For display only: the documents as served (the verdicts above are core's).
  const metadata = options.jwksUri === undefined ? await fetchDocument(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`) : undefined;
  const jwksUri = refreshed?.jwksUri ?? options.jwksUri ?? (typeof metadata?.jwks_uri === 'string' ? metadata.jwks_uri : undefined);
  const keySet = jwksUri === undefined ? undefined : await fetchDocument(jwksUri);
  const keys = Array.isArray(keySet?.keys)
    ? (keySet.keys as unknown[]).map((key) => {
        const jwk = (typeof key === 'object' && key !== null ? key : {}) as Record<string, unknown>;
        const why = ignored.find((entry) => entry.kid === jwk.kid)?.reason;
        return { kid: jwk.kid, kty: jwk.kty, alg: jwk.alg, use: jwk.use, crv: jwk.crv, usable: why === undefined, ...(why === undefined ? {} : { ignored: why }) };
      })
    : [];
  const report = { issuer, ...(metadata === undefined ? {} : { metadata: { issuer: metadata.issuer, jwks_uri: metadata.jwks_uri } }), jwksUri, usableKids: refreshed?.kids ?? [], keys, ...(failure === undefined ? {} : { failure }) };
  if (options.json === true) io.stdout(`${JSON.stringify(report)}\n`);
  else {
    io.stdout(`issuer    ${issuer}\n`);
    if (metadata !== undefined) io.stdout(`metadata  issuer ${String(metadata.issuer)}, jwks_uri ${String(metadata.jwks_uri)}\n`);
    io.stdout(`jwks_uri  ${jwksUri ?? '(unknown)'}\n`);
    if (failure !== undefined) io.stdout(`FAILED    ${failure.failure}: ${failure.message}\n`);
    for (const key of keys) io.stdout(`  ${String(key.kid ?? '(no kid)').padEnd(24)} ${String(key.kty)} ${String(key.alg ?? '')} ${key.usable ? 'usable' : `IGNORED: ${String(key.ignored)}`}\n`);
  }
  return failure === undefined ? EXIT.ok : EXIT.unavailable;
}

/** A JSON object from `url`, capped and with a deadline; undefined when it cannot be had. */
async function fetchDocument(url: string): Promise<Record<string, unknown> | undefined> {
  try {
    const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(METADATA_TIMEOUT_MS) });
    if (!response.ok || response.body === null) return undefined;
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += chunk.byteLength;
      if (size > MAX_DOCUMENT_BYTES) return undefined;
      chunks.push(chunk);
    }
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
