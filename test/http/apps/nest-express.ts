/** The shared suite's routes on NestJS with the Express platform. */
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { CreateSuiteApp } from '../app-factory';
import { listen, suiteModule } from './nest-app';

export const createApp: CreateSuiteApp = async (options) =>
  listen(await NestFactory.create(suiteModule(options), new ExpressAdapter(), { logger: false }));
