// A booted device for the fuzz tests (the RM, the HLOS driver, the built-in image loader) with three secondary
// VMs created by the HLOS over RM RPC: `prey`, whose program returns at once so its vCPU and its RM link are the
// test's to drive as a hostile guest would; `echo` (console-echo) and `load` (traffic), whose guests keep running
// alongside. `check()` asserts the invariants every fuzz case must leave intact.
import assert from 'node:assert/strict';
import { PAGE_SIZE } from '../../core/abi/memory.js';
import { OBJECT_STATE } from '../../core/abi/objects.js';
import { VMID } from '../../core/abi/vmid.js';
import type { ImageDefinition } from '../../core/guests/image-types.js';
import { BUILT_IN_IMAGES } from '../../core/guests/loader.js';
import { bootDevice, type Device } from '../../core/hlos/device.js';
import { isRmFailure } from '../../core/hlos/rm-failure.js';
import { VmError } from '../../core/hlos/vm-manager.js';
import type { Msgqueue } from '../../core/ipc/msgqueue.js';
import { MsgqPort } from '../../core/rm/port.js';
import type { Vm } from '../../core/vm/vm.js';
import { eventually } from '../hlos/device-fixture.js';
import { RawClient } from '../rm/harness.js';

/** `quiet`: returns at once; its vCPU powers off and nothing in the VM uses its RM link. */
const QUIET_IMAGE: ImageDefinition<Record<string, never>> = {
  name: 'quiet',
  description: 'returns at once, leaving its vCPU and RM link to the test',
  params: () => ({}),
  program: () => async () => {},
};

export interface FuzzDevice {
  readonly device: Device;
  /** The secondary VM the fuzz acts as (its vCPU 0 makes the hypercalls, its RM link carries the packets). */
  readonly prey: Vm;
  readonly vmids: { readonly prey: number; readonly echo: number; readonly load: number };
  /** A raw RPC client on the prey's own RM link, buffers in the prey's own memory (made once). */
  preyRpc(): RawClient;
  /**
   * Every invariant; fails with the one that broke. `guestCrashes: 'allowed'` for fuzzing that may legitimately
   * take a guest's RPC messages away (a flushed RM link queue): a booting guest that misses a reply crashes, as a
   * real one would.
   */
  check(opts?: { guestCrashes?: 'allowed' }): Promise<void>;
  close(): void;
}

interface QueueMark {
  readonly state: number;
  readonly count: number;
  readonly sent: number;
  readonly received: number;
  readonly flushes: number;
}

/**
 * Message queue accounting: a queue never holds more than its depth, holds exactly the messages it reports, and
 * between two looks its count moved by what was sent minus what was received (unless it was flushed or reset,
 * which discard messages uncounted).
 */
class QueueLedger {
  private readonly marks = new WeakMap<Msgqueue, QueueMark>();

  check(device: Device): void {
    for (const o of device.hyp.objects.values()) {
      if (o.type !== 'msgqueue') continue;
      const q = o as Msgqueue;
      const mark: QueueMark = { state: q.state, count: q.count, sent: q.sent, received: q.received, flushes: q.flushes };
      assert.ok(q.count >= 0 && q.count <= q.depth, `msgqueue ${q.id}: count ${q.count} within depth ${q.depth}`);
      if (q.state === OBJECT_STATE.ACTIVE) assert.equal(q.peekAll().length, q.count, `msgqueue ${q.id}: queued messages = count`);
      assert.ok(q.received <= q.sent, `msgqueue ${q.id}: received ${q.received} <= sent ${q.sent}`);
      const before = this.marks.get(q);
      if (before !== undefined && before.state === q.state && before.flushes === q.flushes && q.state === OBJECT_STATE.ACTIVE) {
        assert.equal(q.count - before.count, (q.sent - before.sent) - (q.received - before.received),
          `msgqueue ${q.id}: count moved by sent - received`);
      }
      this.marks.set(q, mark);
    }
  }
}

export async function fuzzDevice(seed: number): Promise<FuzzDevice> {
  const device = bootDevice({ seed, images: new Map([...BUILT_IN_IMAGES, [QUIET_IMAGE.name, QUIET_IMAGE]]) });
  const { hlos, hyp, system } = device;
  const faults: string[] = [];
  const offFault = hyp.events.on('vcpu-fault', ({ vcpu, error }) => faults.push(`VM ${vcpu.vm?.vmid} vCPU ${vcpu.index}: ${error}`));
  const create = async (name: string, image: string, params = {}) => {
    const r = await hlos.createVm({ name, image, params }, { start: true });
    if (r instanceof VmError) assert.fail(`create ${name}: ${r.detail}`);
    return r.vmid;
  };
  const vmids = { prey: await create('prey', 'quiet'), echo: await create('echo', 'console-echo'), load: await create('load', 'traffic', { rate: 200 }) };
  const prey = hyp.vms.get(vmids.prey)!;
  await eventually(() => !prey.vcpus[0]!.poweredOn, 2000, 'the prey\'s program returned');
  const ledger = new QueueLedger();
  let rpc: RawClient | null = null;
  return {
    device, prey, vmids,
    preyRpc() {
      if (rpc !== null) return rpc;
      const memory = hlos.vms.get(vmids.prey)!.memory!;
      // Its parcel's last page is the devicetree; the page below it is free for the port's buffers.
      rpc = new RawClient(new MsgqPort(prey.vcpus[0]!, system.rm.linkOf(vmids.prey)!, memory.base + memory.size - 2 * PAGE_SIZE));
      return rpc;
    },
    async check({ guestCrashes } = {}) {
      const state = await hlos.rm.vmGetState(VMID.SELF, { timeoutMs: 2000 });
      assert.ok(!isRmFailure(state), `the HLOS's VM_GET_STATE round trip: ${isRmFailure(state) ? state.message : ''}`);
      ledger.check(device);
      assert.equal(system.rm.stats.handlerFaults, 0, `an RM service threw: ${String(system.rm.lastFault)}`);
      if (guestCrashes !== 'allowed') assert.deepEqual(faults, [], 'no guest crashed');
      const disagreements = () => hlos.vms.list().filter((r) => {
        const rec = system.rm.lookup(r.vmid);
        return rec === undefined || rec.status !== r.status || rec.osStatus !== r.osStatus;
      });
      await eventually(() => disagreements().length === 0, 2000, 'the RM and the HLOS agree on every VM\'s status')
        .catch(() => assert.fail(`RM and HLOS disagree on VMs ${disagreements().map((r) => r.vmid).join(', ')}`));
    },
    close() {
      offFault();
      rpc?.port.close();
      device.close();
    },
  };
}
