// A booted system for the console tests: the RM and the HLOS with its RM driver (RmClient over its own port), VM
// manager and console hub, and secondary VMs whose guests really write their consoles through RM RPC on their own
// links. Besides the built-in console-echo, a `console-test` image lets a test make its guest write exact bytes.
import assert from 'node:assert/strict';
import { PAGE_SIZE } from '../../core/abi/memory.js';
import { VMID } from '../../core/abi/vmid.js';
import type { GuestCpu } from '../../core/guest/guest-cpu.js';
import { guestRmCalls } from '../../core/guests/guest-rm.js';
import { decodeImageHeader, isImageHeaderError } from '../../core/guests/image-header.js';
import { consoleEchoImage } from '../../core/guests/images/console-echo.js';
import { GuestRuntime } from '../../core/guests/runtime.js';
import { ConsoleHub, type ConsoleHubOptions } from '../../core/hlos/console-hub.js';
import { HlosMemory } from '../../core/hlos/hlos-memory.js';
import { RmCalls } from '../../core/hlos/rm-calls.js';
import { RmClient } from '../../core/hlos/rm-client.js';
import { RmFailure } from '../../core/hlos/rm-failure.js';
import { VmError, VmManager, type VmRecord } from '../../core/hlos/vm-manager.js';
import { Hypervisor } from '../../core/hyp/hypervisor.js';
import { bootSystem, HLOS_RAM, HLOS_RM_BUFFER_IPA } from '../../core/rm/boot.js';
import type { ImageLoader } from '../../core/rm/image-loader.js';
import type { ResourceManager } from '../../core/rm/resource-manager.js';
import type { Vm } from '../../core/vm/vm.js';

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
  readonly hyp: Hypervisor;
  readonly rm: ResourceManager;
  readonly calls: RmCalls;
  readonly vms: VmManager;
  readonly hub: ConsoleHub;
  readonly guests: Map<number, TestGuest>;
  /** Create and start a VM running `image` (`console-test` or `console-echo`). */
  createVm(name: string, image?: string): Promise<VmRecord>;
  close(): void;
}

const TEST_IMAGE = 'console-test';
/** The test guest's RM link buffers: the page after the header (as the built-in images place them). */
const RM_BUFFER_PAGE = 1;

export function consoleSystem(hubOpts: Omit<ConsoleHubOptions, 'rmEvents'> & { rmEvents?: boolean } = {}): ConsoleSystem {
  const hyp = new Hypervisor({ seed: 0xc0 });
  const sys = bootSystem(hyp);
  const client = new RmClient(sys.hlos.port);
  sys.hlos.port.onPacket = (p) => client.deliver(p);
  const calls = new RmCalls(client);
  const ram = new HlosMemory(HLOS_RAM.base, HLOS_RM_BUFFER_IPA - HLOS_RAM.base);
  const vms = new VmManager(calls, ram, sys.hlos.vm.memory);
  const hub = new ConsoleHub(calls, vms, { ...hubOpts, rmEvents: hubOpts.rmEvents === false ? undefined : sys.rm.events });
  const guests = new Map<number, TestGuest>();

  const loader: ImageLoader = {
    vcpus: () => 1,
    load(vm: Vm, image: Uint8Array, imageIpa: number) {
      const header = decodeImageHeader(image, image.length);
      if (isImageHeaderError(header)) return { ok: false, reason: header.detail };
      const link = sys.rm.linkOf(vm.vmid)!;
      const entry = imageIpa + PAGE_SIZE * 2;
      if (header.name === TEST_IMAGE) {
        vm.programs.set(entry, testGuestProgram(vm.vmid, link, imageIpa + RM_BUFFER_PAGE * PAGE_SIZE, guests));
      } else if (header.name === consoleEchoImage.name) {
        const ctx = { header, params: {}, link, imageIpa, imageSize: image.length };
        vm.programs.set(entry, consoleEchoImage.program(ctx as Parameters<typeof consoleEchoImage.program>[0]));
      } else {
        return { ok: false, reason: `no image ${header.name}` };
      }
      return { ok: true, entry: BigInt(entry), name: header.name };
    },
  };
  sys.rm.setImageLoader(loader);

  return {
    hyp, rm: sys.rm, calls, vms, hub, guests,
    async createVm(name, image = TEST_IMAGE) {
      const rec = await vms.create({ name, image });
      if (rec instanceof VmError) assert.fail(`create ${name}: ${rec.detail}`);
      await guests.get(rec.vmid)?.ready;
      return rec;
    },
    close() {
      hub.close();
      vms.close();
      client.close();
      hyp.scheduler.stop();
    },
  };
}

function testGuestProgram(vmid: number, link: Parameters<typeof guestRmCalls>[1], bufferIpa: number, guests: Map<number, TestGuest>) {
  let opened!: () => void;
  const ready = new Promise<void>((resolve) => (opened = resolve));
  const input: Buffer[] = [];
  let rm: RmCalls | null = null;
  const must = (r: unknown, what: string) => assert.ok(!(r instanceof RmFailure), `${what}: ${(r as RmFailure)?.message}`);
  guests.set(vmid, {
    vmid, ready, input,
    async write(bytes) {
      const data = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
      must(await rm!.consoleWrite(VMID.SELF, data), 'guest console write');
    },
    async closeConsole() {
      must(await rm!.consoleClose(VMID.SELF), 'guest console close');
    },
  });
  return async (cpu: GuestCpu): Promise<void> => {
    const rt = new GuestRuntime(cpu);
    rm = guestRmCalls(rt, link, bufferIpa);
    rm.on('VM_CONSOLE_CHARS', (n) => {
      if (n.vmid === VMID.SELF) input.push(Buffer.from(n.bytes));
    });
    await rt.run(async () => {
      must(await rm!.consoleOpen(VMID.SELF), 'guest console open');
      opened();
      await new Promise<never>(() => {}); // serve: the test drives the guest from here on
    });
  };
}

/** Wait for `cond`, turning the event loop (1 ms timers); fails after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
