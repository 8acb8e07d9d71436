// Isolation (issue 8, item 1): what one VM may not reach. For every implemented hypercall that takes a capability,
// the capability from another VM's cspace, a revoked one, one naming the wrong type of object and one without the
// right the call needs are each refused with the exact Gunyah error (spec §1.4), and nothing anywhere in the
// hypervisor changes. A secondary VM asking the RM to act on a VM it does not own is refused with the RM's error
// (spec §9.4, R-MGNT owner checks) and nothing changes. Memory lent away is out of the lender's reach, through
// the hypervisor too, and a parcel reaches only the VMs of its ACL, with the rights the ACL gives (spec §7.2).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GH_ERROR, ghErrorName } from '../../core/abi/errors.js';
import { PAGE_SIZE } from '../../core/abi/memory.js';
import { allRights, RIGHT_ACTIVATE } from '../../core/abi/objects.js';
import { MEM_ACL_RIGHT, MEM_TRANS_TYPE, RM_MSG, rmErrorName, VM_STOP_FLAG } from '../../core/abi/rm.js';
import { VMID } from '../../core/abi/vmid.js';
import { hvc } from '../../core/hyp/call.js';
import { VCPU_STATE } from '../../core/vm/vcpu.js';
import { HLOS_RAM } from '../../core/rm/boot.js';
import {
  MemAcceptRequest, MemHandleReply, MemparcelCreateRequest, MemReclaimRequest, MemReleaseRequest,
  VmConfigImageRequest, VmConsoleWriteRequest, VmidRequest, VmStopRequest,
} from '../../core/rm/messages.js';
import type { ResourceManager } from '../../core/rm/resource-manager.js';
import { hypFixture } from '../helpers/hyp-fixture.js';
import { boot, createGuest, payload, settle, type Booted, type RawClient } from '../rm/harness.js';
import { until } from '../helpers/guest-fixture.js';
import { CAP_CALLS, capabilityInputs, world, type CapCall, type Need, type World } from './cap-calls.js';
import { stateDiff, worldState } from './world-state.js';

// ---- hypercalls

/** One forbidden capability for an input, and the error the call must answer with. */
interface Forbidden {
  readonly what: string;
  readonly error: string;
  /** The capid to pass, made in a fresh world from the valid one; null when the case does not apply. */
  make(w: World, valid: bigint, need: Need): bigint | null;
}

const FORBIDDEN: readonly Forbidden[] = [
  {
    // spec §1.4: a capid is only meaningful in the cspace it came from; another cspace's base does not decode.
    what: "a capid from the other VM's cspace (naming the same object, all rights)",
    error: 'ERROR_ARGUMENT_INVALID',
    make: (w, valid) => w.a.grant(valid, w.f.b, ~0),
  },
  {
    what: 'a revoked capid',
    error: 'ERROR_CSPACE_CAP_REVOKED',
    make(w, valid, need) {
      if (need.revokedIsValid) return null;
      const copy = w.a.grant(valid, w.a, ~0);
      assert.equal(w.a.call('cspace_revoke_caps_from', [w.a.cspace, valid, 0]).err, GH_ERROR.OK);
      return copy;
    },
  },
  {
    what: 'a capid to an object of another type',
    error: 'ERROR_CSPACE_WRONG_OBJECT_TYPE',
    make: (w, _valid, need) => (need.type === null || need.by === 'capAt' ? null : need.type === 'vic' ? w.a.cspace : w.a.vic),
  },
];

/** Each right the input needs, taken away one at a time from an otherwise full-rights copy. */
function lackingRights(need: Need): number[] {
  const bits: number[] = [];
  for (let bit = 0; bit < 32; bit++) if ((need.rights >>> bit) & 1) bits.push((1 << bit) >>> 0);
  return bits;
}

function label(c: CapCall): string {
  return c.variant === undefined ? c.name : `${c.name} (${c.variant})`;
}

/** One case in a fresh world: the call with `input` replaced; its error name and the whole state before and after. */
function attempt(c: CapCall, input: string, replace: (w: World, valid: bigint) => bigint | null) {
  const f = hypFixture({ vcpus: 2 });
  try {
    const w = world(f);
    const s = c.setup(w);
    const capid = replace(w, s.caps[input]!);
    if (capid === null) return null;
    const before = worldState(f.hyp);
    const r = w.a.call(c.name, s.args({ ...s.caps, [input]: capid }));
    return { error: ghErrorName(r.err), before, after: worldState(f.hyp) };
  } finally {
    f.hyp.scheduler.stop();
  }
}

describe('hypercall isolation: forbidden capabilities are refused with the exact error and change nothing (spec §1.4)', () => {
  test('every implemented call that takes a capability is covered, with every capability input', () => {
    const covered = new Map<string, Set<string>>();
    for (const c of CAP_CALLS) {
      const set = covered.get(c.name) ?? new Set<string>();
      for (const input of Object.keys(c.needs)) set.add(input);
      covered.set(c.name, set);
    }
    const derived = capabilityInputs();
    assert.deepEqual([...covered.keys()].sort(), [...derived.keys()].sort(), 'calls with capability inputs (core/abi/hypercalls.ts x core/hyp/handlers.ts)');
    for (const [name, inputs] of derived) assert.deepEqual([...covered.get(name)!].sort(), [...inputs].sort(), `${name}: capability inputs`);
    assert.ok(derived.size >= 55, `${derived.size} calls`);
  });

  for (const c of CAP_CALLS) {
    test(label(c), () => {
      const control = attempt(c, Object.keys(c.needs)[0]!, (_w, valid) => valid)!;
      assert.equal(control.error, c.answers ?? 'OK', 'with every capability valid the call gets past its capabilities');
      let cases = 0;
      for (const [input, need] of Object.entries(c.needs)) {
        const check = (what: string, error: string, replace: Parameters<typeof attempt>[2]) => {
          const r = attempt(c, input, replace);
          if (r === null) return;
          assert.equal(r.error, error, `${input}: ${what}`);
          assert.deepEqual(stateDiff(r.before, r.after), [], `${input}: ${what} changed nothing`);
          cases++;
        };
        for (const f of FORBIDDEN) check(f.what, f.error, (w, valid) => f.make(w, valid, need));
        if (need.by !== 'capAt') {
          for (const bit of lackingRights(need)) {
            check(`without right 0x${bit.toString(16)}`, 'ERROR_CSPACE_INSUFFICIENT_RIGHTS', (w, valid) => {
              const type = w.a.cap(valid).object.type;
              return w.a.grant(valid, w.a, (allRights(type) | RIGHT_ACTIVATE) & ~bit);
            });
          }
        }
      }
      assert.ok(cases >= Object.keys(c.needs).length, `${cases} forbidden capabilities tried`);
    });
  }
});

// ---- RM requests naming another VM

const vmidReq = (vmid: number) => payload(VmidRequest, { vmid });

/** What the RM keeps of every VM: statuses, owner, console ends, image and built objects. */
function rmState(rm: ResourceManager) {
  return [...rm.vms.values()].map((v) => ({
    vmid: v.vmid, owner: v.owner, status: v.status, osStatus: v.osStatus, appStatus: v.appStatus, name: v.name,
    console: { ...v.console }, image: v.imageName, built: v.vm !== null, caps: v.caps, granted: [...v.grantedVcpus],
  }));
}

describe('RM requests that name a VM the requester does not own are refused (spec §9.4 owner checks)', () => {
  /** Two secondary VMs of the HLOS, B running; requests come from A's own RM link. */
  async function twoGuests(): Promise<{ b: Booted; a: RawClient; victim: number }> {
    const b = boot();
    const attacker = await createGuest(b);
    const victim = await createGuest(b);
    const start = await b.hlos.call(RM_MSG.VM_START, vmidReq(victim.vmid));
    assert.equal(rmErrorName(start.rmError), 'RM_OK');
    // The victim's program runs to its end (its vCPU powers off) and the HLOS takes its notifications: quiet.
    const vcpu = b.hyp.vms.get(victim.vmid)!.vcpus[0]!;
    await until(() => b.ran.includes(victim.vmid) && vcpu.schedState === VCPU_STATE.POWERED_OFF, 'the victim at rest');
    for (let i = 0; i < 3; i++) await settle();
    return { b, a: attacker.rpc!, victim: victim.vmid };
  }

  const requests = (target: number): [string, number, Uint8Array, string][] => [
    ['VM_START', RM_MSG.VM_START, vmidReq(target), 'RM_ERROR_DENIED'],
    ['VM_STOP (forced)', RM_MSG.VM_STOP, payload(VmStopRequest, { vmid: target, flags: VM_STOP_FLAG.FORCE, stopReason: 0 }), 'RM_ERROR_VMID_INVALID'],
    ['VM_RESET', RM_MSG.VM_RESET, vmidReq(target), 'RM_ERROR_VMID_INVALID'],
    ['VM_DEALLOCATE', RM_MSG.VM_DEALLOCATE, vmidReq(target), 'RM_ERROR_DENIED'],
    ['VM_CONSOLE_OPEN', RM_MSG.VM_CONSOLE_OPEN, vmidReq(target), 'RM_ERROR_DENIED'],
    ['VM_CONSOLE_CLOSE', RM_MSG.VM_CONSOLE_CLOSE, vmidReq(target), 'RM_ERROR_DENIED'],
    ['VM_CONSOLE_WRITE', RM_MSG.VM_CONSOLE_WRITE, payload(VmConsoleWriteRequest, { vmid: target, bytes: Uint8Array.of(0x41) }), 'RM_ERROR_DENIED'],
    ['VM_CONSOLE_FLUSH', RM_MSG.VM_CONSOLE_FLUSH, vmidReq(target), 'RM_ERROR_DENIED'],
    ['VM_GET_STATE', RM_MSG.VM_GET_STATE, vmidReq(target), 'RM_ERROR_DENIED'],
    ['VM_GET_HYP_RESOURCES', RM_MSG.VM_GET_HYP_RESOURCES, vmidReq(target), 'RM_ERROR_DENIED'],
    ['VM_INIT', RM_MSG.VM_INIT, vmidReq(target), 'RM_ERROR_DENIED'],
    ['VM_CONFIG_IMAGE', RM_MSG.VM_CONFIG_IMAGE, payload(VmConfigImageRequest, {
      vmid: target, auth: 0, memHandle: 0, imageOffset: 0n, imageSize: BigInt(PAGE_SIZE), dtbOffset: BigInt(PAGE_SIZE), dtbSize: BigInt(PAGE_SIZE),
    }), 'RM_ERROR_DENIED'],
  ];

  for (const [who, pick] of [['another secondary VM', (victim: number) => victim], ['the HLOS', () => VMID.HLOS]] as const) {
    test(`from a secondary VM's RM link, every lifecycle, console and query request naming ${who} is refused; nothing changes`, async () => {
      const { b, a, victim } = await twoGuests();
      const target = pick(victim);
      const rmBefore = rmState(b.rm);
      const objects = () => {
        const vm = b.hyp.vms.get(target)!;
        return [vm.cspace, vm.addrspace, vm.vic, ...vm.vcpus].map((o) => worldState(b.hyp)[`${o.type}:${o.id}`]);
      };
      const objectsBefore = objects();
      for (const [name, msgId, body, expected] of requests(target)) {
        const r = await a.call(msgId, body);
        assert.equal(rmErrorName(r.rmError), expected, `${name} of VMID ${target}`);
      }
      assert.equal(rmErrorName((await a.call(RM_MSG.VM_ALLOCATE, vmidReq(0))).rmError), 'RM_ERROR_DENIED', 'only the HLOS allocates VMs');
      assert.deepEqual(rmState(b.rm), rmBefore, 'every RM record as it was');
      assert.deepEqual(stateDiff(objectsBefore, objects()), [], `VMID ${target}'s hypervisor objects as they were`);
    });
  }
});

// ---- memory

/** HLOS RAM well above what createGuest lends. */
const FREE = HLOS_RAM.base + (256 << 20);
const { R, W } = MEM_ACL_RIGHT;

function parcelReq(acl: { vmid: number; rights: number }[]) {
  return payload(MemparcelCreateRequest, { memType: 0, flags: 0, label: 0, acl, sgl: [{ ipa: BigInt(FREE), size: BigInt(PAGE_SIZE) }], attrs: [] });
}
function acceptReq(handle: number, transType: number) {
  return payload(MemAcceptRequest, { handle, memType: 0, transType, flags: 0, label: 0, acl: [], sgl: [], mapVmid: 0, attrs: [] });
}

describe('memory isolation (spec §7.2)', () => {
  test('lent memory is out of the lender\'s reach, for plain accesses and for hypercalls that take it as a buffer', async () => {
    const b = boot();
    const a = await createGuest(b);
    const other = await createGuest(b);
    const hlos = b.hyp.vms.get(VMID.HLOS)!;
    assert.equal(hlos.memory.writeBytes(FREE, Buffer.from('secret')), GH_ERROR.OK);
    const { handle } = await b.hlos.ok(RM_MSG.MEM_LEND, parcelReq([{ vmid: a.vmid, rights: R | W }]), MemHandleReply);

    assert.equal(hlos.memory.readBytes(FREE, 6), GH_ERROR.ADDR_INVALID, 'the lender cannot read it');
    assert.equal(hlos.memory.writeBytes(FREE, Uint8Array.of(1)), GH_ERROR.ADDR_INVALID, 'nor write it');
    const tx = b.rm.linkOf(VMID.HLOS)!.txCapid;
    assert.equal(ghErrorName(hvc(hlos.vcpus[0]!, 'msgqueue_send', [tx, 6, FREE, 0, 0]).err), 'ERROR_ADDR_INVALID',
      'nor hand it to the hypervisor as a message buffer');

    const stranger = other.rpc!;
    assert.equal(rmErrorName((await stranger.call(RM_MSG.MEM_ACCEPT, acceptReq(handle, MEM_TRANS_TYPE.LEND))).rmError),
      'RM_ERROR_HANDLE_INVALID', 'a VM outside the ACL cannot accept the parcel');
    await a.rpc!.call(RM_MSG.MEM_ACCEPT, acceptReq(handle, MEM_TRANS_TYPE.LEND));
    const borrower = b.hyp.vms.get(a.vmid)!;
    assert.deepEqual(Buffer.from(borrower.memory.readBytes(FREE, 6) as Uint8Array).toString(), 'secret', 'the borrower sees it');
    assert.equal(b.hyp.vms.get(other.vmid)!.memory.readBytes(FREE, 6), GH_ERROR.ADDR_INVALID, 'the stranger does not');
    for (const [msgId, what] of [[RM_MSG.MEM_RELEASE, 'release'], [RM_MSG.MEM_RECLAIM, 'reclaim']] as const) {
      const codec = msgId === RM_MSG.MEM_RELEASE ? MemReleaseRequest : MemReclaimRequest;
      const r = await stranger.call(msgId, payload(codec, { handle, flags: 0 }));
      assert.equal(rmErrorName(r.rmError), 'RM_ERROR_HANDLE_INVALID', `the stranger cannot ${what} it`);
    }
    const reclaim = await a.rpc!.call(RM_MSG.MEM_RECLAIM, payload(MemReclaimRequest, { handle, flags: 0 }));
    assert.equal(rmErrorName(reclaim.rmError), 'RM_ERROR_HANDLE_INVALID', 'the borrower cannot reclaim it as if it owned it');
    const relend = await a.rpc!.call(RM_MSG.MEM_LEND, parcelReq([{ vmid: other.vmid, rights: R | W }]));
    assert.equal(rmErrorName(relend.rmError), 'RM_ERROR_MEM_INVALID', 'the borrower cannot lend it on (it does not own it)');
    assert.equal(hlos.memory.readBytes(FREE, 6), GH_ERROR.ADDR_INVALID, 'still out of the lender\'s reach');
  });

  test('shared memory: each VM of the ACL gets exactly its rights, a VM outside it nothing', async () => {
    const b = boot();
    const reader = await createGuest(b);
    const other = await createGuest(b);
    const hlos = b.hyp.vms.get(VMID.HLOS)!;
    const { handle } = await b.hlos.ok(RM_MSG.MEM_SHARE, parcelReq([{ vmid: VMID.HLOS, rights: R | W }, { vmid: reader.vmid, rights: R }]), MemHandleReply);
    assert.equal(hlos.memory.writeBytes(FREE, Buffer.from('shared')), GH_ERROR.OK, 'the owner keeps RW');
    assert.equal(rmErrorName((await reader.rpc!.call(RM_MSG.MEM_ACCEPT, acceptReq(handle, MEM_TRANS_TYPE.SHARE))).rmError), 'RM_OK');
    const readerVm = b.hyp.vms.get(reader.vmid)!;
    assert.equal(Buffer.from(readerVm.memory.readBytes(FREE, 6) as Uint8Array).toString(), 'shared');
    assert.equal(readerVm.memory.writeBytes(FREE, Uint8Array.of(0)), GH_ERROR.ADDR_INVALID, 'R only: no write');
    assert.equal(rmErrorName((await other.rpc!.call(RM_MSG.MEM_ACCEPT, acceptReq(handle, MEM_TRANS_TYPE.SHARE))).rmError),
      'RM_ERROR_HANDLE_INVALID', 'outside the ACL');
    assert.equal(b.hyp.vms.get(other.vmid)!.memory.readBytes(FREE, 1), GH_ERROR.ADDR_INVALID);
  });
});
