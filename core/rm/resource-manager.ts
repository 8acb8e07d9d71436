// The Resource Manager (spec §9-§10): a VM of its own, VMID 0xFF, serving RPC over one message-queue pair per
// client VM. It owns the VM records and their state machine (spec §9.5), builds VMs through the hypervisor with
// itself as their manager, and sends notifications. The services themselves live in services/; this file holds
// what they share. Nothing here throws on client input: every request is answered or dropped per spec §9.2.
import { allRights } from '../abi/objects.js';
import {
  EXIT_TYPE, OS_STATUS, RM_ERROR, RM_NOTIF, VM_EXIT_CODE, VM_STATUS, type OsStatus, type VmStatus,
} from '../abi/rm.js';
import { PAGE_SIZE } from '../abi/memory.js';
import { VMID } from '../abi/vmid.js';
import type { Cap } from '../hyp/cspace.js';
import { TypedEmitter } from '../hyp/events.js';
import type { Hypervisor } from '../hyp/hypervisor.js';
import { Memparcels } from '../mem/parcels.js';
import type { Vcpu } from '../vm/vcpu.js';
import type { Vm } from '../vm/vm.js';
import { RmGuestInterface, RmHypercallError } from './guest-interface.js';
import { asImageLoader, NO_IMAGE_LOADER, type ImageLoader, type ImageLoadFunction } from './image-loader.js';
import { setU32 } from './le.js';
import { createLink, destroyLink, type RmCaps } from './link.js';
import { VmExitedNotification, VmStatusNotification } from './messages.js';
import { MsgqPort, type RmLinkInfo } from './port.js';
import { encodeMessage, encodeReply } from './rpc-codec.js';
import { RpcEndpoint } from './rpc-endpoint.js';
import { RmStats } from './rm-stats.js';
import { RmVm, type ConsoleEnd } from './rm-vm.js';
import { SERVICES } from './services/index.js';
import { destroyVdevices } from './vdevices.js';
import { VirqAllocator } from './virq-allocator.js';
import { VirqRouter } from './virq-router.js';
import { VmidPool } from './vmid-pool.js';
import { stateChangeValid } from './vm-state.js';

/** The RM VM's own RAM: one scratch page per client link. */
export const RM_RAM = { base: 0x1000_0000, size: 64 << 20 } as const;

export interface VmStatusEvent {
  readonly vmid: number;
  readonly status: VmStatus;
  readonly osStatus: OsStatus;
  readonly appStatus: number;
}

/** What the control plane can follow (REST events, sysfs, logs). */
export interface RmEvents {
  'vm-status': VmStatusEvent;
  'vm-allocated': { readonly vmid: number; readonly owner: number };
  'vm-deallocated': { readonly vmid: number };
  'vm-exited': { readonly vmid: number; readonly exitType: number; readonly reason: Uint8Array };
  'console-open': { readonly vmid: number; readonly end: ConsoleEnd };
  'console-close': { readonly vmid: number; readonly end: ConsoleEnd };
  /** A notification queued to a client (the RM's sends, in order). */
  notification: { readonly to: number; readonly msgId: number; readonly seq: number; readonly payload: Uint8Array };
}

/** A service's answer: an RM error (OK = standard reply), or OK with reply data. */
export type ServiceResult = number | Uint8Array;

export interface RpcRequest {
  readonly rm: ResourceManager;
  /** The requesting VM. */
  readonly client: RmVm;
  readonly payload: Uint8Array;
}

export type Service = (req: RpcRequest) => ServiceResult;

export interface BuildSpec {
  readonly vcpus: number;
  readonly ram?: { readonly base: number; readonly size: number };
}

export class ResourceManager {
  readonly events = new TypedEmitter<RmEvents>();
  readonly stats = new RmStats();
  /** Every VM the RM knows, by VMID (itself and the HLOS included). */
  readonly vms = new Map<number, RmVm>();
  readonly vmids = new VmidPool();
  /** Memory parcels (spec §7.2), applied to the VMs' address spaces. */
  readonly parcels: Memparcels;
  /** Handles of parcels created with the APPEND flag whose last MEM_APPEND has not come yet. */
  readonly parcelsInProgress = new Set<number>();
  /** The RM's own VM (VMID 0xFF). */
  readonly vm: Vm;
  readonly gi: RmGuestInterface;
  readonly caps: RmCaps;
  /** The last exception a service threw (answered with RM_ERROR_DENIED). */
  lastFault: unknown = null;
  private loader: ImageLoader = NO_IMAGE_LOADER;
  private readonly virqs: VirqAllocator;
  private readonly freePages: number[] = [];
  private nextPage: number = RM_RAM.base;

  constructor(readonly hyp: Hypervisor) {
    this.parcels = new Memparcels(hyp);
    const { vm } = hyp.createVm({ vmid: VMID.RM, name: 'RM', vcpus: 1, ram: RM_RAM });
    this.vm = vm;
    this.gi = new RmGuestInterface(vm.vcpus[0]!);
    // The boot environment gives the RM its root partition, its own cspace and vIC (R-MAIN env_data caps).
    const grant = (o: Cap['object']) => vm.cspace.capid((vm.cspace.insert(o, allRights(o.type)) as Cap).slot);
    this.caps = { partition: grant(hyp.root), cspace: grant(vm.cspace), vic: grant(vm.vic) };
    this.virqs = new VirqAllocator(vm.vic.maxVirqs);
    VirqRouter.exclusive(vm.vic); // every interrupt of the RM VM is one of its links'
    const self = this.adopt(VMID.RM, VMID.RM, 'RM');
    self.vm = vm;
    self.status = VM_STATUS.RUNNING;
    hyp.events.on('vcpu-fault', this.onVcpuFault);
  }

  /** Register the guest layer's image loader (a bare function gives every VM one vCPU). */
  setImageLoader(loader: ImageLoader | ImageLoadFunction): void {
    this.loader = asImageLoader(loader);
  }

  get imageLoader(): ImageLoader {
    return this.loader;
  }

  /** The devicetree facts of a VM's RM link (spec §4.5), or null when it has none. */
  linkOf(vmid: number): RmLinkInfo | null {
    return this.vms.get(vmid)?.link?.vm ?? null;
  }

  /** A VM record by VMID. */
  lookup(vmid: number): RmVm | undefined {
    return this.vms.get(vmid);
  }

  /** A new record in NO_STATE, with its console; the caller moves it on (VM_ALLOCATE: LOAD). */
  adopt(vmid: number, owner: number, name: string): RmVm {
    const rvm = new RmVm(vmid, owner, name);
    this.vms.set(vmid, rvm);
    return rvm;
  }

  forget(rvm: RmVm): void {
    this.vms.delete(rvm.vmid);
  }

  /**
   * Build the hypervisor side of a VM, as the RM does at VM_INIT: its cspace, address space, vIC and vCPUs (the
   * RM as manager), then its RPC link. On failure everything is undone and the reason returned.
   */
  build(rvm: RmVm, spec: BuildSpec): string | null {
    if (this.hyp.vms.has(rvm.vmid)) return `VMID ${rvm.vmid} exists in the hypervisor already`;
    const { vm, managerCaps } = this.hyp.createVm({
      vmid: rvm.vmid, name: rvm.name, vcpus: spec.vcpus, ram: spec.ram, manager: this.vm.cspace,
    });
    const capid = (cap: Cap) => this.vm.cspace.capid(cap.slot);
    const m = managerCaps!;
    rvm.vm = vm;
    rvm.caps = { cspace: capid(m.cspace), addrspace: capid(m.addrspace), vic: capid(m.vic), vcpus: m.vcpus.map(capid) };
    rvm.virqs = new VirqAllocator(vm.vic.maxVirqs);
    const virqs = { vmTx: rvm.virqs.alloc(), vmRx: rvm.virqs.alloc(), rmTx: this.virqs.alloc(), rmRx: this.virqs.alloc() };
    if (Object.values(virqs).some((v) => v === null)) {
      for (const v of [virqs.rmTx, virqs.rmRx]) if (v !== null) this.virqs.release(v);
      this.unbuild(rvm);
      return 'no free vIRQ numbers';
    }
    const link = createLink(this.gi, this.caps, rvm.caps, virqs as Record<keyof typeof virqs, number>);
    if (link instanceof RmHypercallError) {
      this.virqs.release(virqs.rmTx!);
      this.virqs.release(virqs.rmRx!);
      this.unbuild(rvm);
      return link.message;
    }
    rvm.link = link;
    const port = new MsgqPort(this.vm.vcpus[0]!, link.rm, this.allocPage());
    rvm.endpoint = new RpcEndpoint(rvm.vmid, port, this.stats, this.onRequest);
    return null;
  }

  /**
   * Tear a VM's hypervisor side down: the parcels it accepted go back to their owners (R-MGNT reset stage
   * RELEASE_MEMPARCELS), then its vdevices (DESTROY_VDEVICES), its link, its vCPUs (killed first), its objects.
   */
  unbuild(rvm: RmVm): void {
    for (const parcel of [...this.parcels.all()]) if (parcel.accepted.has(rvm.vmid)) this.parcels.release(parcel, rvm.vmid);
    if (rvm.vdevices !== null) {
      destroyVdevices(this.gi, rvm.vdevices);
      rvm.vdevices = null;
    }
    const link = rvm.link;
    if (rvm.endpoint !== null) {
      this.freePages.push(rvm.endpoint.port.bufferIpa);
      rvm.endpoint.close();
      rvm.endpoint = null;
    }
    if (link !== null) {
      destroyLink(this.gi, this.caps, rvm.caps, link);
      this.virqs.release(link.rm.txVirq);
      this.virqs.release(link.rm.rxVirq);
      rvm.link = null;
    }
    if (rvm.vm !== null) {
      this.killVcpus(rvm);
      this.hyp.destroyVm(rvm.vmid);
    }
    rvm.vm = null;
    rvm.caps = null;
    rvm.virqs = null;
  }

  /**
   * Everything VM_RESET releases (R-MGNT reset stages): the VM's objects, link and accepted memory, its configured
   * image, and its console's open ends. The record stays, for VM_CONFIG_IMAGE again or VM_DEALLOCATE.
   */
  teardown(rvm: RmVm): void {
    this.unbuild(rvm);
    rvm.grantedVcpus.clear();
    rvm.image = null;
    rvm.imageName = '';
    rvm.entry = 0n;
    for (const end of ['self', 'owner'] as const) {
      if (!rvm.console.isOpen(end)) continue;
      rvm.console.set(end, false);
      this.events.emit('console-close', { vmid: rvm.vmid, end });
    }
  }

  /** vcpu_kill on every vCPU of the VM (R-MGNT kill_all_vcpus). */
  killVcpus(rvm: RmVm): void {
    for (const vcpu of rvm.caps?.vcpus ?? []) this.gi.call('vcpu_kill', [vcpu, 0]);
  }

  /**
   * Move a VM to a new vm_status if the §9.5 table allows it; emits `vm-status` and, unless `notify` is false,
   * sends VM_STATUS to the VM's RPC-capable peers that are RUNNING (R-MGNT vm_mgnt_update_vm_state). False when
   * the change is illegal.
   */
  setStatus(rvm: RmVm, status: VmStatus, notify = true): boolean {
    if (!stateChangeValid(rvm.status, status)) return false;
    rvm.status = status;
    this.statusChanged(rvm, notify);
    return true;
  }

  /** os_status / app_status changed (VM_SET_STATUS, a crash): the same event and notifications. */
  setOsStatus(rvm: RmVm, osStatus: OsStatus, appStatus: number = rvm.appStatus): void {
    rvm.osStatus = osStatus;
    rvm.appStatus = appStatus;
    this.statusChanged(rvm);
  }

  /** VM_EXITED to the VM's owner: exit_reason = exit_flags | exit_code << 16 (spec §9.5, R-MGNT). */
  exited(rvm: RmVm, exitType: number, exitFlags: number, exitCode: number): void {
    const reason = new Uint8Array(4);
    setU32(reason, 0, (exitFlags | (exitCode << 16)) >>> 0);
    const payload = VmExitedNotification.encode({ vmid: rvm.vmid, exitType, reason }) as Uint8Array;
    this.notify(rvm.owner, RM_NOTIF.VM_EXITED, payload);
    this.events.emit('vm-exited', { vmid: rvm.vmid, exitType, reason });
  }

  /** Send a notification to a client; VMs without an RPC link are not notified. */
  notify(to: number, msgId: number, payload: Uint8Array): void {
    const endpoint = this.vms.get(to)?.endpoint;
    if (endpoint === null || endpoint === undefined) return;
    const seq = this.stats.notificationSeq;
    this.stats.notificationSeq = (seq + 1) & 0xffff;
    const packets = encodeMessage('notification', msgId, seq, payload);
    if (!Array.isArray(packets)) return; // payloads are built by the RM and never exceed the RPC maximum
    this.events.emit('notification', { to, msgId, seq, payload });
    endpoint.notify(msgId, packets);
  }

  /** VMs notified of a VM's status (R-MGNT peers): its owner, when that is another VM the RM talks to. */
  peersOf(rvm: RmVm): RmVm[] {
    const owner = this.vms.get(rvm.owner);
    return owner !== undefined && owner !== rvm && owner.vmid !== VMID.RM ? [owner] : [];
  }

  /** The VM may learn about `target`: it is the target or its owner, the one peer (R-MGNT is_vm_query_allowed). */
  mayQuery(client: RmVm, target: RmVm): boolean {
    return client === target || client.vmid === target.owner;
  }

  private statusChanged(rvm: RmVm, notify = true): void {
    this.events.emit('vm-status', { vmid: rvm.vmid, status: rvm.status, osStatus: rvm.osStatus, appStatus: rvm.appStatus });
    if (!notify) return;
    const payload = VmStatusNotification.encode({
      vmid: rvm.vmid, vmStatus: rvm.status, osStatus: rvm.osStatus, appStatus: rvm.appStatus,
    }) as Uint8Array;
    for (const peer of this.peersOf(rvm)) {
      if (peer.status === VM_STATUS.RUNNING) this.notify(peer.vmid, RM_NOTIF.VM_STATUS, payload);
    }
  }

  /**
   * A vCPU of a secondary VM faulted (its guest program threw): the VM has crashed. os_status CRASHED, then, if it
   * was running, its other vCPUs are killed, it moves to EXITED and its owner gets VM_EXITED with exit type
   * SOFTWARE_ERROR and exit code SW_ERROR (spec §9.5).
   */
  private readonly onVcpuFault = ({ vcpu }: { vcpu: Vcpu }): void => {
    const rvm = vcpu.vm === null ? undefined : this.vms.get(vcpu.vm.vmid);
    if (rvm === undefined || rvm.vm !== vcpu.vm || rvm.owner === VMID.RM) return;
    this.setOsStatus(rvm, OS_STATUS.CRASHED);
    if (!this.setStatus(rvm, VM_STATUS.EXITED)) return;
    this.killVcpus(rvm);
    this.exited(rvm, EXIT_TYPE.SOFTWARE_ERROR, 0, VM_EXIT_CODE.SW_ERROR);
  };

  private allocPage(): number {
    const page = this.freePages.pop();
    if (page !== undefined) return page;
    const ipa = this.nextPage;
    this.nextPage += PAGE_SIZE;
    return ipa;
  }

  /** spec §9.2-§9.3: dispatch one REQUEST and queue its reply, echoing the seq. */
  private readonly onRequest = (endpoint: RpcEndpoint, msgId: number, seq: number, payload: Uint8Array): void => {
    const client = this.vms.get(endpoint.vmid);
    if (client === undefined) return;
    const service = SERVICES.get(msgId);
    let result: ServiceResult = RM_ERROR.UNIMPLEMENTED;
    if (service !== undefined) {
      try {
        result = service({ rm: this, client, payload });
      } catch (err) {
        this.stats.handlerFaults++;
        this.lastFault = err;
        result = RM_ERROR.DENIED;
      }
    }
    let packets = typeof result === 'number' ? encodeReply(msgId, seq, result) : encodeReply(msgId, seq, RM_ERROR.OK, result);
    if (!Array.isArray(packets)) {
      result = RM_ERROR.NOMEM; // reply data over the RPC maximum: the RM cannot build the reply
      packets = encodeReply(msgId, seq, result) as Uint8Array[];
    }
    this.stats.replied(msgId, typeof result === 'number' ? result : RM_ERROR.OK);
    endpoint.reply(msgId, packets);
  };
}
