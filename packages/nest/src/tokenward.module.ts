/**
 * TokenwardModule.forRoot / forRootAsync: one verifier for the whole application (a global
 * module), provided under TOKENWARD_VERIFIER, and the guard that uses it.
 */
import { Global, Inject, Module, type DynamicModule, type InjectionToken, type ModuleMetadata, type OnModuleDestroy, type OptionalFactoryDependency, type Provider } from '@nestjs/common';
import { createVerifier, type Verifier, type VerifierOptions } from '@tokenward/core';
import { TokenwardGuard } from './tokenward.guard.js';
import { TOKENWARD_VERIFIER } from './tokens.js';

/** Verifier options (the module creates the verifier and closes it with the app), or an existing verifier. */
export type TokenwardModuleOptions = VerifierOptions | { verifier: Verifier };

export interface TokenwardModuleAsyncOptions {
  /** Modules exporting the providers that `inject` names (a config module, say). */
  imports?: ModuleMetadata['imports'];
  /** Called with the `inject` providers, in order; may be async. */
  useFactory: (...args: never[]) => TokenwardModuleOptions | Promise<TokenwardModuleOptions>;
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
}

// The verifier, and whether this module created it: a verifier passed in belongs to the caller,
// who may share it between apps, so only an owned one is closed.
const STATE = Symbol('tokenward.moduleState');
interface State {
  readonly verifier: Verifier;
  readonly owned: boolean;
}

function toState(options: TokenwardModuleOptions): State {
  return 'verifier' in options ? { verifier: options.verifier, owned: false } : { verifier: createVerifier(options), owned: true };
}

@Global()
@Module({})
export class TokenwardModule implements OnModuleDestroy {
  constructor(@Inject(STATE) private readonly state: State) {}

  static forRoot(options: TokenwardModuleOptions): DynamicModule {
    // A factory, not a value: each application built from this module gets its own verifier
    // (and its own caches), created when the app is, and closed with it.
    return TokenwardModule.build({ provide: STATE, useFactory: () => toState(options) });
  }

  static forRootAsync(options: TokenwardModuleAsyncOptions): DynamicModule {
    const factory = options.useFactory as (...args: unknown[]) => TokenwardModuleOptions | Promise<TokenwardModuleOptions>;
    return TokenwardModule.build(
      { provide: STATE, useFactory: async (...args: unknown[]) => toState(await factory(...args)), inject: options.inject ?? [] },
      options.imports,
    );
  }

  private static build(state: Provider, imports: ModuleMetadata['imports'] = []): DynamicModule {
    return {
      module: TokenwardModule,
      global: true,
      imports,
      providers: [state, { provide: TOKENWARD_VERIFIER, useFactory: (s: State) => s.verifier, inject: [STATE] }, TokenwardGuard],
      exports: [TOKENWARD_VERIFIER, TokenwardGuard],
    };
  }

  onModuleDestroy(): void {
    if (this.state.owned) this.state.verifier.close();
  }
}
