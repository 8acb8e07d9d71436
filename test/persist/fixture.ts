// Devices for the persistence tests: a booted device with the console hub the daemon's surfaces make, as a restore
// target, and its REST app with the snapshot route.
import type { FastifyInstance } from 'fastify';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GH_ERROR, ghErrorName } from '../../core/abi/errors.js';
import { PAGE_SIZE } from '../../core/abi/memory.js';
import { ConsoleHub } from '../../core/hlos/console-hub.js';
import { hvc } from '../../core/hyp/call.js';
import type { Vm } from '../../core/vm/vm.js';
import { bootDevice, type Device } from '../../core/hlos/device.js';
import type { RestoreTarget } from '../../core/persist/restore.js';
import type { PersistLog } from '../../core/persist/state-store.js';
import { buildApp } from '../../server/app.js';

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
  const app = await buildApp({ hyp: dev.device.hyp, hlos: dev.device.hlos, consoles: dev.consoles }, { rateLimit: false, stateDir });
  await app.ready();
  return app;
}

/**
 * msgqueue_send as a secondary VM would make it: on its vCPU 0 (registers put back after), from a buffer in the
 * memory lent to it (a page its image leaves alone). The REST agent needs a RAM region, which secondary VMs lack.
 */
export function vmSend(device: Device, vmid: number, capid: string, bytes: Uint8Array): string {
  return asVm(device, vmid, (vm, ipa) => {
    vm.memory.writeBytes(ipa, bytes);
    return ghErrorName(hvc(vm.vcpus[0]!, 'msgqueue_send', [BigInt(capid), bytes.length, ipa, 0]).err);
  });
}

/** msgqueue_receive as a secondary VM (see vmSend): the message, or the error's name. */
export function vmReceive(device: Device, vmid: number, capid: string): Buffer | string {
  return asVm(device, vmid, (vm, ipa) => {
    const r = hvc(vm.vcpus[0]!, 'msgqueue_receive', [BigInt(capid), ipa, PAGE_SIZE]);
    if (r.err !== GH_ERROR.OK) return ghErrorName(r.err);
    return Buffer.from(vm.memory.readBytes(ipa, Number(r.x[1])) as Uint8Array);
  });
}

function asVm<T>(device: Device, vmid: number, fn: (vm: Vm, ipa: number) => T): T {
  const vm = device.hyp.vms.get(vmid)!;
  const range = device.hlos.vms.get(vmid)!.memory!;
  const vcpu = vm.vcpus[0]!;
  const saved = vcpu.regs.slice();
  try {
    return fn(vm, range.base + range.size - 2 * PAGE_SIZE);
  } finally {
    vcpu.regs.set(saved);
  }
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
