// Faulty guests (issue 8, item 3) on a booted device behind the real app: a guest image that throws crashes its
// own VM only (os_status crashed, VM_EXITED with SOFTWARE_ERROR to its owner, status exited, its last console words
// kept), and the VM can be reset and started again; guests that never stop computing, awaiting only to let the
// scheduler preempt them, hold no one else up: the RM answers, a console-echo guest echoes, the API answers and
// timers fire on time (spec §6.1 scheduling; core/vm/scheduler.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { EXIT_TYPE } from '../../core/abi/rm.js';
import { VMID } from '../../core/abi/vmid.js';
import type { GuestCpu } from '../../core/guest/guest-cpu.js';
import { runImage } from '../../core/guests/images/common.js';
import { readParams, type ImageDefinition, type NoParams } from '../../core/guests/image-types.js';
import { BUILT_IN_IMAGES } from '../../core/guests/loader.js';
import { isRmFailure } from '../../core/hlos/rm-failure.js';
import { VmError } from '../../core/hlos/vm-manager.js';
import { eventually, testDevice, type TestDevice } from '../hlos/device-fixture.js';
import { restApp, type RestApp } from '../helpers/rest-app.js';

/** Boots, says its last words on its console, then throws: a guest bug. */
const crasher: ImageDefinition<NoParams> = {
  name: 'crasher',
  description: 'prints a line, then throws',
  params: (raw) => readParams<NoParams>(raw, {}),
  program: (ctx) => (cpu) => runImage(cpu, ctx, {
    async serve(g) {
      await g.print('about to fail\n');
      throw new Error('guest bug: null dereference');
    },
  }),
};

/** Computes forever in 2 ms bursts, awaiting a checkpoint between them (preemptible, never idle). */
const spinner: ImageDefinition<NoParams> = {
  name: 'spinner',
  description: 'busy forever, preemptible',
  params: (raw) => readParams<NoParams>(raw, {}),
  program: () => async (cpu: GuestCpu) => {
    for (;;) {
      const end = performance.now() + 2;
      while (performance.now() < end);
      await cpu.checkpoint();
    }
  },
};

let dev: TestDevice;
let rest: RestApp;
let app: FastifyInstance;
before(async () => {
  dev = testDevice({ images: new Map([...BUILT_IN_IMAGES, [crasher.name, crasher], [spinner.name, spinner]]) });
  rest = await restApp(dev);
  app = rest.app;
});
after(async () => {
  await rest.close();
  dev.close();
});

/** A VM created and started by the HLOS (the REST schema offers only the built-in images). */
async function create(name: string, image: string): Promise<{ vmid: number }> {
  const vm = await dev.hlos.createVm({ name, image, vcpus: 1 }, { start: true });
  assert.ok(!(vm instanceof VmError), `create ${name}: ${vm instanceof VmError ? vm.detail : ''}`);
  return vm;
}

/** Built-in images report os_status RUN once their console handlers are set up: input typed earlier is lost. */
const booted = (vmid: number) => eventually(() => dev.hlos.getVm(vmid)?.os_status === 'run', 5000, `VM ${vmid} booted`);
const view = async (vmid: number) => (await app.inject({ method: 'GET', url: `/v1/vms/${vmid}` })).json() as { status: string; os_status: string };

describe('faulty guests', () => {
  test('a guest that throws crashes its own VM: crashed, exited with SOFTWARE_ERROR; the device carries on and the VM restarts', async () => {
    const echo = await create('bystander', 'console-echo');
    await booted(echo.vmid);
    const exited = dev.next('vm-exited', () => true, 3000);
    const vm = await create('crashy', 'crasher');
    const e = await exited;
    assert.deepEqual([e.vmid, e.exitType], [vm.vmid, EXIT_TYPE.SOFTWARE_ERROR], 'VM_EXITED to the owner');
    await eventually(() => dev.hlos.getVm(vm.vmid)?.os_status === 'crashed', 2000, 'the HLOS learns the crash');
    const crashed = await view(vm.vmid);
    assert.deepEqual([crashed.status, crashed.os_status], ['exited', 'crashed'], 'GET /v1/vms/{vmid}');
    const log = await app.inject({ method: 'GET', url: `/v1/vms/${vm.vmid}/console/log` });
    assert.match(log.body, /about to fail/, 'its last words are kept');
    // Nobody else noticed: the bystander runs and echoes, the RM answers, the API answers.
    assert.equal((await view(echo.vmid)).status, 'running');
    const echoed = dev.next('console-output', (o) => o.vmid === echo.vmid && Buffer.from(o.bytes).toString().includes('still here'), 3000);
    assert.equal((await app.inject({ method: 'POST', url: `/v1/vms/${echo.vmid}/console`, payload: { data: 'still here\n' } })).statusCode, 200);
    await echoed;
    assert.ok(!isRmFailure(await dev.hlos.rm.vmGetState(VMID.SELF)));
    // The crashed VM is reset and started again (it crashes again: it is the same image).
    assert.equal((await app.inject({ method: 'POST', url: `/v1/vms/${vm.vmid}/reset` })).statusCode, 200);
    const again = dev.next('vm-exited', (x) => x.vmid === vm.vmid, 3000);
    assert.equal((await app.inject({ method: 'POST', url: `/v1/vms/${vm.vmid}/start` })).statusCode, 200);
    assert.equal((await again).exitType, EXIT_TYPE.SOFTWARE_ERROR);
  });

  test('guests that compute forever, awaiting only to be preempted, hold nobody up', async () => {
    const spinners = [await create('spin0', 'spinner'), await create('spin1', 'spinner')];
    const echo = await create('responsive', 'console-echo');
    await booted(echo.vmid);
    await eventually(() => dev.hyp.vms.get(spinners[1]!.vmid)!.vcpus[0]!.stats.runNs > 20e6, 3000, 'the spinners spinning');
    // Timers still fire, the API answers, the RM answers, and console-echo echoes. (A guest that held the thread
    // would hold it for ever; the bounds only leave room for a busy machine.)
    const timerStart = performance.now();
    await new Promise((r) => setTimeout(r, 20));
    const timerLate = performance.now() - timerStart - 20;
    assert.ok(timerLate < 500, `a 20 ms timer fired ${timerLate.toFixed(1)} ms late`);
    const apiStart = performance.now();
    assert.equal((await app.inject({ method: 'GET', url: '/v1/hypervisor' })).statusCode, 200);
    assert.ok(performance.now() - apiStart < 500, 'GET /v1/hypervisor within 500 ms');
    assert.ok(!isRmFailure(await dev.hlos.rm.vmGetState(VMID.SELF, { timeoutMs: 500 })), 'the RM answers within 500 ms');
    const echoed = dev.next('console-output', (o) => o.vmid === echo.vmid && Buffer.from(o.bytes).toString().includes('ping'), 2000);
    assert.equal((await app.inject({ method: 'POST', url: `/v1/vms/${echo.vmid}/console`, payload: { data: 'ping\n' } })).statusCode, 200);
    await echoed;
    // And they can be stopped like any VM.
    for (const s of spinners) assert.equal((await app.inject({ method: 'POST', url: `/v1/vms/${s.vmid}/stop` })).statusCode, 200);
    assert.deepEqual(await Promise.all(spinners.map(async (s) => (await view(s.vmid)).status)), ['exited', 'exited']);
  });
});
