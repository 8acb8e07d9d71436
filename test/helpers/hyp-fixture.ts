// A hypervisor with a fixed seed and a VM or two, each holding full-rights caps to the root partition, its own
// cspace and its own vIC, so a test creates and uses objects through real hypercalls in a line or two.
import assert from 'node:assert/strict';
import { GH_ERROR, ghErrorName } from '../../core/abi/errors.js';
import type { HypercallName } from '../../core/abi/hypercalls.js';
import { MSGQ_CREATE_INFO } from '../../core/abi/ipc.js';
import { allRights, RIGHT_ACTIVATE } from '../../core/abi/objects.js';
import { hvc, type CallResult, type Convention } from '../../core/hyp/call.js';
import type { Cap } from '../../core/hyp/cspace.js';
import { Hypervisor, type HypervisorOptions } from '../../core/hyp/hypervisor.js';
import type { HypObject } from '../../core/hyp/object.js';
import type { Vcpu } from '../../core/vm/vcpu.js';
import type { Vm } from '../../core/vm/vm.js';

export const FIXTURE_SEED = 0x5eed;
export const RAM_BASE = 0x8000_0000;
export const RAM_SIZE = 1 << 20;
/** The fixture VMs' VMIDs, in order. */
export const FIXTURE_VMIDS = [0x80, 0x81, 0x82, 0x83] as const;

export type CreatableType = 'partition' | 'cspace' | 'addrspace' | 'thread' | 'doorbell' | 'msgqueue' | 'vic';

export interface FixtureVm {
  readonly vm: Vm;
  /** vCPU 0: the caller of `call`. */
  readonly vcpu: Vcpu;
  /** Capids in the VM's own cspace, all rights: the root partition, the cspace itself, the VM's vIC. */
  readonly partition: bigint;
  readonly cspace: bigint;
  readonly vic: bigint;
  /** Run one hypercall on vCPU 0. */
  call(name: HypercallName, args?: readonly (bigint | number)[], conv?: Convention): CallResult;
  /** partition_create_<type> into the VM's cspace; fails the test unless OK. */
  create(type: CreatableType): bigint;
  /** A configured and activated message queue. */
  msgqueue(depth?: number, maxMsgSize?: number): bigint;
  /** An activated doorbell. */
  doorbell(): bigint;
  /** The object a capid of this VM names (for assertions on state the ABI does not show). */
  object<T extends HypObject>(capid: bigint): T;
  /** The capability record of a capid. */
  cap(capid: bigint): Cap;
  /** Copy a capability into another VM's cspace with `rights` (setup shortcut, as the RM does). */
  grant(capid: bigint, to: FixtureVm, rights: number): bigint;
}

export interface Fixture {
  readonly hyp: Hypervisor;
  readonly vms: readonly FixtureVm[];
  readonly a: FixtureVm;
  /** The second VM (the first again when only one was asked for). */
  readonly b: FixtureVm;
}

export interface FixtureOptions extends HypervisorOptions {
  /** VMs to build (1-4, default 2). */
  vms?: number;
  /** vCPUs per VM (default 1). */
  vcpus?: number;
}

const split = (capid: bigint): [number, number] => [Number(capid & 0xffffffffn), Number(capid >> 32n)];

export function hypFixture(opts: FixtureOptions = {}): Fixture {
  const hyp = new Hypervisor({ seed: FIXTURE_SEED, ...opts });
  const vms = FIXTURE_VMIDS.slice(0, opts.vms ?? 2).map((vmid) => fixtureVm(hyp, vmid, opts.vcpus ?? 1));
  return { hyp, vms, a: vms[0]!, b: vms[1] ?? vms[0]! };
}

function fixtureVm(hyp: Hypervisor, vmid: number, vcpus: number): FixtureVm {
  const { vm } = hyp.createVm({ vmid, name: `vm${vmid.toString(16)}`, vcpus, ram: { base: RAM_BASE, size: RAM_SIZE } });
  const own = (o: HypObject): bigint => {
    const cap = vm.cspace.insert(o, allRights(o.type));
    assert.ok(typeof cap !== 'number', 'fixture cspace full');
    return vm.cspace.capid(cap.slot);
  };
  const f: FixtureVm = {
    vm,
    vcpu: vm.vcpus[0]!,
    partition: own(hyp.root),
    cspace: own(vm.cspace),
    vic: own(vm.vic),
    call: (name, args = [], conv = 'smccc') => hvc(vm.vcpus[0]!, name, args, conv),
    create(type) {
      const r = f.call(`partition_create_${type}`, [f.partition, f.cspace, 0]);
      assert.equal(ghErrorName(r.err), 'OK', `partition_create_${type}`);
      return r.x[1]!;
    },
    msgqueue(depth = 8, maxMsgSize = 240) {
      const q = f.create('msgqueue');
      const info = depth | (maxMsgSize << MSGQ_CREATE_INFO.MAX_SIZE_SHIFT);
      assert.equal(f.call('msgqueue_configure', [q, info, 0]).err, GH_ERROR.OK, 'msgqueue_configure');
      assert.equal(f.call('object_activate', [q, 0]).err, GH_ERROR.OK, 'object_activate');
      return q;
    },
    doorbell() {
      const db = f.create('doorbell');
      assert.equal(f.call('object_activate', [db, 0]).err, GH_ERROR.OK, 'object_activate');
      return db;
    },
    cap(capid) {
      const cap = vm.cspace.capAt(...split(capid));
      assert.ok(typeof cap !== 'number', `no cap ${capid.toString(16)}: ${ghErrorName(cap as number)}`);
      return cap;
    },
    object: <T extends HypObject>(capid: bigint) => f.cap(capid).object as T,
    grant(capid, to, rights) {
      const from = f.cap(capid);
      const copy = to.vm.cspace.insert(from.object, from.rights & rights, from);
      assert.ok(typeof copy !== 'number', 'grant: cspace full');
      return to.vm.cspace.capid(copy.slot);
    },
  };
  return f;
}

/** How one capability-taking call is checked by `assertCapErrors`. */
export interface CapCallSpec {
  readonly name: HypercallName;
  /** The call's arguments around the capability under test (objects it needs are made beforehand). */
  args(cap: bigint): readonly (bigint | number)[];
  /** The right the call needs on that capability. */
  readonly needs: number;
  /** A usable object of the type the call takes. */
  make(): bigint;
  /** An object of another type (omitted for calls that take any type). */
  other?(): bigint;
  /** An object of the right type still in INIT, for calls that need an active one. */
  makeInit?(): bigint;
}

/**
 * The cspace errors every capability argument has (spec §1.4): WRONG_OBJECT_TYPE, CAP_NULL for an empty slot,
 * CAP_REVOKED, ARGUMENT_INVALID for a capid that does not decode, INSUFFICIENT_RIGHTS without the needed right,
 * and OBJECT_STATE for an object not yet active.
 */
export function assertCapErrors(vm: FixtureVm, c: CapCallSpec): void {
  const err = (cap: bigint) => vm.call(c.name, c.args(cap)).err;
  if (c.other) assert.equal(ghErrorName(err(c.other())), 'ERROR_CSPACE_WRONG_OBJECT_TYPE', `${c.name}: wrong type`);
  const deleted = vm.grant(c.make(), vm, ~0);
  assert.equal(vm.call('cspace_delete_cap_from', [vm.cspace, deleted, 0]).err, GH_ERROR.OK);
  assert.equal(ghErrorName(err(deleted)), 'ERROR_CSPACE_CAP_NULL', `${c.name}: empty slot`);
  const master = c.make();
  const revoked = vm.grant(master, vm, ~0);
  assert.equal(vm.call('cspace_revoke_caps_from', [vm.cspace, master, 0]).err, GH_ERROR.OK);
  assert.equal(ghErrorName(err(revoked)), 'ERROR_CSPACE_CAP_REVOKED', `${c.name}: revoked`);
  assert.equal(ghErrorName(err(c.make() ^ 0xffff_0000_0000_0000n)), 'ERROR_ARGUMENT_INVALID', `${c.name}: undecodable`);
  const lacking = vm.grant(c.make(), vm, (allRights(vm.object(master).type) | RIGHT_ACTIVATE) & ~c.needs);
  assert.equal(ghErrorName(err(lacking)), 'ERROR_CSPACE_INSUFFICIENT_RIGHTS', `${c.name}: missing right`);
  if (c.makeInit) assert.equal(ghErrorName(err(c.makeInit())), 'ERROR_OBJECT_STATE', `${c.name}: not active`);
}
