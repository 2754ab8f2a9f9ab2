/** The shared suite's routes on NestJS with the Fastify platform. */
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { CreateSuiteApp } from '../app-factory';
import { listen, suiteModule } from './nest-app';

export const createApp: CreateSuiteApp = async (options, settings = {}) => {
  const adapter = new FastifyAdapter({ trustProxy: settings.trustProxy === true, ...(settings.https === undefined ? {} : { https: settings.https }) });
  return listen(await NestFactory.create<NestFastifyApplication>(suiteModule(options, settings.receivers), adapter, { logger: false }), settings.https !== undefined);
};
