// The daemon's REST app (every service gunyahd serves, rate limiting off) on a booted device, for tests that drive
// it with inject: one place builds it and one close() takes it down.
import type { FastifyInstance } from 'fastify';
import type { Device } from '../../core/hlos/device.js';
import { buildApp } from '../../server/app.js';
import { deviceServices } from '../../server/device-services.js';

export interface RestApp {
  readonly app: FastifyInstance;
  /** Closes the app and the services; the device stays up (its owner closes it). */
  close(): Promise<void>;
}

export async function restApp(device: Device): Promise<RestApp> {
  const services = deviceServices(device, { processMetrics: false });
  const app = await buildApp(services, { rateLimit: false });
  await app.ready();
  return {
    app,
    async close() {
      await app.close();
      services.close();
    },
  };
}
