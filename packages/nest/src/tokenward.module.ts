/**
 * TokenwardModule.forRoot / forRootAsync: one verifier for the whole application (a global
 * module), provided under TOKENWARD_VERIFIER, and the guard that uses it. The two methods come
 * from Nest's ConfigurableModuleBuilder, so forRootAsync takes `useFactory` (with `inject` and
 * `imports`), `useClass` or `useExisting`, as every Nest module does.
 */
import { ConfigurableModuleBuilder, Global, Inject, Module, type ConfigurableModuleAsyncOptions, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { createVerifier, type Verifier, type VerifierOptions } from '@tokenward/core';
import { ResourceMetadataRoute } from './resource-metadata.js';
import { TokenwardGuard } from './tokenward.guard.js';
import { TOKENWARD_REJECTION_LOG_LEVEL, TOKENWARD_VERIFIER, type RejectionLogLevel } from './tokens.js';

/**
 * Verifier options (the module creates the verifier and closes it with the app), or an existing
 * verifier; `failFast: true` makes the app's start wait for the verifier's metadata and keys and
 * fail with a TokenwardSetupError that says what is wrong.
 */
export type TokenwardModuleOptions = (VerifierOptions | { verifier: Verifier }) & {
  failFast?: boolean;
  /** The level TokenwardGuard logs rejections at through Nest's Logger (context 'Tokenward'): reason, status, code, the claim at fault, kid, never the token. Default 'log'; false: none. */
  rejectionLogLevel?: RejectionLogLevel;
};

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
  readonly failFast: boolean;
  readonly rejectionLogLevel: RejectionLogLevel;
}

@Global()
@Module({
  providers: [
    // A factory: each application built from this module gets its own verifier (and its own
    // caches), created when the app is, and closed with it.
    {
      provide: STATE,
      useFactory: ({ failFast = false, rejectionLogLevel = 'log', ...options }: TokenwardModuleOptions): State =>
        'verifier' in options
          ? { verifier: options.verifier, owned: false, failFast, rejectionLogLevel }
          : { verifier: createVerifier(options), owned: true, failFast, rejectionLogLevel },
      inject: [MODULE_OPTIONS_TOKEN],
    },
    { provide: TOKENWARD_VERIFIER, useFactory: (state: State) => state.verifier, inject: [STATE] },
    { provide: TOKENWARD_REJECTION_LOG_LEVEL, useFactory: (state: State) => state.rejectionLogLevel, inject: [STATE] },
    TokenwardGuard,
    ResourceMetadataRoute,
  ],
  exports: [TOKENWARD_VERIFIER, TOKENWARD_REJECTION_LOG_LEVEL, TokenwardGuard],
})
export class TokenwardModule extends ConfigurableModuleClass implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(@Inject(STATE) private readonly state: State) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.state.failFast) await this.state.verifier.ready();
  }

  onModuleDestroy(): void {
    if (this.state.owned) this.state.verifier.close();
  }
}
