/**
 * TokenwardReceiverModule.register({ path, receiver }): an event receiver of core
 * (`backchannelLogout`, `securityEvents`) as a public POST route, its receiver made from the
 * application's verifier (TOKENWARD_VERIFIER, from TokenwardModule). The body is what the
 * platform parsed (a form on both platforms), else read raw and capped: on Fastify a parser for
 * the receiver's media type is added at module init, since Fastify refuses a type it has no
 * parser for. Core answers; the controller only writes the answer through the platform.
 */
import { Controller, Inject, Module, Post, Req, Res, type DynamicModule, type OnModuleInit, type Type } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { IncomingMessage } from 'node:http';
import { readBody, type EventReceiver, type ReceiverRequest, type Verifier } from '@tokenward/core';
import { Public } from './decorators.js';
import { TOKENWARD_VERIFIER } from './tokens.js';

export interface TokenwardReceiverOptions {
  /** The route's path, e.g. 'backchannel-logout'. */
  path: string;
  /** Makes the receiver from the app's verifier: `(verifier) => backchannelLogout({ verifier, clientId })`. */
  receiver: (verifier: Verifier) => EventReceiver;
}

// What the platforms hand a handler: Express's request, or Fastify's (its Node request in `raw`).
type PlatformRequest = IncomingMessage & { body?: ReceiverRequest['body']; raw?: IncomingMessage; headers: IncomingMessage['headers'] };
type FastifyLike = { hasContentTypeParser(type: string): boolean; addContentTypeParser(type: string, parser: (request: unknown, payload: IncomingMessage, done: (error: Error | null, body?: Buffer) => void) => void): void };

let registrations = 0;

@Module({})
export class TokenwardReceiverModule {
  static register(options: TokenwardReceiverOptions): DynamicModule {
    // One token and one controller class per registration: an app may mount several receivers.
    const token = Symbol(`tokenward.receiver.${++registrations}`);

    @Controller(options.path)
    class TokenwardReceiverController implements OnModuleInit {
      constructor(
        @Inject(token) private readonly receiver: EventReceiver,
        private readonly adapterHost: HttpAdapterHost,
      ) {}

      onModuleInit(): void {
        const adapter = this.adapterHost.httpAdapter;
        if (adapter?.getType() !== 'fastify') return;
        const fastify = adapter.getInstance<FastifyLike>();
        if (fastify.hasContentTypeParser(this.receiver.mediaType)) return;
        fastify.addContentTypeParser(this.receiver.mediaType, (_request, payload, done) => {
          readBody(payload, this.receiver.maxBytes).then((body) => done(null, body), done);
        });
      }

      @Post()
      @Public()
      async receive(@Req() request: PlatformRequest, @Res() response: unknown): Promise<void> {
        const raw = request.raw ?? request;
        // Parsed by the platform (Fastify always reads before the handler; Express's parsers end the stream), else read here.
        const body = request.raw !== undefined || raw.readableEnded ? request.body : await readBody(raw, this.receiver.maxBytes);
        const answer = await this.receiver.handle({ method: raw.method ?? 'POST', contentType: raw.headers['content-type'], body });
        const adapter = this.adapterHost.httpAdapter;
        for (const [name, value] of Object.entries(answer.headers)) adapter.setHeader(response, name, value);
        adapter.reply(response, answer.body, answer.status);
      }
    }

    return {
      module: TokenwardReceiverModule,
      controllers: [TokenwardReceiverController as Type],
      providers: [{ provide: token, useFactory: options.receiver, inject: [TOKENWARD_VERIFIER] }],
    };
  }
}
