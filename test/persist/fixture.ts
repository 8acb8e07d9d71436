// Devices for the persistence tests: a booted device with the console hub the daemon's surfaces make, as a restore
// target, and its REST app with the snapshot route.
import type { FastifyInstance } from 'fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConsoleHub } from '../../core/hlos/console-hub.js';
import { bootDevice, type Device } from '../../core/hlos/device.js';
import type { RestoreTarget } from '../../core/persist/restore.js';
import type { PersistLog } from '../../core/persist/state-store.js';
import { buildApp } from '../../server/app.js';
import snapshotRoutes from '../../server/routes/snapshot.js';

export interface PersistDevice {
  readonly device: Device;
  readonly consoles: ConsoleHub;
  readonly target: RestoreTarget;
  close(): void;
}

export function persistDevice(seed = 11): PersistDevice {
  const device = bootDevice({ seed });
  const consoles = new ConsoleHub(device.hlos.rm, device.hlos.vms, { rmEvents: device.system.rm.events });
  return {
    device,
    consoles,
    target: { hyp: device.hyp, hlos: device.hlos, rm: device.system.rm, consoles },
    close() {
      consoles.close();
      device.close();
    },
  };
}

/** The device's REST app (no listener; `inject`) with the snapshot route writing into `stateDir`. */
export async function persistApp(dev: PersistDevice, stateDir: string | null): Promise<FastifyInstance> {
  const app = await buildApp({ hyp: dev.device.hyp, hlos: dev.device.hlos, consoles: dev.consoles }, { rateLimit: false });
  await app.register(snapshotRoutes, { stateDir });
  await app.ready();
  return app;
}

/** A log that keeps what it is told, by level. */
export function memoryLog(): PersistLog & { readonly lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_obj: object, msg: string) => void lines.push({ level, msg });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'gunyah-persist-'));

/** Resolves once `check` holds; rejects after `ms`. */
export async function until(check: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`${what} did not hold within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
