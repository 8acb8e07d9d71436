import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { VmError } from '../../core/hlos/vm-manager.js';
import { openDaemonState, type DaemonState } from '../../core/persist/daemon-state.js';
import { PersistError } from '../../core/persist/format.js';
import { vmDefinitions } from '../../core/persist/vm-definitions.js';
import { memoryLog, persistDevice, tempDir, type PersistDevice } from './fixture.js';

const ok = <T>(r: T | VmError | PersistError): T => {
  assert.ok(!(r instanceof VmError) && !(r instanceof PersistError), (r as { message?: string }).message);
  return r as T;
};

async function open(dev: PersistDevice, stateDir: string, configured: () => Promise<void> = async () => {}): Promise<DaemonState> {
  return ok(await openDaemonState(dev.target, { stateDir, restoreFile: null, createConfigured: configured, log: memoryLog() }));
}

const recorded = (dir: string) => JSON.parse(readFileSync(join(dir, 'vms.json'), 'utf8')) as { format: string; version: number; vms: { name: string }[] };

test('with a state directory, the VMs come back after a restart: names, images, parameters, VMIDs and lifecycle', async () => {
  const dir = tempDir();
  const a = persistDevice();
  const hlos = a.device.hlos;
  const state = await open(a, dir, async () => void ok(await hlos.createVm({ name: 'cfg1', image: 'idle' })));
  assert.equal(state.source, 'config');
  ok(await hlos.createVm({ name: 'echo', image: 'console-echo', vcpus: 2 }));
  const gone = ok(await hlos.createVm({ name: 'gone', image: 'idle' }));
  ok(await hlos.createVm({ name: 'load', image: 'traffic', params: { rate: 5, bytes: 16 }, memory: 512 << 10 }));
  ok(await hlos.createVm({ name: 'parked', image: 'idle' }, { start: false }));
  ok(await hlos.createVm({ name: 'fixed', image: 'msgq-echo', vmid: 7 }));
  ok(await hlos.deleteVm(gone.vmid)); // leaves a gap in the dynamic VMIDs
  ok(await hlos.stopVm(0x81)); // echo: stopped (exited)
  await state.close();
  const before = vmDefinitions(hlos);
  a.close();
  assert.deepEqual(before.map((d) => [d.vmid, d.name, d.lifecycle]), [
    [7, 'fixed', 'running'], [0x80, 'cfg1', 'running'], [0x81, 'echo', 'stopped'], [0x83, 'load', 'running'], [0x84, 'parked', 'stopped'],
  ]);
  assert.deepEqual(recorded(dir).vms.map((v) => v.name), ['fixed', 'cfg1', 'echo', 'load', 'parked']);

  const b = persistDevice();
  const again = await open(b, dir, async () => assert.fail('the configuration is not used once the directory holds a record'));
  assert.equal(again.source, 'state-dir');
  assert.deepEqual(vmDefinitions(b.device.hlos), before);
  const status = Object.fromEntries(b.device.hlos.listVms().map((v) => [v.name, v.status]));
  assert.deepEqual(status, { fixed: 'running', cfg1: 'running', echo: 'load', load: 'running', parked: 'load', RM: 'running', HLOS: 'running' });
  assert.equal(b.device.system.rm.lookup(gone.vmid), undefined, 'the placeholder that kept the gap is gone');
  await again.close();
  b.close();
});

test('the record follows every change, written atomically, and a deleted configured VM stays deleted', async () => {
  const dir = tempDir();
  const a = persistDevice();
  const hlos = a.device.hlos;
  const state = await open(a, dir, async () => void ok(await hlos.createVm({ name: 'cfg1', image: 'idle' })));
  await state.recorder!.flush();
  assert.deepEqual(recorded(dir).vms.map((v) => v.name), ['cfg1']);
  const extra = ok(await hlos.createVm({ name: 'extra', image: 'idle' }));
  await state.recorder!.flush();
  assert.deepEqual(recorded(dir).vms.map((v) => v.name), ['cfg1', 'extra']);
  ok(await hlos.deleteVm(0x80));
  ok(await hlos.stopVm(extra.vmid));
  await state.close();
  const file = recorded(dir);
  assert.equal(file.format, 'gunyah-emu/vm-state');
  assert.equal(file.version, 1);
  assert.deepEqual(file.vms, [{ vmid: extra.vmid, fixed_vmid: false, name: 'extra', image: 'idle', vcpus: 1, memory: 1 << 20, params: {}, lifecycle: 'stopped' }]);
  assert.deepEqual(readdirSync(dir), ['vms.json'], 'no temporary file is left behind');
  a.close();

  const b = persistDevice();
  const again = await open(b, dir, async () => assert.fail('not the configuration'));
  assert.deepEqual(b.device.hlos.listVms().filter((v) => v.type === 'secondary').map((v) => [v.vmid, v.name, v.status]), [[extra.vmid, 'extra', 'load']]);
  await again.close();
  b.close();
});

test('a state directory without a record starts from the configuration and records it', async () => {
  const dir = join(tempDir(), 'new', 'state');
  const a = persistDevice();
  const state = await open(a, dir, async () => void ok(await a.device.hlos.createVm({ name: 'cfg1', image: 'idle' })));
  assert.equal(state.source, 'config');
  await state.close();
  assert.deepEqual(recorded(dir).vms.map((v) => v.name), ['cfg1']);
  a.close();
});

test('a bad record fails the start naming the file and the field, and is left as it is', async () => {
  const dir = tempDir();
  const text = '{"format":"gunyah-emu/vm-state","version":1,"vms":[{"vmid":128,"fixed_vmid":false,"name":"x","image":"idle","vcpus":0,"memory":4096,"params":{},"lifecycle":"running"}]}';
  writeFileSync(join(dir, 'vms.json'), text);
  const a = persistDevice();
  const r = await openDaemonState(a.target, { stateDir: dir, restoreFile: null, createConfigured: async () => assert.fail(), log: memoryLog() });
  assert.ok(r instanceof PersistError);
  assert.equal(r.message, `${join(dir, 'vms.json')}: vms[0].vcpus: must be an integer from 1 to 64`);
  assert.equal(readFileSync(join(dir, 'vms.json'), 'utf8'), text);
  a.close();
});

test('a recorded VM that cannot be created again fails the start naming it', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'vms.json'), JSON.stringify({
    format: 'gunyah-emu/vm-state', version: 1,
    vms: [{ vmid: 128, fixed_vmid: false, name: 'x', image: 'no-such-image', vcpus: 1, memory: 1 << 20, params: {}, lifecycle: 'running' }],
  }));
  const a = persistDevice();
  const r = await openDaemonState(a.target, { stateDir: dir, restoreFile: null, createConfigured: async () => assert.fail(), log: memoryLog() });
  assert.ok(r instanceof PersistError);
  assert.match(r.message, /vms\.json: vms\[0\]: VM x \(image no-such-image\) could not be recreated: /);
  a.close();
});
