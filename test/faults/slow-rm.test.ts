// A Resource Manager slowed down past the HLOS driver's deadline (issue 8, item 3). The RM handles the HLOS's
// requests late (RpcEndpoint.testDelayMs, a test-only hook); every REST call that needs the RM then answers
// 503 RM_TIMEOUT with Retry-After, each timeout is counted by the HLOS's RM client and shown by /metrics as
// gunyah_rm_rpc_timeouts_total, the late replies are ignored and counted (spec §9.2), and once the RM keeps up again
// the device works and the HLOS's view of the VMs catches up with the RM's.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { VMID } from '../../core/abi/vmid.js';
import { VmError } from '../../core/hlos/vm-manager.js';
import { eventually, testDevice, type TestDevice } from '../hlos/device-fixture.js';
import { restApp, type RestApp } from '../helpers/rest-app.js';

/** The HLOS driver's deadline here, and how late the slowed RM answers. */
const DEADLINE_MS = 150;
const RM_DELAY_MS = 400;

let dev: TestDevice;
let rest: RestApp;
let app: FastifyInstance;
let vmid: number;
before(async () => {
  dev = testDevice({ timeoutMs: DEADLINE_MS });
  const vm = await dev.hlos.createVm({ name: 'svm', image: 'console-echo' }, { start: true });
  assert.ok(!(vm instanceof VmError));
  vmid = vm.vmid;
  rest = await restApp(dev);
  app = rest.app;
});
after(async () => {
  await rest.close();
  dev.close();
});

/** gunyah_rm_rpc_timeouts_total{message} as scraped. */
async function scrapedTimeouts(message: string): Promise<number> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const m = new RegExp(`^gunyah_rm_rpc_timeouts_total\\{message="${message}"\\} (\\d+)`, 'm').exec(text);
  assert.ok(m !== null, `a gunyah_rm_rpc_timeouts_total series for ${message}`);
  return Number(m[1]);
}

test('RM calls past their deadline: 503 RM_TIMEOUT with Retry-After, counted by the driver and in /metrics; the device recovers', async () => {
  const endpoint = dev.system.rm.lookup(VMID.HLOS)!.endpoint!;
  const stats = dev.hlos.client.stats;
  const before = { write: stats.count('VM_CONSOLE_WRITE', 'timeout'), stop: stats.count('VM_STOP', 'timeout'), unmatched: stats.unmatchedReplies };
  endpoint.testDelayMs = RM_DELAY_MS;

  for (const [what, req] of [
    ['console input (VM_CONSOLE_WRITE)', { method: 'POST', url: `/v1/vms/${vmid}/console`, payload: { data: 'hello\n' } }],
    ['stop (VM_STOP)', { method: 'POST', url: `/v1/vms/${vmid}/stop` }],
  ] as const) {
    const started = performance.now();
    const res = await app.inject(req);
    const took = performance.now() - started;
    assert.equal(res.statusCode, 503, `${what}: ${res.body}`);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.equal(res.json().code, 'RM_TIMEOUT', what);
    assert.match(String(res.headers['retry-after']), /^[1-9][0-9]*$/, `${what}: Retry-After in seconds`);
    assert.ok(took >= DEADLINE_MS - 5 && took < RM_DELAY_MS, `${what}: answered at the deadline (${took.toFixed(0)} ms), not when the RM did`);
  }
  assert.equal(stats.count('VM_CONSOLE_WRITE', 'timeout') - before.write, 1, 'the driver counts the console write timeout');
  assert.equal(stats.count('VM_STOP', 'timeout') - before.stop, 1, 'and the stop timeout');
  assert.equal(await scrapedTimeouts('VM_CONSOLE_WRITE'), stats.count('VM_CONSOLE_WRITE', 'timeout'), '/metrics shows the driver\'s count');
  assert.equal(await scrapedTimeouts('VM_STOP'), stats.count('VM_STOP', 'timeout'));

  // The RM keeps up again. Its late replies are ignored and counted; the late VM_STOP did stop the VM, and the
  // HLOS learns it from the RM's notifications.
  endpoint.testDelayMs = 0;
  await eventually(() => stats.unmatchedReplies - before.unmatched === 2, RM_DELAY_MS * 3, 'both late replies arrived');
  await eventually(() => dev.hlos.getVm(vmid)?.status === 'exited', 1000, 'the HLOS\'s view catching up with the stopped VM');
  assert.equal((await app.inject({ method: 'GET', url: `/v1/vms/${vmid}` })).json().status, 'exited');
  assert.equal((await app.inject({ method: 'POST', url: `/v1/vms/${vmid}/reset` })).statusCode, 200, 'and the VM can be reset');
  assert.equal((await app.inject({ method: 'POST', url: `/v1/vms/${vmid}/start` })).statusCode, 200, 'and started again');
  assert.equal(dev.hlos.client.pendingCount, 0, 'no call left waiting');
});
