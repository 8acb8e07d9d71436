// The OpenAPI document, generated from the route schemas of an app built on a freshly booted device with every
// service the daemon serves, so every route registers (the document depends on no runtime state). `npm run
// openapi` writes it to openapi/openapi.json, where it is committed and reviewed like code; a test fails when the
// committed copy is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bootDevice } from '../core/hlos/device.js';
import { buildApp } from './app.js';
import { deviceServices } from './device-services.js';

export const OPENAPI_FILE = fileURLToPath(new URL('../../openapi/openapi.json', import.meta.url));
export const REGENERATE_COMMAND = 'npm run openapi';

export async function generateOpenApi(): Promise<Record<string, unknown>> {
  const device = bootDevice();
  const services = deviceServices(device, { processMetrics: false });
  const app = await buildApp(services, { rateLimit: false });
  try {
    await app.ready();
    return JSON.parse(JSON.stringify(app.swagger())) as Record<string, unknown>;
  } finally {
    await app.close();
    services.close();
    device.close();
  }
}

/** The document as committed: two-space JSON and a final newline. */
export const serializeOpenApi = (doc: Record<string, unknown>): string => `${JSON.stringify(doc, null, 2)}\n`;

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(OPENAPI_FILE, serializeOpenApi(await generateOpenApi()));
  console.log(`wrote ${OPENAPI_FILE}`);
}
