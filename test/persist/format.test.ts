import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeSnapshot, decodeState, encodeSnapshot, encodeState, PersistError, type SnapshotState, type VmDefinition,
} from '../../core/persist/format.js';

const vm = (over: Partial<VmDefinition> = {}): VmDefinition => ({
  vmid: 0x80, fixed_vmid: false, name: 'svm1', image: 'idle', vcpus: 1, memory: 1 << 20, params: {}, lifecycle: 'running', ...over,
});

const state: SnapshotState = {
  vms: [vm(), vm({ vmid: 5, fixed_vmid: true, name: 'fixed', image: 'traffic', params: { rate: 20 }, lifecycle: 'stopped' })],
  msgqs: [{
    vmid: 0x80, direction: 'vm-to-owner', label: 0, depth: 16, max_msg_size: 240,
    messages: [Buffer.from('seq 1').toString('base64'), Buffer.from('seq 2').toString('base64')],
    counters: { sent: 9, received: 7, bytes_sent: 45, bytes_received: 35, full_events: 0, full_rejects: 0, flushes: 0 },
  }],
  doorbells: [{
    vmid: 0x80, direction: 'owner-to-vm', label: 0, flags: '0x0000000000000005', enable_mask: '0xfffffffffffffffa',
    ack_mask: '0x0000000000000000', counters: { sends: 3, receives: 1, asserts: 0 },
  }],
  consoles: [{ vmid: 0x80, start: 100, end: 105, data: Buffer.from('hello').toString('base64'), bytes_out: 105, bytes_in: 2 }],
};

const refused = (r: unknown): PersistError => {
  assert.ok(r instanceof PersistError, `expected a refusal, got ${JSON.stringify(r)}`);
  return r;
};

test('a snapshot reads back exactly as written, with its format, version, time and digest', () => {
  const created = new Date('2025-01-02T03:04:05.678Z');
  const text = encodeSnapshot(state, created);
  const file = decodeSnapshot(text, 'snap.json');
  assert.ok(!(file instanceof PersistError), file instanceof PersistError ? file.message : '');
  assert.equal(file.format, 'gunyah-emu/snapshot');
  assert.equal(file.version, 1);
  assert.equal(file.created, '2025-01-02T03:04:05.678Z');
  assert.match(file.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(file.state, state);
});

test('the VM state file reads back exactly as written', () => {
  const file = decodeState(encodeState(state.vms), 'vms.json');
  assert.ok(!(file instanceof PersistError));
  assert.deepEqual(file.vms, state.vms);
});

test('a file that is not JSON, or cut short, is refused naming the file', () => {
  const text = encodeSnapshot(state);
  const cut = refused(decodeSnapshot(text.slice(0, text.length / 2), '/tmp/snap.json'));
  assert.match(cut.message, /^\/tmp\/snap\.json: not valid JSON .*: the file is cut short or is not a snapshot$/);
  assert.match(refused(decodeState('', 'vms.json')).message, /^vms\.json: not valid JSON/);
});

test('another format or another version is refused saying which', () => {
  const snap = JSON.parse(encodeSnapshot(state)) as Record<string, unknown>;
  assert.equal(refused(decodeSnapshot(encodeState(state.vms), 's.json')).message,
    's.json: format: must be "gunyah-emu/snapshot" (this is "gunyah-emu/vm-state")');
  assert.equal(refused(decodeSnapshot('{"hello":1}', 's.json')).message, 's.json: format: must be "gunyah-emu/snapshot" (this is not a gunyah-emu file)');
  assert.equal(refused(decodeSnapshot(JSON.stringify({ ...snap, version: 2 }), 's.json')).message,
    's.json: version: version 2 is not supported (this gunyahd reads version 1)');
});

test('a snapshot changed after it was written is refused as corrupt', () => {
  const edited = encodeSnapshot(state).replace('"received":7', '"received":8');
  assert.equal(refused(decodeSnapshot(edited, 's.json')).message, 's.json: sha256: does not match the state: the file was changed or is corrupt');
});

/** A snapshot whose state was changed by `edit`, with a digest that matches (a writer bug, not corruption). */
const resealed = (edit: (s: any) => void): string => {
  const copy = structuredClone(state) as any;
  edit(copy);
  return encodeSnapshot(copy);
};

test('a field out of range is refused naming its path', () => {
  const cases: [(s: any) => void, string][] = [
    [(s) => (s.vms[0].vcpus = 0), 'state.vms[0].vcpus: must be an integer from 1 to 64'],
    [(s) => (s.vms[0].vmid = 0x40), 'state.vms[0].vmid: must be an integer from 128 to 191'],
    [(s) => Object.assign(s.vms[1], { fixed_vmid: false, vmid: 0x80 }), 'state.vms[1].vmid: 128 is used twice'],
    [(s) => (s.vms[0].lifecycle = 'paused'), 'state.vms[0].lifecycle: must be one of running, stopped'],
    [(s) => (s.vms[0].memory = 1000), 'state.vms[0].memory: must be an integer from 4096 to 9007199254740991'],
    [(s) => (s.vms[0].colour = 'red'), 'state.vms[0].colour: unknown field (known: vmid, fixed_vmid, name, image, vcpus, memory, params, lifecycle)'],
    [(s) => delete s.msgqs[0].counters.flushes, 'state.msgqs[0].counters.flushes: is missing'],
    [(s) => (s.msgqs[0].vmid = 0x99), 'state.msgqs[0].vmid: names no VM of the snapshot (153)'],
    [(s) => (s.msgqs[0].messages = Array(17).fill('eA==')), 'state.msgqs[0].messages: holds 17 messages; the queue\'s depth is 16'],
    [(s) => (s.msgqs[0].messages[1] = 'not base64!'), 'state.msgqs[0].messages[1]: must be base64'],
    [(s) => (s.msgqs[0].messages[0] = ''), 'state.msgqs[0].messages[0]: is 0 bytes; a message is 1-240'],
    [(s) => s.msgqs.push(structuredClone(s.msgqs[0])), 'state.msgqs[1]: VM 128 vm-to-owner label 0 appears twice'],
    [(s) => (s.doorbells[0].flags = '5'), 'state.doorbells[0].flags: must be a 64-bit hex word like 0x00000000000000ff'],
    [(s) => (s.doorbells[0].direction = 'sideways'), 'state.doorbells[0].direction: must be one of vm-to-owner, owner-to-vm'],
    [(s) => (s.consoles[0].end = 104), 'state.consoles[0].data: holds 5 bytes; start 100 and end 104 say 4'],
    [(s) => (s.consoles[0].end = 99), 'state.consoles[0].end: must be an integer from 100 to 9007199254740991'],
  ];
  for (const [edit, message] of cases) assert.equal(refused(decodeSnapshot(resealed(edit), 's.json')).message, `s.json: ${message}`);
});
