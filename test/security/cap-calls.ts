// Every implemented hypercall that takes a capability, with what each capability argument must name (object type)
// and hold (rights), and a world in which the call succeeds: the isolation test swaps one capability at a time for
// a forbidden one. The list of capability-taking calls is derived from the ABI table (core/abi/hypercalls.ts) and
// the handler table (core/hyp/handlers.ts); isolation.test.ts fails when a call there has no entry here.
import assert from 'node:assert/strict';
import { ghErrorName } from '../../core/abi/errors.js';
import { HYPERCALLS, type HypercallName } from '../../core/abi/hypercalls.js';
import { MSGQ_CREATE_INFO } from '../../core/abi/ipc.js';
import {
  DONATE_TYPE, MAP_ATTRS, MEMEXTENT_ATTRS, MEMEXTENT_MODIFY_OP, MEMEXTENT_TYPE, PAGE_SIZE, PGTABLE_ACCESS,
  PGTABLE_VM_MEMTYPE, VMMIO_OP,
} from '../../core/abi/memory.js';
import { right, RIGHT_ACTIVATE, type ObjectType } from '../../core/abi/objects.js';
import { VCPU_REG_SET, VCPU_VIRQ_TYPE, YIELD_HINT } from '../../core/abi/vcpu.js';
import { encodeVirqInfo } from '../../core/abi/virq.js';
import { HANDLERS } from '../../core/hyp/handlers.js';
import { capTo } from '../helpers/guest-fixture.js';
import { RAM_BASE, type Fixture, type FixtureVm } from '../helpers/hyp-fixture.js';

const MINUS_ONE = 0xffff_ffff_ffff_ffffn;
/** An SPI: shared sources (doorbells, queue ends, vCPU vIRQs) bind SPIs (spec §8.1). */
const SPI = encodeVirqInfo(40);
/** Physical memory for extents and the IPA they are mapped at in the attacker's own address space. */
const PHYS = 0x9000_0000;
const VBASE = 0x4000_0000;
const RW = PGTABLE_ACCESS.RW;
const extentAttrs = (type: number = MEMEXTENT_TYPE.BASIC) => RW | (type << MEMEXTENT_ATTRS.TYPE_SHIFT);
const mapAttrs = RW | (RW << MAP_ATTRS.KERNEL_ACCESS_SHIFT) | (PGTABLE_VM_MEMTYPE.NORMAL_WB << MAP_ATTRS.MEMTYPE_SHIFT);

/**
 * Argument names that carry a capability ID (spec §1.3 names). scheduler_yield's `arg1` carries one only with the
 * YIELD_TO hint, so it is listed by name in CAP_CARRYING_ARGS.
 */
export const CAPABILITY_INPUT =
  /^(partition|cspace|src_cspace|dst_cspace|cap|src_cap|master_cap|doorbell|msgqueue|vic|vcpu|thread|addrspace|memextent|parent|from_cap|to_cap|info_memextent|dma_obj|vdevice|vpm_group|virtio|hwirq|msi_source)$/;
const CAP_CARRYING_ARGS: Partial<Record<HypercallName, readonly string[]>> = { scheduler_yield: ['arg1'] };

/** The implemented calls and their capability inputs, as the ABI and handler tables say. */
export function capabilityInputs(): Map<HypercallName, string[]> {
  const out = new Map<HypercallName, string[]>();
  for (const c of HYPERCALLS) {
    if (HANDLERS[c.name] === undefined) continue;
    const inputs = (c.inputs as readonly string[]).filter((n) => CAPABILITY_INPUT.test(n) || CAP_CARRYING_ARGS[c.name]?.includes(n));
    if (inputs.length > 0) out.set(c.name, inputs);
  }
  return out;
}

/**
 * How a handler takes a capability argument: `lookup` checks it for an object type (null: any) and rights;
 * `capAt` only finds the capability record (copy, delete and revoke act on the record, whatever it names).
 */
export interface Need {
  readonly type: ObjectType | null;
  readonly rights: number;
  readonly by?: 'capAt';
  /** cspace_delete_cap_from deletes revoked capabilities too: that is how they are cleaned up (spec §1.4). */
  readonly revokedIsValid?: boolean;
}

export interface Setup {
  /** A valid capid, in the attacker's cspace, for each capability input. */
  readonly caps: Record<string, bigint>;
  /** The call's arguments (inputs after the function ID) around the capids. */
  args(caps: Record<string, bigint>): readonly (bigint | number)[];
}

export interface CapCall {
  readonly name: HypercallName;
  /** Which of a call's setups this is (memextent_donate has one per donation type). */
  readonly variant?: string;
  readonly needs: Record<string, Need>;
  /** What the call answers with every capid valid (default OK): proof that the arguments around them are right. */
  readonly answers?: string;
  setup(w: World): Setup;
}

/** The attacker (VM A, making the calls) and the victim (VM B), with makers for A's own objects. */
export interface World {
  readonly f: Fixture;
  readonly a: FixtureVm;
  call(name: HypercallName, args: readonly (bigint | number)[]): void;
  /** partition_create_<type> in A's cspace (any creatable type, memory extents included). */
  create(type: ObjectType): bigint;
  addrspace(active?: boolean): bigint;
  /** A configured, active 4-page extent of its own physical memory. */
  extent(type?: number): bigint;
  /** A configured, active 1-page extent derived from `parent`'s first page. */
  derived(parent: bigint, type?: number): bigint;
  vic(active?: boolean): bigint;
  /** A cap to A's own vCPU `index` (vCPU 0 is the caller). */
  vcpu(index: number): bigint;
}

export function world(f: Fixture): World {
  const a = f.a;
  const call = (name: HypercallName, args: readonly (bigint | number)[]) =>
    assert.equal(ghErrorName(a.call(name, args).err), 'OK', `setup: ${name}`);
  let nextPhys = PHYS;
  const w: World = {
    f, a, call,
    create(type) {
      const r = a.call(`partition_create_${type}` as HypercallName, [a.partition, a.cspace, 0]);
      assert.equal(ghErrorName(r.err), 'OK', `setup: partition_create_${type}`);
      return r.x[1]!;
    },
    addrspace(active = true) {
      const as = a.create('addrspace');
      if (!active) return as;
      call('addrspace_configure', [as, 0x90, 0]);
      call('object_activate', [as, 0]);
      return as;
    },
    extent(type = MEMEXTENT_TYPE.BASIC) {
      const me = w.create('memextent');
      call('memextent_configure', [me, nextPhys, 4 * PAGE_SIZE, extentAttrs(type), 0]);
      nextPhys += 4 * PAGE_SIZE;
      call('object_activate', [me, 0]);
      return me;
    },
    derived(parent, type = MEMEXTENT_TYPE.BASIC) {
      const me = w.create('memextent');
      call('memextent_configure_derive', [me, parent, 0, PAGE_SIZE, extentAttrs(type), 0]);
      call('object_activate', [me, 0]);
      return me;
    },
    vic(active = true) {
      const vic = a.create('vic');
      if (!active) return vic;
      call('vic_configure', [vic, 2, 64, 0, 0]);
      call('object_activate', [vic, 0]);
      return vic;
    },
    vcpu: (index) => capTo(a, a.vm.vcpus[index]!),
  };
  return w;
}

/** A setup from its argument builder and its valid capids. */
const setupOf = (args: Setup['args'], caps: Setup['caps']): Setup => ({ caps, args });

const createCall = (type: ObjectType): CapCall => ({
  name: `partition_create_${type}` as HypercallName,
  needs: { partition: { type: 'partition', rights: right('partition', 'object_create') }, cspace: { type: 'cspace', rights: right('cspace', 'cap_create') } },
  setup: (w) => setupOf((c) => [c.partition!, c.cspace!, 0], { partition: w.a.partition, cspace: w.a.cspace }),
});

const lifecycleCall = (name: HypercallName, active: boolean, from: boolean): CapCall => ({
  name,
  needs: from
    ? { cspace: { type: 'cspace', rights: right('cspace', 'cap_create') }, cap: { type: null, rights: RIGHT_ACTIVATE } }
    : { cap: { type: null, rights: RIGHT_ACTIVATE } },
  setup: (w) => {
    const cap = active ? w.a.doorbell() : w.a.create('doorbell');
    return from ? setupOf((c) => [c.cspace!, c.cap!, 0], { cspace: w.a.cspace, cap }) : setupOf((c) => [c.cap!, 0], { cap });
  },
});

const msgqCall = (name: HypercallName, rights: number, args: (q: bigint, w: World) => readonly (bigint | number)[], prepare?: (q: bigint, w: World) => void): CapCall => ({
  name,
  needs: { msgqueue: { type: 'msgqueue', rights } },
  setup: (w) => {
    const q = w.a.msgqueue();
    prepare?.(q, w);
    return setupOf((c) => args(c.msgqueue!, w), { msgqueue: q });
  },
});

const bindCall = (name: HypercallName, src: 'msgqueue' | 'doorbell', rights: number): CapCall => ({
  name,
  needs: { [src]: { type: src, rights }, vic: { type: 'vic', rights: right('vic', 'bind_source') } },
  setup: (w) => setupOf((c) => [c[src]!, c.vic!, SPI, 0], { [src]: src === 'msgqueue' ? w.a.msgqueue() : w.a.doorbell(), vic: w.a.vic }),
});

const doorbellCall = (name: HypercallName, rights: number, args: readonly (bigint | number)[]): CapCall => ({
  name,
  needs: { doorbell: { type: 'doorbell', rights } },
  setup: (w) => setupOf((c) => [c.doorbell!, ...args], { doorbell: w.a.doorbell() }),
});

/** A vCPU call on A's vCPU 1 (active, powered off) unless `target` says otherwise. */
const vcpuCall = (name: HypercallName, rights: number, args: readonly (bigint | number)[], opts: {
  target?: (w: World) => bigint; answers?: string; prepare?: (w: World, vcpu: bigint) => void;
} = {}): CapCall => ({
  name,
  answers: opts.answers,
  needs: { vcpu: { type: 'thread', rights } },
  setup: (w) => {
    const vcpu = opts.target?.(w) ?? w.vcpu(1);
    opts.prepare?.(w, vcpu);
    return setupOf((c) => [c.vcpu!, ...args], { vcpu });
  },
});

const MAP = right('addrspace', 'map');
const EXTENT_MAP = right('memextent', 'map');
/** An active address space with a 4-page extent mapped at VBASE. */
function mapped(w: World): { as: bigint; me: bigint } {
  const as = w.addrspace();
  const me = w.extent();
  w.call('addrspace_map', [as, me, VBASE, mapAttrs, 0, 0, 0]);
  return { as, me };
}

const mapCall = (name: HypercallName, asRights: number, meRights: number, tail: readonly (bigint | number)[], premapped: boolean): CapCall => ({
  name,
  needs: { addrspace: { type: 'addrspace', rights: asRights }, memextent: { type: 'memextent', rights: meRights } },
  setup: (w) => {
    const { as, me } = premapped ? mapped(w) : { as: w.addrspace(), me: w.extent() };
    return setupOf((c) => [c.addrspace!, c.memextent!, ...tail], { addrspace: as, memextent: me });
  },
});

const DONATE = right('memextent', 'donate');

export const CAP_CALLS: readonly CapCall[] = [
  ...(['partition', 'cspace', 'addrspace', 'memextent', 'thread', 'doorbell', 'msgqueue', 'vic'] as const).map(createCall),
  lifecycleCall('object_activate', false, false),
  lifecycleCall('object_activate_from', false, true),
  lifecycleCall('object_reset', true, false),
  lifecycleCall('object_reset_from', true, true),
  {
    name: 'cspace_delete_cap_from',
    needs: { cspace: { type: 'cspace', rights: right('cspace', 'cap_delete') }, cap: { type: null, rights: 0, by: 'capAt', revokedIsValid: true } },
    setup: (w) => setupOf((c) => [c.cspace!, c.cap!, 0], { cspace: w.a.cspace, cap: w.a.doorbell() }),
  },
  {
    name: 'cspace_copy_cap_from',
    needs: {
      src_cspace: { type: 'cspace', rights: right('cspace', 'cap_copy') },
      src_cap: { type: null, rights: 0, by: 'capAt' },
      dst_cspace: { type: 'cspace', rights: right('cspace', 'cap_create') },
    },
    setup: (w) => setupOf((c) => [c.src_cspace!, c.src_cap!, c.dst_cspace!, 0xffff_ffff, 0], {
      src_cspace: w.a.cspace, src_cap: w.a.doorbell(), dst_cspace: w.a.cspace,
    }),
  },
  {
    name: 'cspace_revoke_caps_from',
    needs: { cspace: { type: 'cspace', rights: right('cspace', 'cap_revoke') }, master_cap: { type: null, rights: 0, by: 'capAt' } },
    setup: (w) => {
      const master = w.a.doorbell();
      w.a.grant(master, w.a, ~0);
      return setupOf((c) => [c.cspace!, c.master_cap!, 0], { cspace: w.a.cspace, master_cap: master });
    },
  },
  {
    name: 'cspace_configure',
    needs: { cspace: { type: 'cspace', rights: RIGHT_ACTIVATE } },
    setup: (w) => setupOf((c) => [c.cspace!, 16, 0], { cspace: w.a.create('cspace') }),
  },

  bindCall('msgqueue_bind_send_virq', 'msgqueue', right('msgqueue', 'bind_send')),
  bindCall('msgqueue_bind_receive_virq', 'msgqueue', right('msgqueue', 'bind_receive')),
  msgqCall('msgqueue_unbind_send_virq', right('msgqueue', 'bind_send'), (q) => [q, 0]),
  msgqCall('msgqueue_unbind_receive_virq', right('msgqueue', 'bind_receive'), (q) => [q, 0]),
  msgqCall('msgqueue_send', right('msgqueue', 'send'), (q) => [q, 8, RAM_BASE, 0, 0]),
  msgqCall('msgqueue_receive', right('msgqueue', 'receive'), (q) => [q, RAM_BASE, 240, 0],
    (q, w) => w.call('msgqueue_send', [q, 8, RAM_BASE, 0, 0])),
  msgqCall('msgqueue_flush', right('msgqueue', 'receive'), (q) => [q, 0], (q, w) => w.call('msgqueue_send', [q, 8, RAM_BASE, 0, 0])),
  msgqCall('msgqueue_configure_send', right('msgqueue', 'send'), (q) => [q, 0, MINUS_ONE, MINUS_ONE]),
  msgqCall('msgqueue_configure_receive', right('msgqueue', 'receive'), (q) => [q, 1, MINUS_ONE, MINUS_ONE]),
  {
    name: 'msgqueue_configure',
    needs: { msgqueue: { type: 'msgqueue', rights: RIGHT_ACTIVATE } },
    setup: (w) => setupOf((c) => [c.msgqueue!, 8 | (240 << MSGQ_CREATE_INFO.MAX_SIZE_SHIFT), 0], { msgqueue: w.a.create('msgqueue') }),
  },

  bindCall('doorbell_bind_virq', 'doorbell', right('doorbell', 'bind')),
  doorbellCall('doorbell_unbind_virq', right('doorbell', 'bind'), [0]),
  doorbellCall('doorbell_send', right('doorbell', 'send'), [1n, 0]),
  doorbellCall('doorbell_receive', right('doorbell', 'receive'), [1n, 0]),
  doorbellCall('doorbell_reset', right('doorbell', 'receive'), [0]),
  doorbellCall('doorbell_mask', right('doorbell', 'receive'), [1n, 0n, 0]),

  {
    name: 'vic_configure',
    needs: { vic: { type: 'vic', rights: RIGHT_ACTIVATE } },
    setup: (w) => setupOf((c) => [c.vic!, 2, 64, 0, 0], { vic: w.vic(false) }),
  },
  {
    name: 'vic_attach_vcpu',
    needs: { vic: { type: 'vic', rights: right('vic', 'attach_vcpu') }, vcpu: { type: 'thread', rights: RIGHT_ACTIVATE } },
    setup: (w) => setupOf((c) => [c.vic!, c.vcpu!, 0, 0], { vic: w.vic(), vcpu: w.a.create('thread') }),
  },

  {
    name: 'addrspace_attach_thread',
    needs: { addrspace: { type: 'addrspace', rights: right('addrspace', 'attach') }, thread: { type: 'thread', rights: RIGHT_ACTIVATE } },
    setup: (w) => setupOf((c) => [c.addrspace!, c.thread!, 0], { addrspace: w.addrspace(), thread: w.a.create('thread') }),
  },
  mapCall('addrspace_map', MAP, EXTENT_MAP, [VBASE, mapAttrs, 0, 0, 0], false),
  mapCall('addrspace_unmap', MAP, EXTENT_MAP, [VBASE, 0, 0, 0], true),
  mapCall('addrspace_update_access', MAP, EXTENT_MAP, [VBASE, PGTABLE_ACCESS.R | (PGTABLE_ACCESS.R << MAP_ATTRS.KERNEL_ACCESS_SHIFT), 0, 0, 0], true),
  mapCall('addrspace_lookup', right('addrspace', 'lookup'), right('memextent', 'lookup'), [VBASE, PAGE_SIZE, 0], true),
  {
    name: 'addrspace_configure',
    needs: { addrspace: { type: 'addrspace', rights: RIGHT_ACTIVATE } },
    setup: (w) => setupOf((c) => [c.addrspace!, 0x42, 0], { addrspace: w.addrspace(false) }),
  },
  {
    name: 'addrspace_configure_vmmio',
    needs: { addrspace: { type: 'addrspace', rights: right('addrspace', 'add_vmmio_range') } },
    setup: (w) => setupOf((c) => [c.addrspace!, 0x5000_0000, PAGE_SIZE, VMMIO_OP.ADD_RANGE, 0], { addrspace: w.addrspace() }),
  },
  {
    name: 'memextent_modify',
    needs: { memextent: { type: 'memextent', rights: EXTENT_MAP } },
    setup: (w) => setupOf((c) => [c.memextent!, MEMEXTENT_MODIFY_OP.UNMAP_ALL, 0, 0], { memextent: mapped(w).me }),
  },
  {
    name: 'memextent_configure',
    needs: { memextent: { type: 'memextent', rights: RIGHT_ACTIVATE } },
    setup: (w) => setupOf((c) => [c.memextent!, PHYS, 4 * PAGE_SIZE, extentAttrs(), 0], { memextent: w.create('memextent') }),
  },
  {
    name: 'memextent_configure_derive',
    needs: { memextent: { type: 'memextent', rights: RIGHT_ACTIVATE }, parent: { type: 'memextent', rights: right('memextent', 'derive') } },
    setup: (w) => setupOf((c) => [c.memextent!, c.parent!, 0, PAGE_SIZE, extentAttrs(), 0], { memextent: w.create('memextent'), parent: w.extent() }),
  },
  {
    // A root sparse extent receives pages from its partition (spec §7.1 TO_CHILD with a partition as the parent).
    name: 'memextent_donate',
    variant: 'TO_CHILD from the partition',
    needs: { from_cap: { type: 'partition', rights: right('partition', 'donate') }, to_cap: { type: 'memextent', rights: DONATE } },
    setup: (w) => setupOf((c) => [DONATE_TYPE.TO_CHILD, c.from_cap!, c.to_cap!, 0, PAGE_SIZE, 0], {
      from_cap: w.a.partition, to_cap: w.extent(MEMEXTENT_TYPE.SPARSE),
    }),
  },
  {
    name: 'memextent_donate',
    variant: 'TO_PARENT',
    needs: { from_cap: { type: 'memextent', rights: DONATE }, to_cap: { type: 'memextent', rights: DONATE } },
    setup: (w) => {
      const parent = w.extent(MEMEXTENT_TYPE.SPARSE);
      w.call('memextent_donate', [DONATE_TYPE.TO_CHILD, w.a.partition, parent, 0, PAGE_SIZE, 0]);
      const child = w.derived(parent, MEMEXTENT_TYPE.SPARSE);
      w.call('memextent_donate', [DONATE_TYPE.TO_CHILD, parent, child, 0, PAGE_SIZE, 0]);
      return setupOf((c) => [DONATE_TYPE.TO_PARENT, c.from_cap!, c.to_cap!, 0, PAGE_SIZE, 0], { from_cap: child, to_cap: parent });
    },
  },
  {
    name: 'memextent_donate',
    variant: 'TO_SIBLING',
    needs: { from_cap: { type: 'memextent', rights: DONATE }, to_cap: { type: 'memextent', rights: DONATE } },
    setup: (w) => {
      const parent = w.extent(MEMEXTENT_TYPE.SPARSE);
      w.call('memextent_donate', [DONATE_TYPE.TO_CHILD, w.a.partition, parent, 0, PAGE_SIZE, 0]);
      const from = w.derived(parent, MEMEXTENT_TYPE.SPARSE);
      const to = w.derived(parent, MEMEXTENT_TYPE.SPARSE);
      w.call('memextent_donate', [DONATE_TYPE.TO_CHILD, parent, from, 0, PAGE_SIZE, 0]);
      return setupOf((c) => [DONATE_TYPE.TO_SIBLING, c.from_cap!, c.to_cap!, 0, PAGE_SIZE, 0], { from_cap: from, to_cap: to });
    },
  },

  {
    name: 'vcpu_configure',
    needs: { vcpu: { type: 'thread', rights: RIGHT_ACTIVATE } },
    setup: (w) => setupOf((c) => [c.vcpu!, 0, 0], { vcpu: w.a.create('thread') }),
  },
  vcpuCall('vcpu_poweron', right('thread', 'power'), [RAM_BASE + PAGE_SIZE, 0, 0]),
  // Only the calling vCPU may power itself off; vCPU 0 is powered off already (the call reaches the vCPU's state).
  vcpuCall('vcpu_poweroff', right('thread', 'power'), [0], { target: (w) => w.vcpu(0), answers: 'ERROR_OBJECT_STATE' }),
  vcpuCall('vcpu_kill', right('thread', 'lifecycle'), [0]),
  {
    name: 'scheduler_yield',
    needs: { arg1: { type: 'thread', rights: right('thread', 'yield_to') } },
    setup: (w) => setupOf((c) => [YIELD_HINT.YIELD_TO, c.arg1!, 0], { arg1: w.vcpu(1) }),
  },
  vcpuCall('vcpu_set_affinity', right('thread', 'affinity'), [1, MINUS_ONE]),
  {
    ...vcpuCall('vcpu_set_affinity', right('thread', 'affinity') | right('thread', 'disable'), [MINUS_ONE, MINUS_ONE]),
    variant: 'no pCPU (-1)',
  },
  vcpuCall('vcpu_set_priority', right('thread', 'priority'), [10], { target: (w) => w.a.create('thread') }),
  vcpuCall('vcpu_set_timeslice', right('thread', 'timeslice'), [5_000_000], { target: (w) => w.a.create('thread') }),
  {
    name: 'vcpu_bind_virq',
    needs: { vcpu: { type: 'thread', rights: right('thread', 'bind_virq') }, vic: { type: 'vic', rights: right('vic', 'bind_source') } },
    setup: (w) => setupOf((c) => [c.vcpu!, c.vic!, SPI, VCPU_VIRQ_TYPE.HALT, 0], { vcpu: w.vcpu(1), vic: w.a.vic }),
  },
  vcpuCall('vcpu_unbind_virq', right('thread', 'bind_virq'), [VCPU_VIRQ_TYPE.HALT, 0]),
  vcpuCall('vcpu_register_write', right('thread', 'write_context'), [VCPU_REG_SET.X, 0, 5n, 0]),
  vcpuCall('vcpu_run', right('thread', 'affinity') | right('thread', 'yield_to'), [0, 0, 0, 0], {
    // vcpu_run needs a proxy-scheduled vCPU: one with its VCPU_RUN_WAKEUP vIRQ bound (spec §6.2).
    prepare: (w, vcpu) => w.call('vcpu_bind_virq', [vcpu, w.a.vic, SPI, VCPU_VIRQ_TYPE.VCPU_RUN_WAKEUP, 0]),
  }),
  vcpuCall('vcpu_run_check', right('thread', 'bind_virq') | right('thread', 'state'), [0]),
];
