// The services the control plane serves for one booted device, made in one place: the console hub, the sysfs tree
// and the metrics registry. The daemon, the OpenAPI generator and end-to-end tests all build them here, so /metrics,
// sysfs and REST read the same objects.
import { createRequire } from 'node:module';
import { ConsoleHub } from '../core/hlos/console-hub.js';
import type { Device } from '../core/hlos/device.js';
import { buildSysfsTree } from '../fs/sysfs.js';
import { MetricsRegistry } from './metrics/registry.js';
import type { Services } from './services.js';

export const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

export interface DeviceServices extends Services {
  readonly consoles: ConsoleHub;
  readonly sysfs: ReturnType<typeof buildSysfsTree>;
  readonly metrics: MetricsRegistry;
  /** Detach the console hub and the metrics sources from the device. */
  close(): void;
}

export function deviceServices(device: Device, opts: { processMetrics?: boolean } = {}): DeviceServices {
  const consoles = new ConsoleHub(device.hlos.rm, device.hlos.vms, { rmEvents: device.system.rm.events });
  const metrics = new MetricsRegistry(device.hyp, { version: VERSION, ...opts });
  metrics.attachRm(device.system.rm);
  metrics.attachHlosRpc(device.hlos.client.stats);
  return {
    hyp: device.hyp,
    hlos: device.hlos,
    consoles,
    sysfs: buildSysfsTree(device),
    metrics,
    close() {
      consoles.close();
      metrics.close();
    },
  };
}
