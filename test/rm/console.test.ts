import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RM_MSG, RM_NOTIF, rmErrorName } from '../../core/abi/rm.js';
import { VMID } from '../../core/abi/vmid.js';
import { VmConsoleCharsNotification, VmConsoleWriteRequest, VmidRequest } from '../../core/rm/messages.js';
import { boot, createGuest, payload, settle, type RawClient } from './harness.js';

const text = (s: string) => new TextEncoder().encode(s);
const vmidReq = (vmid: number) => payload(VmidRequest, { vmid });
const write = (vmid: number, s: string) => payload(VmConsoleWriteRequest, { vmid, bytes: text(s) });

async function expectOk(client: RawClient, msgId: number, body: Uint8Array) {
  const r = await client.call(msgId, body);
  assert.equal(rmErrorName(r.rmError), 'RM_OK');
}

async function chars(client: RawClient) {
  await settle();
  return client.takeNotifications(RM_NOTIF.VM_CONSOLE_CHARS).map((n) => {
    const v = VmConsoleCharsNotification.decode(n.payload) as { vmid: number; bytes: Uint8Array };
    return { vmid: v.vmid, text: new TextDecoder().decode(v.bytes) };
  });
}

async function bothEnds() {
  const b = boot();
  const g = await createGuest(b);
  const guest = g.rpc!;
  await expectOk(guest, RM_MSG.VM_CONSOLE_OPEN, vmidReq(0)); // self end
  await expectOk(b.hlos, RM_MSG.VM_CONSOLE_OPEN, vmidReq(g.vmid)); // owner end
  return { b, g, guest };
}

test("a VM's writes to its own console reach the owner with the VM's VMID; the owner's reach the VM with vmid 0", async () => {
  const { b, g, guest } = await bothEnds();
  await expectOk(guest, RM_MSG.VM_CONSOLE_WRITE, write(0, 'boot banner\n'));
  assert.deepEqual(await chars(b.hlos), [{ vmid: g.vmid, text: 'boot banner\n' }]);
  await expectOk(b.hlos, RM_MSG.VM_CONSOLE_WRITE, write(g.vmid, 'ls\n'));
  assert.deepEqual(await chars(guest), [{ vmid: 0, text: 'ls\n' }]);
  const cons = b.rm.lookup(g.vmid)!.console;
  assert.deepEqual([cons.bytesOut, cons.bytesIn, cons.bytesDropped], [12, 3, 0]);
});

test('writes while the other end is closed are dropped silently: OK to the writer, counted', async () => {
  const b = boot();
  const g = await createGuest(b);
  await expectOk(g.rpc!, RM_MSG.VM_CONSOLE_OPEN, vmidReq(0));
  await expectOk(g.rpc!, RM_MSG.VM_CONSOLE_WRITE, write(0, 'nobody listens'));
  assert.deepEqual(await chars(b.hlos), []);
  await expectOk(b.hlos, RM_MSG.VM_CONSOLE_OPEN, vmidReq(g.vmid));
  await expectOk(g.rpc!, RM_MSG.VM_CONSOLE_CLOSE, vmidReq(0));
  await expectOk(b.hlos, RM_MSG.VM_CONSOLE_WRITE, write(g.vmid, 'hello?'));
  assert.deepEqual(await chars(g.rpc!), []);
  assert.equal(b.rm.lookup(g.vmid)!.console.bytesDropped, 14 + 6);
});

test("the writer's own end must be open: DENIED otherwise (and FLUSH checks the same)", async () => {
  const b = boot();
  const g = await createGuest(b);
  await expectOk(b.hlos, RM_MSG.VM_CONSOLE_OPEN, vmidReq(g.vmid));
  const r = await g.rpc!.call(RM_MSG.VM_CONSOLE_WRITE, write(0, 'x'));
  assert.equal(rmErrorName(r.rmError), 'RM_ERROR_DENIED');
  assert.equal(rmErrorName((await g.rpc!.call(RM_MSG.VM_CONSOLE_FLUSH, vmidReq(0))).rmError), 'RM_ERROR_DENIED');
  await expectOk(b.hlos, RM_MSG.VM_CONSOLE_FLUSH, vmidReq(g.vmid));
});

test('only the owner opens the owner end; unknown VMs have no console; lengths are checked', async () => {
  const { b, g, guest } = await bothEnds();
  const other = await createGuest(b);
  assert.equal(rmErrorName((await guest.call(RM_MSG.VM_CONSOLE_OPEN, vmidReq(other.vmid))).rmError), 'RM_ERROR_DENIED');
  assert.equal(rmErrorName((await guest.call(RM_MSG.VM_CONSOLE_OPEN, vmidReq(g.vmid))).rmError), 'RM_ERROR_DENIED',
    'a VM names its own console with vmid 0; by VMID it would be the owner end');
  assert.equal(rmErrorName((await guest.call(RM_MSG.VM_CONSOLE_OPEN, vmidReq(VMID.HLOS))).rmError), 'RM_ERROR_DENIED');
  assert.equal(rmErrorName((await b.hlos.call(RM_MSG.VM_CONSOLE_OPEN, vmidReq(0x9a))).rmError), 'RM_ERROR_ARGUMENT_INVALID');
  assert.equal(rmErrorName((await b.hlos.call(RM_MSG.VM_CONSOLE_OPEN, vmidReq(VMID.RM))).rmError), 'RM_ERROR_ARGUMENT_INVALID');
  assert.equal(rmErrorName((await b.hlos.call(RM_MSG.VM_CONSOLE_OPEN, Uint8Array.of(0x80))).rmError), 'RM_ERROR_MSG_INVALID');
  const short = Uint8Array.of(0, 0, 5, 0, 0x41); // num_bytes 5, one byte follows
  assert.equal(rmErrorName((await guest.call(RM_MSG.VM_CONSOLE_WRITE, short)).rmError), 'RM_ERROR_MSG_INVALID');
});

test('the HLOS owns its own console: what it writes to itself comes back (the Linux ttyGH0/ttyGH1 loop-back)', async () => {
  const b = boot();
  await expectOk(b.hlos, RM_MSG.VM_CONSOLE_OPEN, vmidReq(0));
  await expectOk(b.hlos, RM_MSG.VM_CONSOLE_OPEN, vmidReq(VMID.HLOS));
  await expectOk(b.hlos, RM_MSG.VM_CONSOLE_WRITE, write(0, 'to myself'));
  await expectOk(b.hlos, RM_MSG.VM_CONSOLE_WRITE, write(VMID.HLOS, 'back'));
  assert.deepEqual(await chars(b.hlos), [{ vmid: VMID.HLOS, text: 'to myself' }, { vmid: 0, text: 'back' }]);
});

test('a console write as large as an RPC message is fragmented both ways', async () => {
  const { b, g, guest } = await bothEnds();
  const big = 'x'.repeat(14612); // 14616 - 4 header bytes: the RPC maximum
  await expectOk(guest, RM_MSG.VM_CONSOLE_WRITE, write(0, big));
  for (let i = 0; i < 20; i++) await settle();
  assert.deepEqual(await chars(b.hlos), [{ vmid: g.vmid, text: big }]);
});

test('console open and close are events for the control plane; a reset closes both ends', async () => {
  const b = boot();
  const seen: string[] = [];
  b.rm.events.on('console-open', (e) => seen.push(`open ${e.vmid} ${e.end}`));
  b.rm.events.on('console-close', (e) => seen.push(`close ${e.vmid} ${e.end}`));
  const g = await createGuest(b);
  await expectOk(g.rpc!, RM_MSG.VM_CONSOLE_OPEN, vmidReq(0));
  await expectOk(b.hlos, RM_MSG.VM_CONSOLE_OPEN, vmidReq(g.vmid));
  await expectOk(b.hlos, RM_MSG.VM_CONSOLE_OPEN, vmidReq(g.vmid)); // already open: no second event
  await expectOk(b.hlos, RM_MSG.VM_RESET, vmidReq(g.vmid));
  await settle();
  assert.deepEqual(seen, [`open ${g.vmid} self`, `open ${g.vmid} owner`, `close ${g.vmid} self`, `close ${g.vmid} owner`]);
});
