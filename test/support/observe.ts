/**
 * What the core tests observe without mocking anything: a clock that moves when told (real time
 * plus an offset, so tokens minted now stay consistent with it), the events a verifier reports,
 * and the TokenwardError a rejected promise carries.
 */
import { isTokenwardError, type AccessToken, type TokenwardError, type TokenwardEvent, type Verifier } from '@tokenward/core';

export interface TestClock {
  /** Milliseconds since the epoch, as the verifier sees them. */
  (): number;
  /** Moves the clock forward. */
  advance(ms: number): void;
  /** Whole seconds since the epoch (a JWT NumericDate). */
  seconds(): number;
}

export function testClock(): TestClock {
  let offset = 0;
  const clock = (() => Date.now() + offset) as TestClock;
  clock.advance = (ms) => {
    offset += ms;
  };
  clock.seconds = () => Math.floor(clock() / 1000);
  return clock;
}

/** Claims valid at the clock's now: `iat` now, `exp` in `lifetime` seconds (default 300). */
export function claimsAt(clock: TestClock, lifetime = 300): { iat: number; exp: number } {
  const iat = clock.seconds();
  return { iat, exp: iat + lifetime };
}

type EventOf<T extends TokenwardEvent['type']> = Extract<TokenwardEvent, { type: T }>;

/** Records a verifier's events; `next` waits for the next event of a type. */
export class EventLog {
  readonly events: TokenwardEvent[] = [];
  private waiters: Array<{ type: string; resolve: (event: TokenwardEvent) => void }> = [];

  readonly listener = (event: TokenwardEvent): void => {
    this.events.push(event);
    const waiting = this.waiters.filter((w) => w.type === event.type);
    this.waiters = this.waiters.filter((w) => w.type !== event.type);
    for (const w of waiting) w.resolve(event);
  };

  of<T extends TokenwardEvent['type']>(type: T): Array<EventOf<T>> {
    return this.events.filter((e): e is EventOf<T> => e.type === type);
  }

  next<T extends TokenwardEvent['type']>(type: T, timeoutMs = 5000): Promise<EventOf<T>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} event within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        type,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event as EventOf<T>);
        },
      });
    });
  }

  clear(): void {
    this.events.length = 0;
  }
}

/** The TokenwardError a promise rejects with; fails when it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<TokenwardError> {
  try {
    await promise;
  } catch (error) {
    if (isTokenwardError(error)) return error;
    throw new Error(`expected a TokenwardError, got ${String(error)}`);
  }
  throw new Error('expected a rejection, the promise resolved');
}

/** Asserts that `promise` rejects with a TokenwardError of that reason and status. */
export async function refuses(promise: Promise<unknown>, reason: string, status = 401): Promise<void> {
  expect(await rejection(promise)).toMatchObject({ reason, status });
}

/** The TokenwardError `run` throws synchronously; fails when it returns or throws anything else. */
export function thrown(run: () => unknown): TokenwardError {
  try {
    run();
  } catch (error) {
    if (isTokenwardError(error)) return error;
    throw error;
  }
  throw new Error('expected a synchronous TokenwardError');
}

/**
 * Verifies `jwt` twice, so that it is in the verified-token cache (a token is stored on its
 * second verification), and returns the token as cached: the next hit returns this very object.
 */
export async function cacheToken(verifier: Verifier, jwt: string, options?: Parameters<Verifier['verify']>[1]): Promise<AccessToken> {
  await verifier.verify(jwt, options);
  return verifier.verify(jwt, options);
}
