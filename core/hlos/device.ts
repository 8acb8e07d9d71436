// One emulated device, booted: the hypervisor, the RM (VMID 0xFF) with the built-in image loader, and the HLOS
// (VMID 3) with its RM driver. What the daemon and the end-to-end tests start from; the VMs are created after,
// through the HLOS, over RM RPC.
import { Hypervisor } from '../hyp/hypervisor.js';
import type { ImageDefinition } from '../guests/image-types.js';
import { createImageLoader } from '../guests/loader.js';
import { bootSystem, type BootedSystem } from '../rm/boot.js';
import { Hlos } from './hlos.js';

export interface DeviceOptions {
  /** Seed for capids and entropy: the same seed gives the same capids. */
  seed?: number;
  /** Default deadline of the HLOS's RM calls, ms. */
  timeoutMs?: number;
  /** The images the loader knows (default the built-in ones; benchmarks add their own). */
  images?: ReadonlyMap<string, ImageDefinition<any>>;
}

export interface Device {
  readonly hyp: Hypervisor;
  readonly system: BootedSystem;
  readonly hlos: Hlos;
  readonly loader: ReturnType<typeof createImageLoader>;
  /** Stop the HLOS driver and the vCPU scheduler (nothing of the device keeps the process alive after). */
  close(): void;
}

export function bootDevice(opts: DeviceOptions = {}): Device {
  const hyp = new Hypervisor({ seed: opts.seed });
  const system = bootSystem(hyp);
  const rm = system.rm;
  const loader = createImageLoader({ linkOf: (vmid) => rm.linkOf(vmid) }, opts.images);
  rm.setImageLoader(loader);
  const hlos = new Hlos(system, { timeoutMs: opts.timeoutMs });
  return {
    hyp, system, hlos, loader,
    close() {
      hlos.close();
      hyp.scheduler.stop();
    },
  };
}
