/** The shared suite's routes on NestJS with the Express platform. */
import type { HttpsOptions } from '@nestjs/common/interfaces/external/https-options.interface';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter, type NestExpressApplication } from '@nestjs/platform-express';
import type { CreateSuiteApp } from '../app-factory';
import { listen, suiteModule } from './nest-app';

export const createApp: CreateSuiteApp = async (options, settings = {}) => {
  const app = await NestFactory.create<NestExpressApplication>(suiteModule(options, settings.receivers), new ExpressAdapter(), { logger: false, httpsOptions: settings.https as HttpsOptions | undefined });
  if (settings.trustProxy === true) app.set('trust proxy', true);
  return listen(app, settings.https !== undefined);
};
