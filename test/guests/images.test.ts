import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GH_ERROR } from '../../core/abi/errors.js';
import { HYP_RESOURCE_TYPE } from '../../core/abi/rm.js';
import { hvc } from '../../core/hyp/call.js';
import { Hypervisor } from '../../core/hyp/hypervisor.js';
import { encodeImageHeader } from '../../core/guests/image-header.js';
import { PROMPT } from '../../core/guests/images/console-echo.js';
import { BUILT_IN_IMAGES, createImageLoader } from '../../core/guests/loader.js';
import type { VmView } from '../../core/hlos/hlos.js';
import { VmError } from '../../core/hlos/vm-manager.js';
import { eventually, testDevice, type TestDevice } from '../hlos/device-fixture.js';

const header = (name: string, params: Record<string, unknown> = {}) =>
  encodeImageHeader({ name, vcpus: 1, entryOffset: 0, params }, 0x10000) as Uint8Array;

test('the loader refuses bad headers, unknown images and bad parameters, naming why', () => {
  const hyp = new Hypervisor({ seed: 1 });
  const { vm } = hyp.createVm({ vmid: 0x80, name: 'vm', vcpus: 1 });
  const link = { txCapid: 1n, rxCapid: 2n, txVirq: 40, rxVirq: 41 };
  const loader = createImageLoader({ linkOf: () => link });
  const ipa = 0x8000_0000;
  assert.deepEqual(loader.vcpus(new Uint8Array(4096)), { reason: 'magic 0x0 is not 0x554d4547 ("GEMU")' });
  assert.equal(loader.vcpus(header('idle')), 1);
  assert.deepEqual(loader.load(vm, new Uint8Array(4096), ipa), { ok: false, reason: 'bad image header: magic 0x0 is not 0x554d4547 ("GEMU")' });
  const unknown = loader.load(vm, header('doom'), ipa);
  assert.equal(unknown.ok, false);
  assert.match((unknown as { reason: string }).reason, /^unknown image "doom" \(built in: idle, console-echo, msgq-echo, doorbell-ping, traffic\)$/);
  assert.deepEqual(loader.load(vm, header('traffic', { speed: 1 }), ipa), {
    ok: false, reason: 'image traffic: unknown parameter "speed" (known: rate, console_rate, bytes)',
  });
  assert.deepEqual(loader.load(vm, header('traffic', { rate: 'fast' }), ipa), { ok: false, reason: 'image traffic: parameter "rate" must be a number' });
  assert.equal(vm.programs.size, 0);
  assert.deepEqual(loader.load(vm, header('idle'), ipa), { ok: true, entry: 0x8000_0000n, name: 'idle' });
  assert.equal(vm.programs.has(0x8000_0000), true);
  assert.equal(vm.vic.isEdgeTriggered(40) && vm.vic.isEdgeTriggered(41), true, 'RM link lines are edge rising (spec §4.5)');
});

test('every built-in image is registered under its own name', () => {
  assert.deepEqual([...BUILT_IN_IMAGES.keys()], ['idle', 'console-echo', 'msgq-echo', 'doorbell-ping', 'traffic']);
});

async function boot(dev: TestDevice, image: string, params?: Record<string, unknown>): Promise<VmView> {
  const vm = await dev.hlos.createVm({ name: image, image, ...(params ? { params } : {}) });
  assert.ok(!(vm instanceof VmError), vm instanceof VmError ? vm.detail : '');
  await eventually(() => dev.hlos.getVm(vm.vmid)!.os_status === 'run', 2000, `${image} reaching os_status RUN`);
  return vm;
}

test('a guest reports os_status BOOT, then RUN, through VM_SET_STATUS', async (t) => {
  const dev = testDevice();
  t.after(() => dev.close());
  const seen: string[] = [];
  dev.hlos.events.on('vm-status', (v) => seen.push(v.os_status));
  await boot(dev, 'idle');
  assert.deepEqual(seen.filter((s, i) => s !== seen[i - 1]), ['none', 'boot', 'run']);
});

test('console-echo echoes lines split across writes, ending at CR, LF or CR LF', async (t) => {
  const dev = testDevice();
  t.after(() => dev.close());
  const vm = await boot(dev, 'console-echo');
  const type = (s: string) => dev.hlos.consoleWrite(vm.vmid, new TextEncoder().encode(s));
  const start = dev.consoleText(vm.vmid).length;
  await type('ab');
  await type('c\r\n');
  await type('d\nlast\r');
  await eventually(() => dev.consoleText(vm.vmid).endsWith(`last\r\n${PROMPT}`), 2000, 'three echoes');
  assert.equal(dev.consoleText(vm.vmid).slice(start), `abc\r\n${PROMPT}d\r\n${PROMPT}last\r\n${PROMPT}`);
});

/** The HLOS's end of a VM's vdevices, used through hypercalls on HLOS vCPU 0 with a buffer page of HLOS RAM. */
function hlosEnd(dev: TestDevice, vmid: number) {
  const resources = dev.hlos.vms.get(vmid)!.resources;
  const of = (type: number) => resources.find((r) => r.type === type)!;
  const vcpu = dev.system.hlos.vm.vcpus[0]!;
  const buffer = dev.hlos.memory.alloc(4096)!.base;
  const memory = dev.system.hlos.vm.memory;
  return {
    send(text: string) {
      const bytes = new TextEncoder().encode(text);
      memory.writeBytes(buffer, bytes);
      return hvc(vcpu, 'msgqueue_send', [of(HYP_RESOURCE_TYPE.MSG_QUEUE_SEND).capid, bytes.length, buffer, 1]).err;
    },
    receive(): string | number {
      const r = hvc(vcpu, 'msgqueue_receive', [of(HYP_RESOURCE_TYPE.MSG_QUEUE_RECV).capid, buffer, 240]);
      if (r.err !== GH_ERROR.OK) return r.err;
      return new TextDecoder().decode(memory.readBytes(buffer, Number(r.x[1])) as Uint8Array);
    },
    ring: (flags: bigint) => hvc(vcpu, 'doorbell_send', [of(HYP_RESOURCE_TYPE.DOORBELL_SRC).capid, flags]).err,
    take: () => hvc(vcpu, 'doorbell_receive', [of(HYP_RESOURCE_TYPE.DOORBELL).capid, 0xffff_ffff_ffff_ffffn]).x[1],
  };
}

test('msgq-echo sends back each message it receives on its queue pair, in order', async (t) => {
  const dev = testDevice();
  t.after(() => dev.close());
  const vm = await boot(dev, 'msgq-echo');
  const host = hlosEnd(dev, vm.vmid);
  for (const m of ['one', 'two', 'three']) assert.equal(host.send(m), GH_ERROR.OK);
  const echoed: string[] = [];
  await eventually(() => {
    for (let r = host.receive(); typeof r === 'string'; r = host.receive()) echoed.push(r);
    return echoed.length === 3;
  }, 2000, 'three echoes');
  assert.deepEqual(echoed, ['one', 'two', 'three']);
});

test('doorbell-ping answers a ring with the same flags', async (t) => {
  const dev = testDevice();
  t.after(() => dev.close());
  const vm = await boot(dev, 'doorbell-ping');
  const host = hlosEnd(dev, vm.vmid);
  assert.equal(host.ring(0b101n), GH_ERROR.OK);
  let flags = 0n;
  await eventually(() => (flags |= host.take()!) !== 0n, 2000, 'the answer');
  assert.equal(flags, 0b101n);
});

test('traffic keeps its rate: messages and rings reach the HLOS at about `rate` per second', async (t) => {
  const dev = testDevice();
  t.after(() => dev.close());
  const vm = await boot(dev, 'traffic', { rate: 200, console_rate: 4 });
  const sink = dev.hlos.trafficSinks.get(vm.vmid)!.counters;
  const before = sink.messages;
  const started = performance.now();
  await new Promise((r) => setTimeout(r, 500));
  const rate = ((sink.messages - before) * 1000) / (performance.now() - started);
  assert.ok(rate > 100 && rate < 260, `${rate.toFixed(0)} messages/s for rate 200`);
  assert.ok(sink.rings > 0);
  assert.match(dev.consoleText(vm.vmid), /traffic vm 128: \d+ messages, \d+ rings, queue full \d+ times\r\n/);
});
