/**
 * RFC 9728: the resource's metadata (the verifier's `protectedResource` option), served on both
 * platforms as a public GET route of the underlying server. Registered at module init, before
 * Nest adds its not-found handler, since the path comes from the verifier, which the module's
 * options (sync or async) make. Core answers; this only writes the answer through the platform.
 */
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { Verifier } from '@tokenward/core';
import { TOKENWARD_VERIFIER } from './tokens.js';

@Injectable()
export class ResourceMetadataRoute implements OnModuleInit {
  constructor(
    @Inject(TOKENWARD_VERIFIER) private readonly verifier: Verifier,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const metadata = this.verifier.resourceMetadata;
    // No HTTP adapter: a standalone application or a test module, with nothing to serve.
    const adapter = this.adapterHost.httpAdapter;
    if (metadata === undefined || adapter === undefined || adapter === null) return;
    adapter.get(metadata.path, (request: { method?: string; raw?: { method?: string } }, response: unknown) => {
      const answer = metadata.answer(request.raw?.method ?? request.method ?? 'GET');
      for (const [name, value] of Object.entries(answer.headers)) adapter.setHeader(response, name, value);
      adapter.reply(response, answer.body ?? '', answer.status);
    });
  }
}
