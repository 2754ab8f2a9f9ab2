/**
 * The contract between the shared HTTP suite (test/http/*.test.ts) and one app per adapter
 * (test/http/apps/*.ts). Every app exposes the same routes, built in its framework's own idiom:
 *
 *   GET /public    no authentication at all                    200 { ok: true }
 *   GET /optional  optional authentication                     200 { user: subject | null }
 *   GET /me        any valid token                             200 { user: subject, scopes: [...sorted] }
 *   GET /messages  all of: read:messages                       200 { user: subject }
 *   GET /both      all of: read:messages, write:messages       200 { user: subject }
 *   GET /any       any of: admin, read:messages                200 { user: subject }
 *   GET /admin     all of: admin                               200 { user: subject }
 *
 * Route policy where declarations combine (core's route.ts; each adapter in its own idiom, or
 * the nearest thing it has where it cannot say it):
 *
 *   GET /optional-admin   optional authentication, and all of: admin     200 { user: subject }
 *   GET /public-admin     public and all of: admin, on the same level    200 { user: subject }
 *   GET /open/guarded     public, then a guard for read:messages         200 { user: subject }
 *   GET /open/optional    public at one level, optional more specific    200 { user: subject | null }
 *   GET /scoped/health    all of: admin, then public more specific       200 { ok: true }
 *
 * Sender-constrained tokens (RFC 9449, RFC 8705):
 *
 *   GET /binding          any valid token                                200 { binding: token.binding | null }
 *   GET /dpop-only        DPoP required (Bearer refused)                 200 { user: subject }
 *   GET /twice            authenticated twice (two middlewares, guards)  200 { user: subject }
 *
 * Step-up (RFC 9470), declared as each adapter declares scopes:
 *
 *   GET /step-up          acr one of mfa, and auth_time at most 300 s ago 200 { user: subject }
 *
 * Event receivers (AppSettings.receivers, e.g. POST /backchannel-logout), public.
 *
 * Rejections are whatever the adapter produces by default; the suite asserts they are identical.
 */
import type { Server } from 'node:http';
import type { ServerOptions } from 'node:https';
import type { EventReceiver, Verifier, VerifierOptions } from '@tokenward/core';

export interface SuiteApp {
  /** `http://127.0.0.1:PORT`, already listening. */
  baseUrl: string;
  server: Server;
  close(): Promise<void>;
}

/** How the app itself is set up. */
export interface AppSettings {
  /** The framework's own trust-proxy setting (Express `trust proxy`, Fastify `trustProxy`). */
  trustProxy?: boolean;
  /** Serve over TLS with these node:https options (key, cert, ca, requestCert...); baseUrl is then https. */
  https?: ServerOptions;
  /**
   * Event receivers of core mounted as public POST routes (path -> receiver made from the app's
   * verifier), each in the adapter's idiom: Express `receiver()`, Fastify `receiver` plugin,
   * Nest `TokenwardReceiverModule`.
   */
  receivers?: Readonly<Record<string, (verifier: Verifier) => EventReceiver>>;
}

export type CreateSuiteApp = (options: VerifierOptions, settings?: AppSettings) => Promise<SuiteApp>;

/** Every adapter, one app file each in ./apps; the HTTP suites run against all of them. */
export const ADAPTERS = ['express', 'fastify', 'nest-express', 'nest-fastify'] as const;
export type Adapter = (typeof ADAPTERS)[number];

/** The adapter's app factory. A missing app file is an import error that fails the suite. */
export async function loadApp(adapter: Adapter): Promise<CreateSuiteApp> {
  return ((await import(`./apps/${adapter}`)) as { createApp: CreateSuiteApp }).createApp;
}
