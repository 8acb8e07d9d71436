// Device boot as the RM performs it (R-MAIN main, hlos_vm_create): the RM VM (VMID 0xFF), then the primary VM
// (HLOS, VMID 3) with its RAM and its RM link, running. What the HLOS driver, the daemon and tests start from.
import { PAGE_SIZE } from '../abi/memory.js';
import { VM_STATUS } from '../abi/rm.js';
import { VMID } from '../abi/vmid.js';
import type { Hypervisor } from '../hyp/hypervisor.js';
import type { Vm } from '../vm/vm.js';
import { MsgqPort, type RmLinkInfo } from './port.js';
import { ResourceManager } from './resource-manager.js';

/** The HLOS's RAM: 1 GiB at IPA 0x8000_0000, backed lazily (only touched pages cost memory). */
export const HLOS_RAM = { base: 0x8000_0000, size: 1 << 30 } as const;
/**
 * The page of HLOS RAM its RM port uses for message buffers: the last one, so memory the HLOS lends to VMs is
 * best taken from the bottom.
 */
export const HLOS_RM_BUFFER_IPA = HLOS_RAM.base + HLOS_RAM.size - PAGE_SIZE;

export interface BootOptions {
  /** vCPUs of the HLOS (default 1). */
  hlosVcpus?: number;
}

export interface BootedSystem {
  readonly rm: ResourceManager;
  readonly hlos: {
    readonly vm: Vm;
    /** The HLOS's end of its RM link, on vCPU 0 (its driver sends and receives RPC packets through it). */
    readonly port: MsgqPort;
    /** The devicetree facts of the link (spec §4.5). */
    readonly link: RmLinkInfo;
  };
}

/** Boot the RM and the HLOS on a fresh hypervisor. Throws only if the hypervisor cannot build them (a bug). */
export function bootSystem(hyp: Hypervisor, opts: BootOptions = {}): BootedSystem {
  const rm = new ResourceManager(hyp);
  const hlos = rm.adopt(VMID.HLOS, VMID.RM, 'HLOS');
  const failure = rm.build(hlos, { vcpus: opts.hlosVcpus ?? 1, ram: HLOS_RAM });
  if (failure !== null) throw new Error(`HLOS boot failed: ${failure}`);
  // R-MAIN hlos_vm_start: the RM starts the primary VM itself (NONE -> LOAD -> INIT -> READY -> RUNNING).
  for (const status of [VM_STATUS.LOAD, VM_STATUS.INIT, VM_STATUS.READY, VM_STATUS.RUNNING]) rm.setStatus(hlos, status, false);
  const vm = hlos.vm!;
  const link = hlos.link!.vm;
  return { rm, hlos: { vm, port: new MsgqPort(vm.vcpus[0]!, link, HLOS_RM_BUFFER_IPA), link } };
}
