// A booted device for the console tests (core/hlos/device.ts: the RM, the HLOS with its RM driver and VM manager,
// the built-in image loader) with a console hub, and secondary VMs whose guests really write their consoles through
// RM RPC on their own links. Besides the built-in images, `console-test` lets a test make its guest write exact bytes.
import assert from 'node:assert/strict';
import { VMID } from '../../core/abi/vmid.js';
import { PAGE_SIZE } from '../../core/abi/memory.js';
import { guestRmCalls } from '../../core/guests/guest-rm.js';
import type { ImageDefinition } from '../../core/guests/image-types.js';
import { BUILT_IN_IMAGES } from '../../core/guests/loader.js';
import { GuestRuntime } from '../../core/guests/runtime.js';
import { ConsoleHub, type ConsoleHubOptions } from '../../core/hlos/console-hub.js';
import { bootDevice, type Device } from '../../core/hlos/device.js';
import type { RmCalls } from '../../core/hlos/rm-calls.js';
import { RmFailure } from '../../core/hlos/rm-failure.js';
import { VmError, type VmManager, type VmRecord } from '../../core/hlos/vm-manager.js';
import type { Hypervisor } from '../../core/hyp/hypervisor.js';
import type { ResourceManager } from '../../core/rm/resource-manager.js';

/** The guest of a `console-test` VM, driven by the test: its console is open once `ready` resolves. */
export interface TestGuest {
  readonly vmid: number;
  readonly ready: Promise<void>;
  /** VM_CONSOLE_WRITE (vmid 0) of exactly these bytes, as one RM message. */
  write(bytes: Uint8Array | string): Promise<void>;
  /** VM_CONSOLE_CLOSE of its own end. */
  closeConsole(): Promise<void>;
  /** What the owner typed into the console (VM_CONSOLE_CHARS with vmid 0). */
  readonly input: Buffer[];
}

export interface ConsoleSystem {
  readonly device: Device;
  readonly hyp: Hypervisor;
  readonly rm: ResourceManager;
  /** The HLOS's RM calls and VM manager. */
  readonly calls: RmCalls;
  readonly vms: VmManager;
  readonly hub: ConsoleHub;
  readonly guests: Map<number, TestGuest>;
  /** Create and start a VM running `image` (`console-test` by default); a test guest is ready when it resolves. */
  createVm(name: string, image?: string): Promise<VmRecord>;
  close(): void;
}

export const TEST_IMAGE = 'console-test';

export function consoleSystem(hubOpts: Omit<ConsoleHubOptions, 'rmEvents'> & { rmEvents?: boolean } = {}): ConsoleSystem {
  const guests = new Map<number, TestGuest>();
  const device = bootDevice({ seed: 0xc0, images: new Map([...BUILT_IN_IMAGES, [TEST_IMAGE, testImage(guests)]]) });
  const { hlos, system } = device;
  const hub = new ConsoleHub(hlos.rm, hlos.vms, { ...hubOpts, rmEvents: hubOpts.rmEvents === false ? undefined : system.rm.events });
  return {
    device, hyp: device.hyp, rm: system.rm, calls: hlos.rm, vms: hlos.vms, hub, guests,
    async createVm(name, image = TEST_IMAGE) {
      const rec = await hlos.vms.create({ name, image });
      if (rec instanceof VmError) assert.fail(`create ${name}: ${rec.detail}`);
      if (image === TEST_IMAGE) {
        await until(() => guests.has(rec.vmid), `the guest of ${name} running`);
        await guests.get(rec.vmid)!.ready;
      }
      return rec;
    },
    close() {
      hub.close();
      device.close();
    },
  };
}

/** `console-test`: opens its console, then writes and closes it when the test says so (page 1 holds its RM buffers). */
function testImage(guests: Map<number, TestGuest>): ImageDefinition<Record<string, never>> {
  return {
    name: TEST_IMAGE,
    description: 'a console the test drives',
    params: () => ({}),
    program: (ctx) => async (cpu) => {
      const rt = new GuestRuntime(cpu);
      const rm = guestRmCalls(rt, ctx.link, ctx.imageIpa + PAGE_SIZE);
      const must = (r: unknown, what: string) => assert.ok(!(r instanceof RmFailure), `${what}: ${(r as RmFailure)?.message}`);
      const input: Buffer[] = [];
      let opened!: () => void;
      const ready = new Promise<void>((resolve) => (opened = resolve));
      guests.set(cpu.vmid, {
        vmid: cpu.vmid, ready, input,
        async write(bytes) {
          must(await rm.consoleWrite(VMID.SELF, typeof bytes === 'string' ? Buffer.from(bytes) : bytes), 'guest console write');
        },
        async closeConsole() {
          must(await rm.consoleClose(VMID.SELF), 'guest console close');
        },
      });
      rm.on('VM_CONSOLE_CHARS', (n) => {
        if (n.vmid === VMID.SELF) input.push(Buffer.from(n.bytes));
      });
      await rt.run(async () => {
        must(await rm.consoleOpen(VMID.SELF), 'guest console open');
        opened();
        await new Promise<never>(() => {}); // serve: the test drives the guest from here on
      });
    },
  };
}

/** Wait for `cond`, turning the event loop (1 ms timers); fails after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
