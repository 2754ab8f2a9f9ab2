/** TokenwardModule.forRoot / forRootAsync: one verifier for the application, and the guard. */
import { Global, Inject, Module, type DynamicModule, type InjectionToken, type ModuleMetadata, type OnModuleDestroy, type OptionalFactoryDependency } from '@nestjs/common';
import { createVerifier, type Verifier, type VerifierOptions } from '@tokenward/core';
import { TokenwardGuard } from './tokenward.guard.js';
import { TOKENWARD_VERIFIER } from './tokens.js';

/** Verifier options (the module creates the verifier and closes it), or an existing verifier. */
export type TokenwardModuleOptions = VerifierOptions | { verifier: Verifier };

export interface TokenwardModuleAsyncOptions {
  imports?: ModuleMetadata['imports'];
  useFactory: (...args: never[]) => TokenwardModuleOptions | Promise<TokenwardModuleOptions>;
  inject?: Array<InjectionToken | OptionalFactoryDependency>;
}

// The verifier and whether this module created it (a verifier passed in belongs to the caller).
const STATE = Symbol('tokenward.state');
interface State {
  verifier: Verifier;
  owned: boolean;
}

function state(options: TokenwardModuleOptions): State {
  return 'verifier' in options ? { verifier: options.verifier, owned: false } : { verifier: createVerifier(options), owned: true };
}

@Global()
@Module({})
export class TokenwardModule implements OnModuleDestroy {
  constructor(@Inject(STATE) private readonly state: State) {}

  static forRoot(options: TokenwardModuleOptions): DynamicModule {
    return TokenwardModule.build([{ provide: STATE, useValue: state(options) }]);
  }

  static forRootAsync(options: TokenwardModuleAsyncOptions): DynamicModule {
    const factory = options.useFactory as (...args: unknown[]) => TokenwardModuleOptions | Promise<TokenwardModuleOptions>;
    return TokenwardModule.build(
      [{ provide: STATE, useFactory: async (...args: unknown[]) => state(await factory(...args)), inject: options.inject ?? [] }],
      options.imports,
    );
  }

  private static build(providers: DynamicModule['providers'] & object, imports: ModuleMetadata['imports'] = []): DynamicModule {
    return {
      module: TokenwardModule,
      global: true,
      imports,
      providers: [...providers, { provide: TOKENWARD_VERIFIER, useFactory: (s: State) => s.verifier, inject: [STATE] }, TokenwardGuard],
      exports: [TOKENWARD_VERIFIER, TokenwardGuard],
    };
  }

  onModuleDestroy(): void {
    if (this.state.owned) this.state.verifier.close();
  }
}
