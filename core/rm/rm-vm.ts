// What the RM knows of one VM (R-MGNT vm_t): its owner, its statuses (spec §9.5), its configured image, the
// hypervisor objects built for it, its RPC link and its console (spec §10.1).
import { OS_STATUS, VM_STATUS, type OsStatus, type VmStatus } from '../abi/rm.js';
import type { Vm } from '../vm/vm.js';
import type { RmLink } from './link.js';
import type { RpcEndpoint } from './rpc-endpoint.js';
import type { Vdevices } from './vdevices.js';
import type { VirqAllocator } from './virq-allocator.js';

/** The two ends of a VM's console (spec §10.1): the VM itself and its owner. */
export type ConsoleEnd = 'self' | 'owner';

export class RmConsole {
  selfOpen = false;
  ownerOpen = false;
  /** Bytes the VM wrote to its console and the RM delivered to the owner. */
  bytesOut = 0;
  /** Bytes the owner wrote to the VM and the RM delivered to it. */
  bytesIn = 0;
  /** Bytes written while the other end was closed: silently dropped (spec §10.1). */
  bytesDropped = 0;

  isOpen(end: ConsoleEnd): boolean {
    return end === 'self' ? this.selfOpen : this.ownerOpen;
  }

  set(end: ConsoleEnd, open: boolean): void {
    if (end === 'self') this.selfOpen = open;
    else this.ownerOpen = open;
  }
}

/** VM_CONFIG_IMAGE (spec §9.4): where the image and devicetree lie in a memory parcel lent to the VM. */
export interface ImageConfig {
  readonly auth: number;
  readonly handle: number;
  readonly imageOffset: bigint;
  readonly imageSize: bigint;
  readonly dtbOffset: bigint;
  readonly dtbSize: bigint;
}

/** Capids in the RM's cspace for the objects of a VM it built (hyp.createVm with the RM as manager). */
export interface ManagedCaps {
  readonly cspace: bigint;
  readonly addrspace: bigint;
  readonly vic: bigint;
  readonly vcpus: readonly bigint[];
}

export class RmVm {
  status: VmStatus = VM_STATUS.NO_STATE;
  osStatus: OsStatus = OS_STATUS.NONE;
  appStatus = 0;
  /** The hypervisor's VM, once built (the HLOS at boot, a secondary VM at VM_INIT). */
  vm: Vm | null = null;
  caps: ManagedCaps | null = null;
  /** vIRQ numbers the RM binds on this VM's vIC. */
  virqs: VirqAllocator | null = null;
  link: RmLink | null = null;
  endpoint: RpcEndpoint | null = null;
  /** The message-queue and doorbell pairs with its owner, made at VM_INIT. */
  vdevices: Vdevices | null = null;
  readonly console = new RmConsole();
  image: ImageConfig | null = null;
  /** Name of the image the loader started (from its header), for listings. */
  imageName = '';
  /** Where vCPU 0 starts (VM_START). */
  entry = 0n;
  /** Caps to this VM's vCPUs copied into a requester's cspace by VM_GET_HYP_RESOURCES, by requester VMID. */
  readonly grantedVcpus = new Map<number, bigint[]>();

  constructor(
    readonly vmid: number,
    /** The VM that allocated it (VMID_RM for the HLOS). */
    readonly owner: number,
    public name: string,
  ) {}

  get statusWord(): number {
    return (this.status | (this.osStatus << 8) | (this.appStatus << 16)) >>> 0;
  }
}
