// gunyahctl vm ... and the behaviour every command shares (VM names, --json, exit codes, the Unix socket, the
// token), against one running gunyahd.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ctl, ctlEnv, startGunyahd, type Gunyahd } from './fixture.js';

let gunyahd: Gunyahd;
let env: NodeJS.ProcessEnv;

before(async () => {
  gunyahd = await startGunyahd();
  env = ctlEnv({ GUNYAH_URL: gunyahd.url });
});
after(() => gunyahd.close());

interface Vm {
  vmid: number;
  name: string;
  type: string;
  status: string;
  image: string | null;
  vcpus: number;
}

test('vm ls prints the default topology as an aligned table: HLOS, svm1, svm2 and the RM', async () => {
  const r = await ctl(['vm', 'ls'], env);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^VMID +NAME +TYPE +STATUS +OS STATUS +IMAGE +VCPUS +MEMORY$/);
  const rows = lines.slice(1).map((l) => l.trim().split(/\s+/).slice(0, 3));
  assert.deepEqual(rows, [['3', 'HLOS', 'primary'], ['128', 'svm1', 'secondary'], ['129', 'svm2', 'secondary'], ['255', 'RM', 'rm']]);
  assert.match(r.stdout, /^ +128 +svm1 +secondary +running +\S+ +console-echo +1 /m);
  assert.match(r.stdout, /^ +129 +svm2 +secondary +running +\S+ +traffic +1 /m);
  // Columns line up: every row's NAME starts where the header's does.
  const nameAt = lines[0]!.indexOf('NAME');
  for (const line of lines.slice(1)) assert.match(line.slice(nameAt), /^(HLOS|svm1|svm2|RM) /);
});

test('--json prints the API\'s JSON as is', async () => {
  const r = await ctl(['vm', 'ls', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  const vms = JSON.parse(r.stdout) as Vm[];
  assert.deepEqual(vms.map((v) => [v.vmid, v.name, v.type, v.image]), [
    [3, 'HLOS', 'primary', null], [128, 'svm1', 'secondary', 'console-echo'], [129, 'svm2', 'secondary', 'traffic'], [255, 'RM', 'rm', null],
  ]);
  const shown = await ctl(['--json', 'vm', 'show', 'svm1'], env);
  assert.equal(shown.code, 0, shown.stderr);
  assert.deepEqual(JSON.parse(shown.stdout), vms[1]);
});

test('vm create, show, stop and rm: a round trip with exit code 0 at each step, then the VM is gone (exit 4)', async () => {
  const created = await ctl(['vm', 'create', '--image', 'idle', '--vcpus', '2', 'cli-rt'], env);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^name: +cli-rt$/m);
  assert.match(created.stdout, /^image: +idle$/m);
  assert.match(created.stdout, /^vcpus: +2$/m);
  const vmid = Number(/^vmid: +(\d+)$/m.exec(created.stdout)?.[1]);
  assert.ok(vmid >= 0x80 && vmid <= 0xbf, `a dynamic VMID, got ${vmid}`);

  const byName = await ctl(['vm', 'show', 'cli-rt'], env);
  const byVmid = await ctl(['vm', 'show', String(vmid)], env);
  const byHex = await ctl(['vm', 'show', `0x${vmid.toString(16)}`], env);
  assert.equal(byName.code, 0, byName.stderr);
  assert.equal(byVmid.stdout, byName.stdout);
  assert.equal(byHex.stdout, byName.stdout);
  assert.match(byName.stdout, /^type: +secondary$/m);

  const stopped = await ctl(['vm', 'stop', 'cli-rt'], env);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stdout, new RegExp(`^VM ${vmid} \\(cli-rt\\): exited`));

  const removed = await ctl(['vm', 'rm', 'cli-rt'], env);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(removed.stdout, `deleted VM ${vmid}\n`);

  const gone = await ctl(['vm', 'show', String(vmid)], env);
  assert.equal(gone.code, 4);
  assert.match(gone.stderr, /^gunyahctl: VM_NOT_FOUND: .*\(HTTP 404/);
  const goneByName = await ctl(['vm', 'show', 'cli-rt'], env);
  assert.equal(goneByName.code, 4);
  assert.equal(goneByName.stderr, 'gunyahctl: VM_NOT_FOUND: no VM named "cli-rt" (gunyahctl vm ls lists them)\n');
});

test('vm state prints the RM\'s answer to VM_GET_STATE as a table, or the API\'s JSON; the RM refuses to answer about itself', async () => {
  const [byName, json, rm, unknown] = await Promise.all([
    ctl(['vm', 'state', 'svm1'], env),
    ctl(['--json', 'vm', 'state', '128'], env),
    ctl(['vm', 'state', 'RM'], env),
    ctl(['vm', 'state', '77'], env),
  ]);
  assert.equal(byName.code, 0, byName.stderr);
  assert.match(byName.stdout, /^VMID +VM STATUS +OS STATUS +APP STATUS\n +128 +running \(3\) +[a-z_]+ \(\d\) +0\n$/);
  assert.equal(json.code, 0, json.stderr);
  const state = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(state), ['vmid', 'vm_status', 'vm_status_value', 'os_status', 'os_status_value', 'app_status']);
  assert.deepEqual([state.vmid, state.vm_status, state.vm_status_value, state.app_status], [128, 'running', 3, 0]);
  assert.equal(rm.code, 1);
  assert.match(rm.stderr, /^gunyahctl: RM_ERROR_DENIED: .*\(HTTP 403/);
  assert.equal(unknown.code, 4);
  assert.match(unknown.stderr, /^gunyahctl: VM_NOT_FOUND: /);
});

test('vm create --param passes the image\'s parameters; vm vcpus lists each vCPU with its hypercall count', async () => {
  const created = await ctl(['--json', 'vm', 'create', '--image', 'traffic', '--vcpus', '1', '--param', 'rate=20', '--param', 'console_rate=0', 'cli-traffic'], env);
  assert.equal(created.code, 0, created.stderr);
  assert.equal((JSON.parse(created.stdout) as Vm).image, 'traffic');
  const vcpus = await ctl(['vm', 'vcpus', 'svm2'], env);
  assert.equal(vcpus.code, 0, vcpus.stderr);
  assert.match(vcpus.stdout, /^VCPU +STATE +PRIORITY +TIMESLICE MS +AFFINITY +RUN TIME MS +WAKEUPS +HYPERCALLS\n +0 +[a-z_]+ +\d+ +[\d.]+ +(\d+|-) +\d+ +\d+ +[1-9]\d*\n$/);
  const badParam = await ctl(['vm', 'create', '--image', 'traffic', '--param', 'rate', 'x'], env);
  assert.equal(badParam.code, 2);
  assert.match(badParam.stderr, /'--param <key=value>' argument 'rate' is invalid/);
  assert.equal((await ctl(['vm', 'rm', 'cli-traffic'], env)).code, 0);
});

test('an unknown VM is exit code 4 with the problem code; a refused change is exit code 1 with its code', async () => {
  const [unknown, caps, refused, invalid] = await Promise.all([
    ctl(['vm', 'show', '77'], env),
    ctl(['caps', '77'], env),
    ctl(['vm', 'create', '--image', 'idle', 'x'.repeat(300)], env),
    ctl(['msgq', 'send', 'HLOS', '0x1234', 'hi'], env),
  ]);
  assert.equal(unknown.code, 4);
  assert.match(unknown.stderr, /^gunyahctl: VM_NOT_FOUND: /);
  assert.equal(unknown.stdout, '');
  assert.equal(caps.code, 4);
  assert.match(caps.stderr, /^gunyahctl: VM_NOT_FOUND: /);
  // Validation problems name the field at fault.
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^gunyahctl: VALIDATION_FAILED: .*\(HTTP 400: .*\)\n {2}field: \/body\/name\n$/);
  // A capid that does not decode in the VM's cspace: the hypervisor's own answer.
  assert.equal(invalid.code, 1);
  assert.match(invalid.stderr, /^gunyahctl: ERROR_ARGUMENT_INVALID: /);
});

test('the Unix socket serves every command, from --socket or GUNYAH_SOCKET; --url on the command line wins over GUNYAH_SOCKET', async () => {
  const tcp = await ctl(['vm', 'ls'], env);
  const [flag, fromEnv, urlWins] = await Promise.all([
    ctl(['--socket', gunyahd.socket, 'vm', 'ls'], ctlEnv()),
    ctl(['vm', 'ls'], ctlEnv({ GUNYAH_SOCKET: gunyahd.socket, GUNYAH_URL: 'http://127.0.0.1:1' })),
    ctl(['--url', gunyahd.url, 'vm', 'ls'], ctlEnv({ GUNYAH_SOCKET: '/nonexistent/gunyahd.sock' })),
  ]);
  for (const r of [flag, fromEnv, urlWins]) {
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n')[0], tcp.stdout.split('\n')[0]);
    assert.match(r.stdout, /^ +128 +svm1 /m);
  }
});

test('no daemon is exit code 3, naming where gunyahctl tried', async () => {
  const [tcp, unix] = await Promise.all([
    ctl(['--url', 'http://127.0.0.1:1', 'vm', 'ls'], ctlEnv()),
    ctl(['--socket', '/nonexistent/gunyahd.sock', 'vm', 'ls'], ctlEnv()),
  ]);
  assert.equal(tcp.code, 3);
  assert.match(tcp.stderr, /^gunyahctl: cannot connect to gunyahd at http:\/\/127\.0\.0\.1:1 /);
  assert.equal(unix.code, 3);
  assert.match(unix.stderr, /^gunyahctl: cannot connect to gunyahd at unix:\/nonexistent\/gunyahd\.sock \(ENOENT\)/);
});

test('usage errors are exit code 2', async () => {
  const runs = await Promise.all([
    ctl(['vm', 'create', 'no-image'], env),
    ctl(['vm', 'create', '--image', 'idle', '--vcpus', 'two', 'x'], env),
    ctl(['vm', 'frobnicate'], env),
    ctl(['--bogus', 'vm', 'ls'], env),
    ctl(['vm'], env),
    ctl(['msgq', 'recv', 'HLOS', '0x1', '--nonblock', '--timeout', '5'], env),
    ctl(['hypercall', 'HLOS', 'no_such_call'], env),
    ctl(['--url', 'not a url', 'vm', 'ls'], ctlEnv()),
  ]);
  for (const r of runs) assert.equal(r.code, 2, `${r.stderr}`);
  assert.match(runs[0]!.stderr, /required option '--image <image>' not specified/);
  assert.match(runs[1]!.stderr, /'--vcpus <n>' argument 'two' is invalid/);
  assert.match(runs[2]!.stderr, /unknown command 'frobnicate'/);
  assert.match(runs[5]!.stderr, /--nonblock and --timeout cannot be used together/);
  assert.match(runs[6]!.stderr, /"no_such_call" is not a hypercall name/);
  assert.match(runs[7]!.stderr, /--url "not a url" is not a URL/);
});
