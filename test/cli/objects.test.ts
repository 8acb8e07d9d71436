// gunyahctl caps, msgq, doorbell, hypercall and mem: acting as a VM through its capabilities and the raw ABI,
// against one running gunyahd with the default topology and a msgq-echo VM.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ctl, ctlEnv, startGunyahd, type Gunyahd } from './fixture.js';

let gunyahd: Gunyahd;
let env: NodeJS.ProcessEnv;
/** The HLOS's ends of its queue pair with the msgq-echo VM. */
let toEcho: string;
let fromEcho: string;
let echoVmid: number;

interface Msgq {
  capid: string;
  rights: string[];
  send_vmids: number[];
  receive_vmids: number[];
  counters: { sent: number; received: number };
}

before(async () => {
  gunyahd = await startGunyahd();
  env = ctlEnv({ GUNYAH_URL: gunyahd.url });
  const created = await ctl(['--json', 'vm', 'create', '--image', 'msgq-echo', 'echo'], env);
  assert.equal(created.code, 0, created.stderr);
  echoVmid = (JSON.parse(created.stdout) as { vmid: number }).vmid;
  const queues = JSON.parse((await ctl(['--json', 'msgq', 'ls', 'HLOS'], env)).stdout) as Msgq[];
  toEcho = queues.find((q) => q.rights.includes('send') && q.receive_vmids.includes(echoVmid))!.capid;
  fromEcho = queues.find((q) => q.rights.includes('receive') && q.send_vmids.includes(echoVmid))!.capid;
});
after(() => gunyahd.close());

test('hypercall runs hypervisor_identify as the VM: X0 is api_info 0x5100000000008001, by name or by function ID', async () => {
  const [byName, byId, native, json] = await Promise.all([
    ctl(['hypercall', 'svm1', 'hypervisor_identify'], env),
    ctl(['hypercall', '128', '0xc6008000'], env),
    ctl(['hypercall', 'svm1', '--native', 'hypervisor_identify'], env),
    ctl(['--json', 'hypercall', 'svm1', String(0xc6008000)], env),
  ]);
  assert.equal(byName.code, 0, byName.stderr);
  assert.match(byName.stdout, /^call: +hypervisor_identify$/m);
  assert.match(byName.stdout, /^x0 +0x5100000000008001 +api_info$/m);
  assert.match(byName.stdout, /^x1 +0x[0-9a-f]{16} +flags0$/m);
  assert.equal(byId.stdout, byName.stdout);
  assert.equal(native.stdout, byName.stdout);
  const result = JSON.parse(json.stdout) as { call: string; x: string[]; error: string | null };
  assert.equal(result.call, 'hypervisor_identify');
  assert.equal(result.x[0], '0x5100000000008001');
  assert.equal(result.error, null);
});

test('hypercall arguments are hex or decimal; the call\'s own error is the answer, not a failure', async () => {
  // doorbell_send on a capid the VM does not hold: the hypervisor answers with its error in X0.
  const r = await ctl(['hypercall', 'svm1', 'doorbell_send', '0x1234', '1', '0'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^error: +ERROR_(ARGUMENT_INVALID|CSPACE_CAP_NULL)$/m);
  const bad = await ctl(['hypercall', 'svm1', 'doorbell_send', 'x12'], env);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /value 'x12' is invalid for argument 'args'/);
});

test('caps lists a VM\'s capabilities with their types and what they point at', async () => {
  const r = await ctl(['caps', 'echo'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^CAPID +TYPE +STATE +OBJECT +TARGET +RIGHTS$/m);
  assert.match(r.stdout, new RegExp(`^0x[0-9a-f]{16} +msgqueue +active +\\d+ +.*-> .*\\b3\\b.* +send$`, 'm'));
  assert.match(r.stdout, /^0x[0-9a-f]{16} +msgqueue +active +\d+ +\S*\b3\b\S* -> .* +receive$/m);

  const one = await ctl(['caps', 'HLOS', toEcho], env);
  assert.equal(one.code, 0, one.stderr);
  assert.match(one.stdout, new RegExp(`^capid: +${toEcho}\ntype: +msgqueue\nrights: +send \\(0x00000001\\)\n`));
  const none = await ctl(['caps', 'HLOS', '0x99'], env);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /^gunyahctl: ERROR_ARGUMENT_INVALID: .*\n {2}field: \/params\/capid\n$/);
});

test('msgq send and recv: a round trip through the msgq-echo VM, text and binary', async () => {
  const sent = await ctl(['msgq', 'send', 'HLOS', toEcho, 'ping from gunyahctl'], env);
  assert.equal(sent.code, 0, sent.stderr);
  assert.equal(sent.stdout, 'sent 19 bytes\n');
  const echoed = await ctl(['msgq', 'recv', 'HLOS', fromEcho, '--timeout', '5000'], env);
  assert.equal(echoed.code, 0, echoed.stderr);
  assert.equal(echoed.stdout, 'ping from gunyahctl\n');

  // Bytes from standard input, not UTF-8: they come back in base64, and --json shows the API's answer.
  const binary = await ctl(['msgq', 'send', 'HLOS', toEcho], env, Buffer.from([0x00, 0xff, 0x41]));
  assert.equal(binary.stdout, 'sent 3 bytes\n');
  const back = await ctl(['--json', 'msgq', 'recv', 'HLOS', fromEcho, '--timeout', '5000'], env);
  assert.deepEqual(JSON.parse(back.stdout), { data: 'AP9B', encoding: 'base64', size: 3, not_empty: false });

  const b64 = await ctl(['msgq', 'send', 'HLOS', toEcho, '--base64', 'aGVsbG8='], env);
  assert.equal(b64.stdout, 'sent 5 bytes\n');
  const asB64 = await ctl(['msgq', 'recv', 'HLOS', fromEcho, '--timeout', '5000', '--base64'], env);
  assert.equal(asB64.stdout, 'aGVsbG8=\n');
});

test('msgq recv waits for a message that comes later; --nonblock on an empty queue is ERROR_MSGQUEUE_EMPTY (exit 1)', async () => {
  const waiting = ctl(['msgq', 'recv', 'HLOS', fromEcho], env);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await ctl(['msgq', 'send', 'HLOS', toEcho, 'late'], env);
  const got = await waiting;
  assert.equal(got.code, 0, got.stderr);
  assert.equal(got.stdout, 'late\n');

  const empty = await ctl(['msgq', 'recv', 'HLOS', fromEcho, '--nonblock'], env);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /^gunyahctl: ERROR_MSGQUEUE_EMPTY: .*\(HTTP 409/);
  const timedOut = await ctl(['msgq', 'recv', 'HLOS', fromEcho, '--timeout', '200'], env);
  assert.equal(timedOut.code, 1);
  assert.match(timedOut.stderr, /^gunyahctl: ERROR_MSGQUEUE_EMPTY: /);
});

test('msgq show and ls print the queue\'s fill and counters; an oversized message is ERROR_ARGUMENT_SIZE', async () => {
  const shown = await ctl(['msgq', 'show', 'HLOS', toEcho], env);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`^capid: +${toEcho}$`, 'm'));
  assert.match(shown.stdout, /^messages: +0 of \d+$/m);
  assert.match(shown.stdout, /^max message size: +240$/m);
  assert.match(shown.stdout, /^sent: +[1-9]\d* \(\d+ bytes\)$/m);
  const list = await ctl(['msgq', 'ls', 'HLOS'], env);
  assert.match(list.stdout, /^CAPID +RIGHTS +STATE +COUNT +DEPTH +MAX SIZE +ENDS +SENT +RECEIVED$/m);
  assert.match(list.stdout, new RegExp(`^${toEcho} +send +active `, 'm'));

  const big = await ctl(['msgq', 'send', 'HLOS', toEcho, 'x'.repeat(241)], env);
  assert.equal(big.code, 1);
  assert.match(big.stderr, /^gunyahctl: ERROR_ARGUMENT_SIZE: .*\(HTTP 413/);
});

test('doorbell ring sets flags that the receiving VM sees, recv clears them, mask sets the masks', async () => {
  const hlos = JSON.parse((await ctl(['--json', 'doorbell', 'ls', 'HLOS'], env)).stdout) as { capid: string; rights: string[]; receive_vmids: number[] }[];
  const ring = hlos.find((d) => d.rights.includes('send') && d.receive_vmids.includes(echoVmid))!.capid;
  const echo = JSON.parse((await ctl(['--json', 'doorbell', 'ls', 'echo'], env)).stdout) as { capid: string; rights: string[]; send_vmids: number[] }[];
  const bell = echo.find((d) => d.rights.includes('receive') && d.send_vmids.includes(3))!.capid;

  const masked = await ctl(['doorbell', 'mask', 'echo', bell, '--enable', '0', '--ack', '0'], env);
  assert.equal(masked.code, 0, masked.stderr);
  assert.match(masked.stdout, /^enable mask: +0x0000000000000000$/m);
  const rung = await ctl(['doorbell', 'ring', 'HLOS', ring, '0x5'], env);
  assert.equal(rung.code, 0, rung.stderr);
  assert.match(rung.stdout, /^rung; flags before: 0x[0-9a-f]{16}\n$/);
  const shown = await ctl(['doorbell', 'show', 'echo', bell], env);
  assert.match(shown.stdout, /^flags: +0x0000000000000005$/m);
  const received = await ctl(['doorbell', 'recv', 'echo', bell], env);
  assert.equal(received.stdout, '0x0000000000000005\n');
  const after = await ctl(['--json', 'doorbell', 'show', 'echo', bell], env);
  assert.equal((JSON.parse(after.stdout) as { flags: string }).flags, '0x0000000000000000');
});

test('mem write then mem read: the bytes land in the VM\'s memory at the IPA', async () => {
  const vm = JSON.parse((await ctl(['--json', 'vm', 'show', 'echo'], env)).stdout) as { memory: { base: string; size: string } };
  const ipa = `0x${(BigInt(vm.memory.base) + BigInt(vm.memory.size) / 2n).toString(16)}`;
  const wrote = await ctl(['mem', 'write', 'echo', ipa, 'gunyah bytes'], env);
  assert.equal(wrote.code, 0, wrote.stderr);
  assert.match(wrote.stdout, /^wrote 12 bytes at 0x[0-9a-f]{16}\n$/);
  const dump = await ctl(['mem', 'read', 'echo', ipa, '--length', '12'], env);
  assert.equal(dump.stdout, `${BigInt(ipa).toString(16).padStart(16, '0')}  67 75 6e 79 61 68 20 62  79 74 65 73              |gunyah bytes|\n`);
  const raw = await ctl(['mem', 'read', 'echo', ipa, '--length', '6', '--raw'], env);
  assert.equal(raw.stdout, 'gunyah');
  const hex = await ctl(['mem', 'write', 'echo', ipa, '--hex'], env, '4142\n');
  assert.equal(hex.code, 0, hex.stderr);
  const json = await ctl(['--json', 'mem', 'read', 'echo', ipa, '--length', '3'], env);
  assert.equal((JSON.parse(json.stdout) as { data: string }).data, Buffer.from('ABn').toString('base64'));

  const unmapped = await ctl(['mem', 'read', 'echo', '0x10'], env);
  assert.equal(unmapped.code, 1);
  assert.match(unmapped.stderr, /^gunyahctl: ERROR_ADDR_INVALID: /);
});
