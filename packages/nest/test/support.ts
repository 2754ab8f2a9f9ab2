/**
 * Real Nest applications for the tests: built with Test.createTestingModule, on the Express or the
 * Fastify platform, listening on 127.0.0.1, and closed after each test.
 */
import 'reflect-metadata';
import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';

export { bearer, get, type Answer } from '../../../test/support/fetch';

export type Platform = 'Express' | 'Fastify';

/** Both platforms, for `describe.each`. */
export const platforms: Platform[] = ['Express', 'Fastify'];

function adapter(platform: Platform): AbstractHttpAdapter {
  return platform === 'Express' ? new ExpressAdapter() : new FastifyAdapter();
}

export interface Started {
  app: INestApplication;
  /** `http://127.0.0.1:PORT` */
  base: string;
}

const running: INestApplication[] = [];

/** Closes every app started by the test; call from afterEach. */
export async function closeAll(): Promise<void> {
  await Promise.all(running.splice(0).map((app) => app.close()));
}

/** A testing module of `metadata` on `platform`, listening on a free loopback port. */
export async function start(metadata: ModuleMetadata, platform: Platform = 'Express'): Promise<Started> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  const app = moduleRef.createNestApplication(adapter(platform), { logger: false });
  running.push(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, base: `http://127.0.0.1:${port}` };
}

