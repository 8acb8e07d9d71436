// The emulated Gunyah hypervisor: the object registry, the VMs, statistics and the hypercall entry point.
// It knows nothing of HTTP, FUSE or prom-client; the layers above subscribe to its events and read its counters.
import { HYP_FEATURE, HYP_VARIANT, type HypFeature } from '../abi/identify.js';
import { allRights, type ObjectType } from '../abi/objects.js';
import type { CallUidLayout } from '../abi/smccc.js';
import { TRACE_CLASS } from '../abi/hypercalls.js';
import { Doorbell } from '../ipc/doorbell.js';
import { Msgqueue, type MsgqueueTransition } from '../ipc/msgqueue.js';
import { Addrspace } from '../mem/addrspace.js';
import { Memextent } from '../mem/memextent.js';
import { PhysMemory } from '../mem/phys.js';
import { Scheduler } from '../vm/scheduler.js';
import { Vcpu, type VcpuState } from '../vm/vcpu.js';
import { Vic } from '../vm/vic.js';
import { Vm } from '../vm/vm.js';
import { CSpace, type Cap } from './cspace.js';
import { dispatch } from './dispatch.js';
import { TypedEmitter } from './events.js';
import { identifyWords } from './identify.js';
import { HypObject } from './object.js';
import { Partition } from './partition.js';
import { Prng } from './prng.js';
import type { RegisterFile } from './regs.js';
import { HypercallStats } from './stats.js';

export interface HypervisorOptions {
  /** Seed for capid randomisation and entropy: the same seed gives the same capids (reproducible tests). */
  seed?: number;
  /** false: capids are slot numbers (the hypervisor's randomisation disabled). Default true. */
  randomizeCapids?: boolean;
  /** CALL_UID register order (spec §15.1): `uuid` (Linux v11+, default) or `seed-v2` (v2-v4 drivers). */
  callUidLayout?: CallUidLayout;
  /** api_info variant byte; default 0x51, the open-source build (spec §2.1, §15.2). */
  variant?: number;
  /** Emulated physical CPUs the scheduler runs vCPUs on (default 2). */
  pcpus?: number;
}

export interface HypEvents {
  'object-created': HypObject;
  'object-destroyed': HypObject;
  'vm-created': Vm;
  'vm-destroyed': Vm;
  'msgq-transition': { msgq: Msgqueue; what: MsgqueueTransition };
  /** A vCPU powered on (ready), powered off, was killed or faulted; not the ready/running/WFI churn of execution. */
  'vcpu-state': { vcpu: Vcpu; state: VcpuState };
  /** A guest program threw (or there was none at the entry point): the vCPU is in FAULT. */
  'vcpu-fault': { vcpu: Vcpu; error: string };
}

type Factory = (id: number) => HypObject;

/**
 * The features this emulator really implements, reported in hyp_identify flags0 (spec §2.2). Left out:
 * watchdog (not in the public build either), vpm groups and virtio-mmio (listed in the README).
 */
export const IMPLEMENTED_FEATURES: readonly HypFeature[] = [
  'partition_cspace', 'doorbell', 'msgqueue', 'vic', 'vcpu', 'memextent', 'trace_ctrl', 'prng', 'vcpu_run',
];

export interface VmSpec {
  vmid: number;
  name: string;
  vcpus: number;
  /** Lazily backed RAM to declare in the VM's address space. */
  ram?: { base: number; size: number };
  /** The manager's cspace (the RM's): receives full-rights caps to the VM's cspace, address space, vIC and vCPUs. */
  manager?: CSpace;
  /** Called for each vCPU while still INIT (priority, timeslice, affinity, options), before activation. */
  configureVcpu?: (vcpu: Vcpu) => void;
}

export interface CreatedVm {
  vm: Vm;
  /** Caps in the manager's cspace, if one was given. */
  managerCaps: { cspace: Cap; addrspace: Cap; vic: Cap; vcpus: Cap[] } | null;
}

export class Hypervisor {
  readonly events = new TypedEmitter<HypEvents>();
  readonly stats = new HypercallStats();
  /** Runs the vCPUs' guest programs; `scheduler.stop()` lets the process exit. */
  readonly scheduler: Scheduler;
  readonly prng: Prng;
  /** A seed was given: prng_get_entropy draws from `prng` (reproducible) instead of node:crypto. */
  readonly seeded: boolean;
  /** trace_update_class_flags state: enabled trace classes, ERROR on at boot. */
  traceClassFlags = 1n << BigInt(TRACE_CLASS.ERROR);
  readonly objects = new Map<number, HypObject>();
  /** Physical memory and its ownership database (spec §7.1), shared by every memory extent. */
  readonly phys = new PhysMemory<Memextent>();
  readonly vms = new Map<number, Vm>();
  readonly root: Partition;
  readonly callUidLayout: CallUidLayout;
  readonly variant: number;
  readonly features: ReadonlySet<HypFeature> = new Set(IMPLEMENTED_FEATURES);
  /** hypervisor_identify X0-X3, fixed for the life of the hypervisor. */
  readonly identifyWords: Uint32Array;
  private readonly randomizeCapids: boolean;
  private nextObjectId = 1;
  private readonly factories = new Map<ObjectType, Factory>();

  constructor(opts: HypervisorOptions = {}) {
    this.prng = new Prng(opts.seed);
    this.scheduler = new Scheduler({ pcpus: opts.pcpus });
    this.seeded = opts.seed !== undefined;
    this.randomizeCapids = opts.randomizeCapids ?? true;
    this.callUidLayout = opts.callUidLayout ?? 'uuid';
    this.variant = opts.variant ?? HYP_VARIANT.QUALCOMM;
    this.registerFactory('partition', (id) => new Partition(id));
    this.registerFactory('cspace', (id) => new CSpace(id, this.randomizeCapids ? this.prng : null));
    this.registerFactory('addrspace', (id) => new Addrspace(id));
    this.registerFactory('memextent', (id) => new Memextent(id, this.phys));
    this.registerFactory('vic', (id) => {
      const vic = new Vic(id);
      vic.onPending = (vcpuIndex) => this.scheduler.interrupt(vic, vcpuIndex);
      return vic;
    });
    this.registerFactory('thread', (id) => new Vcpu(id));
    this.registerFactory('doorbell', (id) => new Doorbell(id));
    this.registerFactory('msgqueue', (id) => {
      const q = new Msgqueue(id);
      q.onTransition = (msgq, what) => this.events.emit('msgq-transition', { msgq, what });
      return q;
    });
    this.identifyWords = identifyWords(this);
    this.root = this.createObject<Partition>('partition');
    this.root.activate();
  }

  /** Modules register how to build their object type (partition_create_* and internal creation). */
  registerFactory(type: ObjectType, factory: Factory): void {
    this.factories.set(type, factory);
  }

  canCreate(type: ObjectType): boolean {
    return this.factories.has(type);
  }

  /** A new object in INIT state, registered by id. */
  createObject<T extends HypObject>(type: ObjectType): T {
    const factory = this.factories.get(type);
    if (factory === undefined) throw new Error(`no factory for ${type}`);
    const object = factory(this.nextObjectId++);
    object.onDestroyed = (o) => {
      this.objects.delete(o.id);
      this.events.emit('object-destroyed', o);
    };
    this.objects.set(object.id, object);
    this.events.emit('object-created', object);
    return object as T;
  }

  /** flags0 bits of the implemented features (spec §2.2). */
  get featureFlags0(): number {
    let flags = 0;
    for (const f of this.features) flags |= 1 << HYP_FEATURE[f];
    return flags >>> 0;
  }

  /**
   * Build a VM as the RM does with hypercalls (cspace, address space with the VMID, vIC, vCPUs attached and
   * activated), in one step. The RM uses this for VM_INIT; queues and caps it then sets up through hypercalls.
   */
  createVm(spec: VmSpec): CreatedVm {
    if (this.vms.has(spec.vmid)) throw new Error(`VMID ${spec.vmid} exists`);
    const cspace = this.createObject<CSpace>('cspace');
    cspace.vmid = spec.vmid;
    const addrspace = this.createObject<Addrspace>('addrspace');
    addrspace.configure(spec.vmid);
    if (spec.ram) addrspace.memory.addRam(spec.ram.base, spec.ram.size);
    const vic = this.createObject<Vic>('vic');
    vic.configure(Math.max(1, spec.vcpus), 988);
    const vm = new Vm(this, spec.vmid, spec.name, cspace, addrspace, vic);
    for (const o of [cspace, addrspace, vic]) o.activate();
    for (let i = 0; i < spec.vcpus; i++) {
      const vcpu = this.createObject<Vcpu>('thread');
      vcpu.vm = vm;
      vcpu.index = i;
      vcpu.affinity = i % this.scheduler.pcpus.length;
      spec.configureVcpu?.(vcpu);
      vic.attachVcpu(i, vcpu);
      vcpu.activate();
      vm.vcpus.push(vcpu);
    }
    this.vms.set(vm.vmid, vm);
    let managerCaps: CreatedVm['managerCaps'] = null;
    if (spec.manager) {
      const m = spec.manager;
      const grant = (o: HypObject) => m.insert(o, allRights(o.type)) as Cap;
      managerCaps = { cspace: grant(cspace), addrspace: grant(addrspace), vic: grant(vic), vcpus: vm.vcpus.map(grant) };
    }
    this.events.emit('vm-created', vm);
    return { vm, managerCaps };
  }

  /** Tear a VM down: its objects go once no capability refers to them. */
  destroyVm(vmid: number): boolean {
    const vm = this.vms.get(vmid);
    if (vm === undefined) return false;
    this.vms.delete(vmid);
    for (const cap of [...vm.cspace.caps()]) vm.cspace.remove(cap);
    for (const o of [vm.cspace, vm.addrspace, vm.vic, ...vm.vcpus]) {
      for (const other of this.vms.values()) {
        const cap = other.cspace.findCap(o);
        if (cap) other.cspace.remove(cap);
      }
      o.destroy();
    }
    this.events.emit('vm-destroyed', vm);
    return true;
  }

  /**
   * The one entry point for hypercalls: the raw registers of a vCPU, X0-X7 in and out. `imm` is the HVC
   * immediate: 0 for the SMCCC convention (function ID in X0), 0x6000 + n for the native one.
   */
  hypercall(vcpu: Vcpu, regs: RegisterFile, imm = 0): void {
    dispatch(this, vcpu, regs, imm);
  }
}
