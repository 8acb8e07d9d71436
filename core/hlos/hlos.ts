// The HLOS (primary VM, VMID 3) as the control plane sees it: its RM driver over its RM link, its VM manager and
// the consoles of the VMs it owns. This is the facade the REST layer, sysfs and the daemon call; everything that
// changes the system goes out as RM RPC from the HLOS's vCPU 0 (spec §9.7), never around the RM.
//
//   new Hlos(system, opts)                        the driver on the booted system's HLOS port
//   listVms() / getVm(vmid)                       VmView: the product's VM object (RM, HLOS and secondary VMs)
//   createVm(spec) / startVm / stopVm / resetVm / deleteVm   VmView | VmError
//   consoleWrite(vmid, bytes)                     RM console write to a VM (owner end, spec §10.1)
//   events: vm-created, vm-status, vm-exited, vm-deleted, console-output
import { PAGE_SIZE } from '../abi/memory.js';
import { VMID } from '../abi/vmid.js';
import { TypedEmitter } from '../hyp/events.js';
import type { BootedSystem } from '../rm/boot.js';
import type { Vm } from '../vm/vm.js';
import { HLOS_RAM } from '../rm/boot.js';
import { VM_STATUS } from '../abi/rm.js';
import { HlosMemory } from './hlos-memory.js';
import { attachTrafficSink, type TrafficSink } from './traffic-sink.js';
import { RmCalls } from './rm-calls.js';
import { RmClient } from './rm-client.js';
import type { RmFailure } from './rm-failure.js';
import { osStatusName, statusName, VmError, VmManager, type OpOptions, type VmRecord, type VmSpec } from './vm-manager.js';

export type VmType = 'rm' | 'primary' | 'secondary';

/** The image whose load the HLOS consumes itself (traffic-sink.ts). */
const TRAFFIC_IMAGE = 'traffic';
/** The RM and the HLOS run for as long as the device does. */
const OWN_VM_STATUS = 'running';

/** The product brief's VM object (REST `GET /v1/vms`); memory is null while a secondary VM holds no parcel. */
export interface VmView {
  readonly vmid: number;
  readonly name: string;
  readonly type: VmType;
  /** spec §9.5 names in lower case: `running`, `reset`, ... */
  readonly status: string;
  readonly os_status: string;
  /** The built-in image; null for the RM and the HLOS. */
  readonly image: string | null;
  readonly vcpus: number;
  readonly memory: { readonly base: number; readonly size: number } | null;
}

export interface HlosEvents {
  'vm-created': VmView;
  'vm-status': VmView;
  'vm-exited': VmView & { readonly exitType: number; readonly exitReason: Uint8Array };
  'vm-deleted': { readonly vmid: number; readonly name: string };
  /** Bytes a VM wrote to its console (VM_CONSOLE_CHARS to the HLOS, spec §10.1); listeners may keep them. */
  'console-output': { readonly vmid: number; readonly bytes: Uint8Array };
}

export interface HlosOptions {
  /** Default deadline of every RM call and wait, ms (default 2000). */
  timeoutMs?: number;
}

/** Console bytes of one VM: out = written by the VM (to the HLOS), in = written by the HLOS into it. */
export interface ConsoleCounters {
  out: number;
  in: number;
}

export class Hlos {
  readonly events = new TypedEmitter<HlosEvents>();
  readonly client: RmClient;
  readonly rm: RmCalls;
  readonly vms: VmManager;
  /** The HLOS RAM it lends VMs from. */
  readonly memory: HlosMemory;
  readonly consoles = new Map<number, ConsoleCounters>();
  /** The HLOS ends consuming the load of running `traffic` VMs, by VMID (traffic-sink.ts). */
  readonly trafficSinks = new Map<number, TrafficSink & { readonly page: number }>();

  constructor(private readonly system: BootedSystem, opts: HlosOptions = {}) {
    const { port, vm } = system.hlos;
    this.client = new RmClient(port, { timeoutMs: opts.timeoutMs });
    port.onPacket = (packet) => this.client.deliver(packet);
    port.drain(); // packets that arrived before the driver listened
    this.rm = new RmCalls(this.client);
    // All HLOS RAM but its top page, which carries the RM link buffers (core/rm/boot.ts).
    this.memory = new HlosMemory(HLOS_RAM.base, HLOS_RAM.size - PAGE_SIZE);
    this.vms = new VmManager(this.rm, this.memory, vm.memory);
    this.vms.events.on('vm-created', (r) => this.events.emit('vm-created', this.secondaryView(r)));
    this.vms.events.on('vm-status', (r) => {
      this.updateSink(r);
      this.events.emit('vm-status', this.secondaryView(r));
    });
    this.vms.events.on('vm-exited', (r) => {
      this.events.emit('vm-exited', { ...this.secondaryView(r), exitType: r.exit!.exitType, exitReason: r.exit!.reason });
    });
    this.vms.events.on('vm-deleted', (e) => {
      this.closeSink(e.vmid);
      this.consoles.delete(e.vmid);
      this.events.emit('vm-deleted', e);
    });
    this.rm.on('VM_CONSOLE_CHARS', (n) => {
      this.counters(n.vmid).out += n.bytes.length;
      this.events.emit('console-output', { vmid: n.vmid, bytes: n.bytes }); // a view of a fresh buffer (rpc-codec)
    });
  }

  /** The RM, the HLOS and every VM the HLOS created, by VMID. */
  listVms(): VmView[] {
    const own = [VMID.RM, VMID.HLOS].map((vmid) => this.getVm(vmid)).filter((v): v is VmView => v !== undefined);
    return [...own, ...this.vms.list().map((r) => this.secondaryView(r))].sort((a, b) => a.vmid - b.vmid);
  }

  getVm(vmid: number): VmView | undefined {
    const rec = this.vms.get(vmid);
    if (rec) return this.secondaryView(rec);
    const vm = this.ownVm(vmid);
    if (vm === undefined) return undefined;
    const ram = vm.memory.ramRegions[0];
    return {
      vmid, name: vmid === VMID.RM ? 'RM' : 'HLOS', type: vmid === VMID.RM ? 'rm' : 'primary',
      status: OWN_VM_STATUS, os_status: 'run', image: null, vcpus: vm.vcpus.length,
      memory: ram ? { base: ram.base, size: ram.size } : null,
    };
  }

  /** The spec §9.5 status name of a VM, for layers that need only that (undefined: no such VM). */
  statusOf(vmid: number): string | undefined {
    // Checked before every VM route's handler: the status alone, without building the whole view.
    const rec = this.vms.get(vmid);
    if (rec) return statusName(rec.status);
    return this.ownVm(vmid) === undefined ? undefined : OWN_VM_STATUS;
  }

  /** The RM's or the HLOS's own VM (no record of the HLOS's describes them); undefined for any other VMID. */
  private ownVm(vmid: number): Vm | undefined {
    return vmid === VMID.RM || vmid === VMID.HLOS ? this.system.rm.hyp.vms.get(vmid) : undefined;
  }

  async createVm(spec: VmSpec, opts?: OpOptions & { start?: boolean }): Promise<VmView | VmError> {
    return this.view(await this.vms.create(spec, opts));
  }

  async startVm(vmid: number, opts?: OpOptions): Promise<VmView | VmError> {
    return this.view(await this.vms.start(vmid, opts));
  }

  async stopVm(vmid: number, opts?: OpOptions): Promise<VmView | VmError> {
    return this.view(await this.vms.stop(vmid, opts));
  }

  async resetVm(vmid: number, opts?: OpOptions): Promise<VmView | VmError> {
    return this.view(await this.vms.reset(vmid, opts));
  }

  deleteVm(vmid: number, opts?: OpOptions): Promise<{ vmid: number } | VmError> {
    return this.vms.delete(vmid, opts);
  }

  /**
   * Type into a VM's console (VM_CONSOLE_WRITE to the VM, owner end; the HLOS opened it at bring-up). Resolves
   * with the bytes written. If the VM's own end is closed the RM drops them and still answers OK (spec §10.1).
   */
  async consoleWrite(vmid: number, bytes: Uint8Array, opts?: OpOptions): Promise<number | RmFailure | VmError> {
    if (this.vms.get(vmid) === undefined) return new VmError('NOT_FOUND', `no VM ${vmid} owned by the HLOS`);
    const r = await this.rm.consoleWrite(vmid, bytes, opts);
    if (typeof r === 'number') this.counters(vmid).in += r;
    return r;
  }

  /** Stop the driver: pending calls fail with `closed`, nothing is listened to any more. */
  close(): void {
    for (const vmid of [...this.trafficSinks.keys()]) this.closeSink(vmid);
    this.vms.close();
    this.client.close();
    this.system.hlos.port.onPacket = null;
  }

  /** A running `traffic` VM gets a sink for its messages and rings; one that stops loses it. */
  private updateSink(r: VmRecord): void {
    const running = r.status === VM_STATUS.RUNNING;
    if (!running) return this.closeSink(r.vmid);
    if (r.image !== TRAFFIC_IMAGE || this.trafficSinks.has(r.vmid)) return;
    const page = this.memory.alloc(PAGE_SIZE);
    if (page === null) return;
    const sink = attachTrafficSink(this.system.hlos.vm, r.resources, page.base);
    if (sink === null) this.memory.release(page.base);
    else this.trafficSinks.set(r.vmid, { ...sink, close: sink.close, page: page.base });
  }

  private closeSink(vmid: number): void {
    const sink = this.trafficSinks.get(vmid);
    if (sink === undefined) return;
    sink.close();
    this.memory.release(sink.page);
    this.trafficSinks.delete(vmid);
  }

  private counters(vmid: number): ConsoleCounters {
    let c = this.consoles.get(vmid);
    if (c === undefined) this.consoles.set(vmid, (c = { out: 0, in: 0 }));
    return c;
  }

  private view<T extends VmRecord>(r: T | VmError): VmView | VmError {
    return r instanceof VmError ? r : this.secondaryView(r);
  }

  private secondaryView(r: VmRecord): VmView {
    return {
      vmid: r.vmid, name: r.name, type: 'secondary', status: statusName(r.status), os_status: osStatusName(r.osStatus),
      image: r.image, vcpus: r.vcpus, memory: r.memory ? { base: r.memory.base, size: r.memory.size } : null,
    };
  }
}
