/**
 * TokenwardModule.forRoot / forRootAsync: one verifier for the whole application (a global
 * module), provided under TOKENWARD_VERIFIER, and the guard that uses it. The two methods come
 * from Nest's ConfigurableModuleBuilder, so forRootAsync takes `useFactory` (with `inject` and
 * `imports`), `useClass` or `useExisting`, as every Nest module does.
 */
import { ConfigurableModuleBuilder, Global, Inject, Module, type ConfigurableModuleAsyncOptions, type OnModuleDestroy } from '@nestjs/common';
import { createVerifier, type Verifier, type VerifierOptions } from '@tokenward/core';
import { TokenwardGuard } from './tokenward.guard.js';
import { TOKENWARD_VERIFIER } from './tokens.js';

/** Verifier options (the module creates the verifier and closes it with the app), or an existing verifier. */
export type TokenwardModuleOptions = VerifierOptions | { verifier: Verifier };

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } = new ConfigurableModuleBuilder<TokenwardModuleOptions>({ moduleName: 'Tokenward' })
  .setClassMethodName('forRoot')
  .build();

/** `forRootAsync`'s argument: `useFactory` with `inject` and `imports`, `useClass` or `useExisting`. */
export type TokenwardModuleAsyncOptions = ConfigurableModuleAsyncOptions<TokenwardModuleOptions>;

// The verifier, and whether this module created it: a verifier passed in belongs to the caller,
// who may share it between apps, so only an owned one is closed.
const STATE = Symbol('tokenward.moduleState');
interface State {
  readonly verifier: Verifier;
  readonly owned: boolean;
}

@Global()
@Module({
  providers: [
    // A factory: each application built from this module gets its own verifier (and its own
    // caches), created when the app is, and closed with it.
    {
      provide: STATE,
      useFactory: (options: TokenwardModuleOptions): State =>
        'verifier' in options ? { verifier: options.verifier, owned: false } : { verifier: createVerifier(options), owned: true },
      inject: [MODULE_OPTIONS_TOKEN],
    },
    { provide: TOKENWARD_VERIFIER, useFactory: (state: State) => state.verifier, inject: [STATE] },
    TokenwardGuard,
  ],
  exports: [TOKENWARD_VERIFIER, TokenwardGuard],
})
export class TokenwardModule extends ConfigurableModuleClass implements OnModuleDestroy {
  constructor(@Inject(STATE) private readonly state: State) {
    super();
  }

  onModuleDestroy(): void {
    if (this.state.owned) this.state.verifier.close();
  }
}
