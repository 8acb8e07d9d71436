// The Gunyah sysfs nodes (fs/sysfs.ts), read and written through the tree's own readers (the ones FUSE and the HTTP
// mirror use) on a booted device: exact seed values at the root, and the live state under gunyah/ matching the core.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HC } from '../../core/abi/hypercalls.js';
import { VMID } from '../../core/abi/vmid.js';
import type { VmView } from '../../core/hlos/hlos.js';
import { VmError } from '../../core/hlos/vm-manager.js';
import type { Doorbell } from '../../core/ipc/doorbell.js';
import type { Msgqueue } from '../../core/ipc/msgqueue.js';
import { CALL_NAMES } from '../../core/hyp/stats.js';
import { featuresLine } from '../../fs/nodes/identity.js';
import { buildSysfsTree } from '../../fs/sysfs.js';
import {
  DIR_MODE, isFsError, readPath, render, resolve, writePath, type DirNode, type FileNode, type FsError,
} from '../../fs/tree.js';
import { eventually, testDevice, type TestDevice } from '../hlos/device-fixture.js';

/** A file's value as `cat` prints it; fails the test on an error. */
function cat(root: DirNode, path: string): string {
  const r = readPath(root, path);
  if (r.kind !== 'file') assert.fail(`${path}: ${r.kind === 'error' ? `${r.error} ${r.reason}` : 'a directory'}`);
  return r.bytes.toString();
}

/** A directory's names as `ls` lists them. */
function ls(root: DirNode, path: string): string[] {
  const r = readPath(root, path);
  if (r.kind !== 'dir') assert.fail(`${path}: ${r.kind === 'error' ? `${r.error} ${r.reason}` : 'a file'}`);
  return r.entries.map((e) => e.name);
}

function errorOf(root: DirNode, path: string): FsError['error'] | 'OK' {
  const r = readPath(root, path);
  return r.kind === 'error' ? r.error : 'OK';
}

async function createVm(dev: TestDevice, name: string, image: string, params = {}): Promise<VmView> {
  const vm = await dev.hlos.createVm({ name, image, params });
  if (vm instanceof VmError) assert.fail(`creating ${name}: ${vm.detail}`);
  return vm;
}

/** The id of the msgqueue or doorbell whose sender and receiver are these VMs, found through the tree. */
function objectBetween(root: DirNode, area: 'msgqueues' | 'doorbells', sender: number, receiver: number): string {
  const found = ls(root, `gunyah/${area}`).filter((id) =>
    cat(root, `gunyah/${area}/${id}/sender_vmid`) === `${sender}\n` && cat(root, `gunyah/${area}/${id}/receiver_vmid`) === `${receiver}\n`);
  assert.equal(found.length, 1, `${area} from ${sender} to ${receiver}: ${found.join(',')}`);
  return found[0]!;
}

describe('sysfs nodes of a booted device', () => {
  let dev: TestDevice;
  let root: DirNode;
  let svm: VmView;

  before(async () => {
    dev = testDevice();
    root = buildSysfsTree(dev);
    svm = await createVm(dev, 'svm1', 'idle');
  });

  after(() => dev.close());

  test('the root holds exactly the seed v2 nodes, with the seed values', () => {
    assert.deepEqual(ls(root, ''), ['type', 'features', 'version', 'gunyah']);
    assert.equal(cat(root, 'type'), 'gunyah\n');
    assert.equal(cat(root, 'features'), 'cspace message-queue \n');
    assert.deepEqual(ls(root, 'version'), ['api', 'variant']);
    assert.equal(cat(root, 'version/api'), '1\n');
    assert.equal(cat(root, 'version/variant'), '81\n');
  });

  test('gunyah/ holds the v3/v4 nodes with the same values, then the live areas', () => {
    assert.deepEqual(ls(root, 'gunyah'), ['api', 'variant', 'features', 'vms', 'msgqueues', 'doorbells', 'rm', 'hypercalls']);
    assert.equal(cat(root, 'gunyah/api'), '1\n');
    assert.equal(cat(root, 'gunyah/variant'), '81\n');
    assert.equal(cat(root, 'gunyah/features'), 'cspace message-queue \n');
  });

  test('features follows the v1 rule: a word and a space per reported feature, then a newline', () => {
    const id = { api: 1, variant: 0x51 };
    assert.equal(featuresLine({ ...id, flags0: 0b101 }), 'cspace message-queue \n');
    assert.equal(featuresLine({ ...id, flags0: 0b001 }), 'cspace \n');
    assert.equal(featuresLine({ ...id, flags0: 0b100 }), 'message-queue \n');
    assert.equal(featuresLine({ ...id, flags0: 0 }), '\n');
    // Bits the seed never printed (doorbell, vic...) add nothing.
    assert.equal(featuresLine({ ...id, flags0: 0xeff }), 'cspace message-queue \n');
  });

  test('building the tree probes like the seed driver: one hypervisor_identify on the HLOS vCPU', () => {
    const probe = testDevice();
    try {
      const hlos = probe.hyp.vms.get(VMID.HLOS)!;
      const calls = probe.hyp.stats.total(HC.hypervisor_identify);
      const hlosCalls = hlos.vcpus[0]!.hypercalls;
      const regs = hlos.vcpus[0]!.regs.slice();
      const tree = buildSysfsTree(probe);
      assert.equal(probe.hyp.stats.total(HC.hypervisor_identify), calls + 1);
      assert.equal(hlos.vcpus[0]!.hypercalls, hlosCalls + 1);
      assert.deepEqual(hlos.vcpus[0]!.regs, regs, 'the HLOS vCPU registers are put back');
      // Reads render the probed values; they make no further calls.
      cat(tree, 'features');
      cat(tree, 'gunyah/variant');
      assert.equal(probe.hyp.stats.total(HC.hypervisor_identify), calls + 1);
    } finally {
      probe.close();
    }
  });

  test('vms/ lists the HLOS, its VM and the RM by decimal VMID, each with its facts', () => {
    assert.deepEqual(ls(root, 'gunyah/vms'), ['3', String(svm.vmid), '255']);
    const vm = `gunyah/vms/${svm.vmid}`;
    assert.deepEqual(ls(root, vm), [
      'name', 'type', 'status', 'os_status', 'owner', 'image', 'memory_base', 'memory_size', 'hypercalls', 'vcpus',
      'capabilities', 'control',
    ]);
    assert.equal(cat(root, `${vm}/name`), 'svm1\n');
    assert.equal(cat(root, `${vm}/type`), 'secondary\n');
    assert.equal(cat(root, `${vm}/status`), 'running\n');
    assert.equal(cat(root, `${vm}/owner`), '3\n');
    assert.equal(cat(root, `${vm}/image`), 'idle\n');
    assert.equal(cat(root, `${vm}/memory_size`), `${svm.memory!.size}\n`);
    assert.equal(cat(root, `${vm}/memory_base`), `0x${svm.memory!.base.toString(16).padStart(16, '0')}\n`);
    assert.equal(cat(root, `${vm}/hypercalls`), `${dev.hyp.vms.get(svm.vmid)!.hypercalls}\n`);

    assert.deepEqual(['name', 'type', 'status', 'os_status', 'owner', 'image'].map((f) => cat(root, `gunyah/vms/3/${f}`)),
      ['HLOS\n', 'primary\n', 'running\n', 'run\n', '255\n', 'none\n']);
    assert.deepEqual(['name', 'type', 'status', 'owner', 'image'].map((f) => cat(root, `gunyah/vms/255/${f}`)),
      ['RM\n', 'rm\n', 'running\n', '255\n', 'none\n']);
    assert.equal(errorOf(root, 'gunyah/vms/3/control'), 'ENOENT', 'the HLOS does not control itself');
    assert.equal(errorOf(root, 'gunyah/vms/255/control'), 'ENOENT');
  });

  test('os_status is the spec §9.5 name in lower case, as the guest reports it', async () => {
    await eventually(() => cat(root, `gunyah/vms/${svm.vmid}/os_status`) === 'run\n', 2000, 'the idle image to report RUN');
  });

  test('vcpus/<n>/ shows the scheduler fields of each vCPU exactly', async () => {
    const vcpu = dev.hyp.vms.get(svm.vmid)!.vcpus[0]!;
    const dirPath = `gunyah/vms/${svm.vmid}/vcpus`;
    assert.deepEqual(ls(root, dirPath), ['0']);
    const read = (f: string) => cat(root, `${dirPath}/0/${f}`);
    await eventually(() => read('state') === 'expects_wakeup\n', 2000, 'idle to wait for interrupts');
    assert.equal(read('priority'), `${vcpu.priority}\n`);
    assert.equal(read('timeslice_ns'), `${vcpu.timesliceNs}\n`);
    assert.equal(read('affinity'), `${vcpu.affinity}\n`);
    assert.equal(read('run_time_ns'), `${Math.floor(vcpu.stats.runNs)}\n`);
    assert.ok(vcpu.stats.runNs > 0);
    assert.equal(read('wakeups'), `${vcpu.stats.wakeups}\n`);
    assert.equal(read('resumptions'), `${vcpu.stats.resumptions}\n`);
    assert.equal(read('hypercalls'), `${vcpu.hypercalls}\n`);
    assert.equal(read('object_id'), `${vcpu.id}\n`);
    assert.equal(errorOf(root, `${dirPath}/1`), 'ENOENT');
  });

  test('capabilities/<capid>/ lists the VM cspace by capid with type, rights and the object node', () => {
    const vm = dev.hyp.vms.get(svm.vmid)!;
    const caps = [...vm.cspace.caps()];
    const names = ls(root, `gunyah/vms/${svm.vmid}/capabilities`);
    assert.deepEqual(names, caps.map((c) => `0x${vm.cspace.capid(c.slot).toString(16).padStart(16, '0')}`));
    // The VM's RM link (SEND, RECEIVE) and its vdevices with the HLOS: two queues, two doorbells.
    const types = names.map((n) => `${cat(root, `gunyah/vms/${svm.vmid}/capabilities/${n}/type`).trim()}:${cat(root, `gunyah/vms/${svm.vmid}/capabilities/${n}/rights`).trim()}`);
    assert.deepEqual(types, ['msgqueue:send', 'msgqueue:receive', 'msgqueue:send', 'msgqueue:receive', 'doorbell:send', 'doorbell:receive']);
    const first = `gunyah/vms/${svm.vmid}/capabilities/${names[0]}`;
    assert.deepEqual(ls(root, first), ['type', 'rights', 'rights_mask', 'object_id', 'object_state', 'object']);
    assert.equal(cat(root, `${first}/rights_mask`), '0x00000001\n');
    assert.equal(cat(root, `${first}/object_id`), `${caps[0]!.object.id}\n`);
    assert.equal(cat(root, `${first}/object_state`), 'active\n');
    assert.equal(cat(root, `${first}/object`), `msgqueues/${caps[0]!.object.id}\n`);
    // The object path names a node of the tree; the RM link's sender is this VM, its receiver the RM.
    const path = `gunyah/${cat(root, `${first}/object`).trim()}`;
    assert.equal(cat(root, `${path}/sender_vmid`), `${svm.vmid}\n`);
    assert.equal(cat(root, `${path}/receiver_vmid`), '255\n');
  });

  test('capabilities of objects without a node (the RM partition) have no object file; vCPU caps point at the vCPU', () => {
    const rmCaps = ls(root, 'gunyah/vms/255/capabilities');
    const partition = rmCaps.find((n) => cat(root, `gunyah/vms/255/capabilities/${n}/type`) === 'partition\n')!;
    assert.equal(cat(root, `gunyah/vms/255/capabilities/${partition}/rights`), 'object_create donate activate\n');
    assert.equal(errorOf(root, `gunyah/vms/255/capabilities/${partition}/object`), 'ENOENT');
    const vcpuCaps = rmCaps.filter((n) => cat(root, `gunyah/vms/255/capabilities/${n}/type`) === 'vcpu\n');
    assert.ok(vcpuCaps.map((n) => cat(root, `gunyah/vms/255/capabilities/${n}/object`)).includes(`vms/${svm.vmid}/vcpus/0\n`));
  });

  test('names must be canonical: no leading zeros, upper-case capids, or ids of another object type', () => {
    const capid = ls(root, `gunyah/vms/${svm.vmid}/capabilities`)[0]!;
    const q = ls(root, 'gunyah/msgqueues')[0]!;
    const db = ls(root, 'gunyah/doorbells')[0]!;
    for (const path of [
      'gunyah/vms/03', 'gunyah/vms/+3', 'gunyah/vms/0x3', 'gunyah/vms/77', `gunyah/vms/${svm.vmid}/vcpus/00`,
      `gunyah/vms/${svm.vmid}/capabilities/${capid.toUpperCase().replace('0X', '0x')}`,
      `gunyah/vms/${svm.vmid}/capabilities/${capid.slice(0, -1)}`, `gunyah/msgqueues/0${q}`, `gunyah/msgqueues/${db}`,
      `gunyah/doorbells/${q}`, 'gunyah/hypercalls/HYPERVISOR_IDENTIFY', 'gunyah/rm/clients/255',
    ]) {
      assert.equal(errorOf(root, path), 'ENOENT', path);
    }
  });

  test('msgqueues/<id>/ counters equal the core counters after traffic; ends come from SEND and RECEIVE caps', async () => {
    const traffic = await createVm(dev, 'load', 'traffic', { rate: 500 });
    const id = objectBetween(root, 'msgqueues', traffic.vmid, VMID.HLOS);
    const q = dev.hyp.objects.get(Number(id)) as Msgqueue;
    await eventually(() => q.sent >= 50 && q.received > 0, 3000, 'traffic on the queue to the HLOS');
    // Read and compared in one turn of the event loop: nothing runs in between.
    const fields: [string, number][] = [
      ['depth', q.depth], ['max_msg_size', q.maxMsgSize], ['count', q.count], ['sent', q.sent],
      ['received', q.received], ['bytes_sent', q.bytesSent], ['bytes_received', q.bytesReceived],
      ['full_events', q.fullEvents], ['full_rejects', q.fullRejects], ['flushes', q.flushes],
      ['notfull_threshold', q.notfullThd], ['notempty_threshold', q.notemptyThd],
    ];
    for (const [file, expected] of fields) assert.equal(cat(root, `gunyah/msgqueues/${id}/${file}`), `${expected}\n`, file);
    assert.equal(cat(root, `gunyah/msgqueues/${id}/depth`), '16\n');
    assert.equal(cat(root, `gunyah/msgqueues/${id}/max_msg_size`), '240\n');
    assert.equal(cat(root, `gunyah/msgqueues/${id}/bytes_sent`), `${64 * q.sent}\n`);
    assert.equal(cat(root, `gunyah/msgqueues/${id}/state`), 'active\n');

    const db = objectBetween(root, 'doorbells', traffic.vmid, VMID.HLOS);
    const bell = dev.hyp.objects.get(Number(db)) as Doorbell;
    assert.ok(bell.sends > 0);
    assert.equal(cat(root, `gunyah/doorbells/${db}/sends`), `${bell.sends}\n`);
    assert.equal(cat(root, `gunyah/doorbells/${db}/receives`), `${bell.receives}\n`);
    assert.equal(cat(root, `gunyah/doorbells/${db}/asserts`), `${bell.asserts}\n`);
    assert.equal(cat(root, `gunyah/doorbells/${db}/enable_mask`), '0xffffffffffffffff\n');
    assert.equal(cat(root, `gunyah/doorbells/${db}/ack_mask`), '0x0000000000000000\n');
    // The RM made both objects and keeps master caps to them, yet only the two VMs are ends (objectBetween).
    assert.ok(!(await dev.hlos.deleteVm(traffic.vmid) instanceof VmError));
  });

  test('doorbells/<id>/send rings the doorbell as the VM holding SEND, with hex or decimal flags', () => {
    const id = objectBetween(root, 'doorbells', VMID.HLOS, svm.vmid);
    const db = dev.hyp.objects.get(Number(id)) as Doorbell;
    const hlosVcpu = dev.hyp.vms.get(VMID.HLOS)!.vcpus[0]!;
    const regs = hlosVcpu.regs.slice();
    const sends = db.sends;
    const calls = dev.hyp.stats.total(HC.doorbell_send);
    const hlosCalls = hlosVcpu.hypercalls;
    assert.equal(writePath(root, `gunyah/doorbells/${id}/send`, '0x1\n'), undefined);
    assert.equal(writePath(root, `gunyah/doorbells/${id}/send`, '6'), undefined);
    assert.equal(writePath(root, `gunyah/doorbells/${id}/send`, '0x8000000000000000\n'), undefined);
    assert.equal(cat(root, `gunyah/doorbells/${id}/sends`), `${sends + 3}\n`);
    // idle never receives: the flags accumulate (enable all ones, ack 0, spec §5).
    assert.equal(cat(root, `gunyah/doorbells/${id}/flags`), '0x8000000000000007\n');
    assert.equal(dev.hyp.stats.total(HC.doorbell_send), calls + 3, 'each write is a real doorbell_send');
    assert.equal(hlosVcpu.hypercalls, hlosCalls + 3, 'made by the HLOS, the holder of SEND');
    assert.deepEqual(hlosVcpu.regs, regs, 'on borrowed registers');
  });

  test('doorbells/<id>/send refuses what is not one 64-bit number with EINVAL and a reason', () => {
    const id = objectBetween(root, 'doorbells', VMID.HLOS, svm.vmid);
    const sends = (dev.hyp.objects.get(Number(id)) as Doorbell).sends;
    for (const bad of ['', '\n', 'abc', '0x', '-1', '1.5', '0x1 ', ' 1', '0x10000000000000000', '18446744073709551616', '1\n\n']) {
      const err = writePath(root, `gunyah/doorbells/${id}/send`, bad);
      assert.equal(err?.error, 'EINVAL', JSON.stringify(bad));
      assert.match(err!.reason!, /64|hex/);
    }
    assert.equal((dev.hyp.objects.get(Number(id)) as Doorbell).sends, sends, 'nothing was rung');
    assert.equal(errorOf(root, `gunyah/doorbells/${id}/send`), 'EACCES', 'send is write-only');
  });

  test('read-only nodes refuse writes with EACCES; directories with EISDIR', () => {
    assert.equal(writePath(root, 'type', 'xen\n')?.error, 'EACCES');
    assert.equal(writePath(root, `gunyah/vms/${svm.vmid}/status`, 'running\n')?.error, 'EACCES');
    assert.equal(writePath(root, 'gunyah/vms', '1')?.error, 'EISDIR');
    assert.equal(cat(root, 'type'), 'gunyah\n');
  });

  test('msgqueues/<id>/flush empties the queue as its receiver; anything but 1 is EINVAL', () => {
    const id = objectBetween(root, 'msgqueues', VMID.HLOS, svm.vmid);
    const q = dev.hyp.objects.get(Number(id)) as Msgqueue;
    const flushes = q.flushes;
    const vmCalls = dev.hyp.vms.get(svm.vmid)!.hypercalls;
    assert.equal(writePath(root, `gunyah/msgqueues/${id}/flush`, '2\n')?.error, 'EINVAL');
    assert.equal(writePath(root, `gunyah/msgqueues/${id}/flush`, '1\n'), undefined);
    assert.equal(cat(root, `gunyah/msgqueues/${id}/flushes`), `${flushes + 1}\n`);
    assert.equal(cat(root, `gunyah/msgqueues/${id}/count`), '0\n');
    assert.equal(dev.hyp.vms.get(svm.vmid)!.hypercalls, vmCalls + 1, 'the receiver made msgqueue_flush');
  });

  test('modes: 0444 values, 0644 control, 0200 triggers, 0555 directories (the HTTP mirror listing)', () => {
    const r = readPath(root, `gunyah/vms/${svm.vmid}`);
    assert.equal(r.kind, 'dir');
    const modes = Object.fromEntries((r as { entries: { name: string; mode: number }[] }).entries.map((e) => [e.name, e.mode]));
    assert.equal(modes.name, 0o444);
    assert.equal(modes.control, 0o644);
    assert.equal(modes.vcpus, DIR_MODE);
    const q = ls(root, 'gunyah/msgqueues')[0]!;
    const db = ls(root, 'gunyah/doorbells')[0]!;
    const node = (p: string) => resolve(root, p) as { mode: number };
    assert.equal(node(`gunyah/msgqueues/${q}/flush`).mode, 0o200);
    assert.equal(node(`gunyah/doorbells/${db}/send`).mode, 0o200);
    assert.equal(node(`gunyah/doorbells/${db}/flags`).mode, 0o444);
  });

  test('hypercalls/<call>/ holds the total and one file per result seen, equal to the core statistics', () => {
    assert.deepEqual(ls(root, 'gunyah/hypercalls'), CALL_NAMES.filter((n) => n !== null));
    const send = dev.hyp.stats.total(HC.msgqueue_send);
    assert.ok(send > 0);
    assert.equal(cat(root, 'gunyah/hypercalls/msgqueue_send/total'), `${send}\n`);
    const results = ls(root, 'gunyah/hypercalls/msgqueue_send');
    assert.equal(results[0], 'total');
    assert.ok(results.includes('OK'));
    const byResult = [...dev.hyp.stats.entries()].filter((e) => e.call === 'msgqueue_send');
    assert.deepEqual(results.slice(1), byResult.map((e) => e.result));
    for (const e of byResult) assert.equal(cat(root, `gunyah/hypercalls/msgqueue_send/${e.result}`), `${e.count}\n`);
    assert.equal(errorOf(root, 'gunyah/hypercalls/msgqueue_send/ERROR_CSPACE_WRONG_OBJECT_TYPE'), 'ENOENT', 'zero counts are not listed');
    assert.deepEqual(ls(root, 'gunyah/hypercalls/vpm_group_get_state'), ['total']);
    assert.equal(cat(root, 'gunyah/hypercalls/vpm_group_get_state/total'), '0\n');
  });

  test('rm/ shows the RM counters: requests by message and result, notifications, each client link', () => {
    const { rm } = dev.system;
    assert.deepEqual(ls(root, 'gunyah/rm'), ['clients', 'requests', 'notifications', 'drops', 'handler_faults']);
    assert.equal(cat(root, 'gunyah/rm/requests/VM_ALLOCATE/RM_OK'), `${rm.stats.count('VM_ALLOCATE', 'RM_OK')}\n`);
    assert.equal(cat(root, 'gunyah/rm/requests/VM_START/total'), `${rm.stats.count('VM_START', 'RM_OK')}\n`);
    assert.equal(cat(root, 'gunyah/rm/notifications/VM_STATUS/sent'), `${rm.stats.sent('VM_STATUS')}\n`);
    assert.equal(cat(root, 'gunyah/rm/drops/not_request'), `${rm.stats.drop('not_request')}\n`);
    assert.equal(cat(root, 'gunyah/rm/handler_faults'), '0\n');
    assert.ok(ls(root, 'gunyah/rm/clients').includes('3'));
    assert.ok(ls(root, 'gunyah/rm/clients').includes(String(svm.vmid)));
    const endpoint = rm.lookup(VMID.HLOS)!.endpoint!;
    assert.deepEqual(ls(root, 'gunyah/rm/clients/3'), ['pending_notifications', 'pending_reply', 'requests', 'tx_waits']);
    assert.equal(cat(root, 'gunyah/rm/clients/3/requests'), `${endpoint.rxStats.messages}\n`);
    assert.equal(cat(root, 'gunyah/rm/clients/3/pending_notifications'), `${endpoint.pendingNotifications}\n`);
    assert.equal(cat(root, 'gunyah/rm/clients/3/pending_reply'), '0\n');
  });
});

describe('sysfs VM nodes follow the VMs', () => {
  let dev: TestDevice;
  let root: DirNode;

  before(() => {
    dev = testDevice();
    root = buildSysfsTree(dev);
  });

  after(() => dev.close());

  test('a VM created after the tree was built appears; a deleted one disappears', async () => {
    assert.deepEqual(ls(root, 'gunyah/vms'), ['3', '255']);
    const vm = await createVm(dev, 'late', 'console-echo');
    assert.deepEqual(ls(root, 'gunyah/vms'), ['3', String(vm.vmid), '255']);
    assert.equal(cat(root, `gunyah/vms/${vm.vmid}/image`), 'console-echo\n');
    const queuesWithVm = ls(root, 'gunyah/msgqueues').length;
    const name = resolve(root, `gunyah/vms/${vm.vmid}/name`);
    assert.ok(!(await dev.hlos.deleteVm(vm.vmid) instanceof VmError));
    assert.deepEqual(ls(root, 'gunyah/vms'), ['3', '255']);
    assert.equal(errorOf(root, `gunyah/vms/${vm.vmid}`), 'ENOENT');
    assert.equal(ls(root, 'gunyah/msgqueues').length, queuesWithVm - 4, 'its RM link and vdevice queues went with it');
    assert.ok(!ls(root, 'gunyah/rm/clients').includes(String(vm.vmid)));
    // A node resolved before the deletion (an open handle, a cache entry) reads as an I/O error naming why.
    const gone = render(name as FileNode, 'name');
    assert.ok(isFsError(gone));
    assert.equal(gone.error, 'EIO');
    assert.match(gone.reason!, /VM \d+ no longer exists/);
  });

  test('control: stop, reset and start run the HLOS VM manager; the outcome reads back from control', async () => {
    const vm = await createVm(dev, 'ctl', 'idle');
    const path = `gunyah/vms/${vm.vmid}`;
    assert.equal(cat(root, `${path}/control`), 'none\n');
    const step = async (op: string, status: string) => {
      assert.equal(writePath(root, `${path}/control`, `${op}\n`), undefined);
      assert.equal(cat(root, `${path}/control`), `${op} pending\n`, 'the write returns before the RM answers');
      await eventually(() => cat(root, `${path}/control`) === `${op} ok\n`, 2000, `${op} to finish`);
      assert.equal(cat(root, `${path}/status`), `${status}\n`);
    };
    await step('stop', 'exited');
    await step('reset', 'reset');
    await step('start', 'running');
  });

  test('control refuses unknown words (EINVAL), a second write while one runs (EBUSY), and reports RM refusals', async () => {
    const vm = await createVm(dev, 'ctl2', 'idle');
    const control = `gunyah/vms/${vm.vmid}/control`;
    for (const bad of ['', 'Start', 'start now', 'halt\n', 'start\n\n']) {
      const err = writePath(root, control, bad);
      assert.equal(err?.error, 'EINVAL', JSON.stringify(bad));
      assert.match(err!.reason!, /start, stop, reset/);
    }
    assert.equal(writePath(root, control, 'stop'), undefined);
    assert.deepEqual(writePath(root, control, 'reset'), { error: 'EBUSY', reason: `stop of VM ${vm.vmid} is still in progress` });
    await eventually(() => cat(root, control) === 'stop ok\n', 2000, 'the stop');
    // Accepted by sysfs, refused by the VM manager: the reason shows in control, the status is unchanged.
    assert.equal(writePath(root, control, 'stop\n'), undefined);
    await eventually(() => cat(root, control) !== 'stop pending\n', 2000, 'the second stop to be answered');
    assert.match(cat(root, control), /^stop failed: VM \d+ is exited; this needs running or paused\n$/);
    assert.equal(cat(root, `gunyah/vms/${vm.vmid}/status`), 'exited\n');
  });
});
