// The real sysfs tree of the default topology (RM, HLOS, svm1 console-echo, svm2 traffic) through a real FUSE
// mount, read and written by the tools people use on /sys. The device and its mount live in a child process
// (fixtures/mount-gunyah-tree.ts); everything here reads the mount from other child processes.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test, type TestContext } from 'node:test';
import { fsCode, isMounted, sh, type ShellResult } from './demo-mount.js';
import { fuse, requireFuse } from './fuse-available.js';

const execFileAsync = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('./fixtures/mount-gunyah-tree.js', import.meta.url));
const READY_TIMEOUT_MS = 15_000;
/** Longer than the fixture's own shutdown limit (SHUTDOWN_LIMIT_MS), which detaches and exits 1 when reached. */
const EXIT_TIMEOUT_MS = 20_000;

interface GunyahMount {
  readonly dir: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Sends one command line and resolves with the fixture's one-line answer. */
  command(line: string): Promise<string>;
}

function startGunyahMount(dir: string): Promise<GunyahMount> {
  // stderr is piped, not inherited: a fixture outliving this process must not hold the test runner's output open.
  const child = spawn(process.execPath, [FIXTURE, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const lines = createInterface({ input: child.stdout! });
  const answers: ((line: string) => void)[] = [];
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`fixture did not report ready within ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`fixture exited with ${code} before it was ready`));
    });
    lines.on('line', (line) => {
      const ready = /^ready (.+)$/.exec(line);
      if (ready !== null) {
        clearTimeout(timer);
        done({
          dir: ready[1]!,
          child,
          exited,
          command(command) {
            child.stdin!.write(`${command}\n`);
            return new Promise((answered) => answers.push(answered));
          },
        });
      } else if (line.startsWith('unavailable ')) {
        clearTimeout(timer);
        fail(new Error(line));
      } else {
        answers.shift()?.(line);
      }
    });
  });
}

/**
 * The fixture's exit code; past the limit, a failure that shows where the fixture and its children are waiting
 * (a CI run once waited here until the file's time-out).
 */
async function exitWithin(mount: GunyahMount, limitMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((done) => (timer = setTimeout(() => done('late'), limitMs)));
  const code = await Promise.race([mount.exited, late]);
  clearTimeout(timer);
  if (code !== 'late') return code;
  const pid = mount.child.pid!;
  const { stdout } = await sh(`ps -eo pid,ppid,stat,wchan:32,etimes,args --forest; `
    + `for t in /proc/${pid}/task/*; do echo "$t $(cut -d' ' -f3 $t/stat) $(cat $t/wchan)"; done`, '/');
  assert.fail(`the fixture did not exit within ${limitMs} ms of SIGTERM:\n${stdout}`);
}

describe('the Gunyah sysfs tree mounted with FUSE', () => {
  let base = '';
  let mount: GunyahMount | undefined;

  before(async () => {
    if (!fuse.ok) return;
    base = await mkdtemp(join(tmpdir(), 'gunyah-sysfs-test-'));
    mount = await startGunyahMount(join(base, 'hypervisor'));
  });

  after(async () => {
    if (mount !== undefined && mount.child.exitCode === null) {
      mount.child.kill('SIGKILL');
      await mount.exited;
      await sh(`fusermount -uz ${mount.dir} 2>/dev/null || true`, '/');
    }
    if (base !== '') await rm(base, { recursive: true, force: true });
  });

  function mounted(t: TestContext): GunyahMount | undefined {
    return requireFuse(t) ? mount : undefined;
  }

  function run(command: string): Promise<ShellResult> {
    return sh(command, mount!.dir);
  }

  /** The one msgqueue or doorbell whose sender and receiver are these VMIDs, found with grep through the mount. */
  async function between(area: 'msgqueues' | 'doorbells', sender: number, receiver: number): Promise<string> {
    const { stdout } = await run(`grep -H '' gunyah/${area}/*/sender_vmid gunyah/${area}/*/receiver_vmid`);
    const ends = new Map<string, { s?: string; r?: string }>();
    for (const line of stdout.trim().split('\n')) {
      const [, id, end, value] = /^gunyah\/\w+\/(\d+)\/(sender|receiver)_vmid:(.*)$/.exec(line)!;
      const e = ends.get(id!) ?? {};
      if (end === 'sender') e.s = value;
      else e.r = value;
      ends.set(id!, e);
    }
    const ids = [...ends].filter(([, e]) => e.s === String(sender) && e.r === String(receiver)).map(([id]) => id);
    assert.equal(ids.length, 1, `${area} from ${sender} to ${receiver}: ${ids.join(',')}`);
    return ids[0]!;
  }

  test('cat prints the seed nodes exactly', async (t) => {
    if (!mounted(t)) return;
    assert.equal((await run('cat type')).stdout, 'gunyah\n');
    assert.equal((await run('cat features')).stdout, 'cspace message-queue \n');
    assert.equal((await run('cat version/api version/variant')).stdout, '1\n81\n');
    assert.equal((await run('cat gunyah/api gunyah/variant gunyah/features')).stdout, '1\n81\ncspace message-queue \n');
  });

  test('cat prints the default topology VMs', async (t) => {
    if (!mounted(t)) return;
    assert.equal((await run('ls -U gunyah/vms')).stdout, '3\n128\n129\n255\n');
    assert.equal((await run('cd gunyah/vms/128 && cat name type status owner image')).stdout,
      'svm1\nsecondary\nrunning\n3\nconsole-echo\n');
    assert.equal((await run('cd gunyah/vms/129 && cat name image')).stdout, 'svm2\ntraffic\n');
    assert.equal((await run('cat gunyah/vms/129/vcpus/0/priority')).stdout, '32\n');
  });

  test('ls -l and stat show 0444 values, 0644 control, 0200 triggers and 0555 directories', async (t) => {
    if (!mounted(t)) return;
    const db = await between('doorbells', 3, 128);
    const q = await between('msgqueues', 3, 128);
    const { stdout } = await run(`stat -c "%a %n" gunyah/vms/128/name gunyah/vms/128/control gunyah/vms/128 `
      + `gunyah/vms/128/vcpus/0 gunyah/doorbells/${db}/send gunyah/doorbells/${db}/flags gunyah/msgqueues/${q}/flush`);
    assert.equal(stdout, [
      '444 gunyah/vms/128/name', '644 gunyah/vms/128/control', '555 gunyah/vms/128', '555 gunyah/vms/128/vcpus/0',
      `200 gunyah/doorbells/${db}/send`, `444 gunyah/doorbells/${db}/flags`, `200 gunyah/msgqueues/${q}/flush`, '',
    ].join('\n'));
    const ls = (await run('ls -l --time-style=+T gunyah/vms/128')).stdout.split('\n');
    assert.ok(ls.includes('-r--r--r-- 1 root root 4096 T name'), ls.join('\n'));
    assert.ok(ls.includes('-rw-r--r-- 1 root root 4096 T control'));
    assert.ok(ls.some((l) => /^dr-xr-xr-x \d+ root root +0 T vcpus$/.test(l)), ls.join('\n'));
  });

  test('grep -r over the whole tree prints one well-formed line per readable node', async (t) => {
    if (!mounted(t)) return;
    const files = (await run('find . -type f')).stdout.trim().split('\n');
    const { stdout, stderr, code } = await run("grep -r '' .");
    assert.equal(code, 2, 'the write-only triggers cannot be read');
    const unreadable = stderr.trim().split('\n');
    assert.ok(unreadable.length > 0);
    for (const line of unreadable) assert.match(line, /^grep: \.\/gunyah\/(doorbells\/\d+\/send|msgqueues\/\d+\/flush): Permission denied$/);
    const lines = stdout.trim().split('\n');
    const seen = new Set<string>();
    for (const line of lines) {
      const [, path, value] = /^(\.\/[^:]+):(.*)$/.exec(line) ?? assert.fail(`not path:value: ${line}`);
      assert.ok(!seen.has(path!), `${path} printed more than one line`);
      seen.add(path!);
      // One value per file, no stray whitespace; features alone ends in a space (the seed's format).
      if (!path!.endsWith('/features')) assert.match(value!, /^(\S(.*\S)?)?$/, path);
    }
    assert.ok(lines.length > 500, `${lines.length} nodes`);
    for (const f of files) assert.ok(seen.has(f) || unreadable.includes(`grep: ${f}: Permission denied`), `${f} not read`);
    assert.ok(lines.includes('./type:gunyah'));
    assert.ok(lines.includes('./features:cspace message-queue '));
    assert.ok(lines.includes('./gunyah/vms/129/name:svm2'));
    assert.ok(lines.includes('./gunyah/vms/255/type:rm'));
    assert.ok(lines.some((l) => /^\.\/gunyah\/hypercalls\/msgqueue_send\/OK:[1-9]\d*$/.test(l)));
    assert.ok(lines.some((l) => /^\.\/gunyah\/rm\/requests\/VM_START\/RM_OK:2$/.test(l)));
  });

  test('writing a read-only node is EACCES, even as root', async (t) => {
    if (!mounted(t)) return;
    assert.equal(process.getuid?.(), 0, 'these tests run as root, as on the CI machines');
    const { code, stderr } = await run('echo xen > type');
    assert.notEqual(code, 0);
    assert.match(stderr, /type: Permission denied/);
    assert.equal(await fsCode(mount!.dir, 'write', 'gunyah/vms/129/status', 'running\n'), 'EACCES');
    assert.equal(await fsCode(mount!.dir, 'write', 'gunyah/hypercalls/msgqueue_send/total', '0\n'), 'EACCES');
    assert.equal((await run('cat type')).stdout, 'gunyah\n');
  });

  test('a doorbell rings with echo; a bad value is EINVAL', async (t) => {
    if (!mounted(t)) return;
    const db = await between('doorbells', 3, 128);
    const before = Number((await run(`cat gunyah/doorbells/${db}/sends`)).stdout);
    assert.equal((await run(`echo 0x4 > gunyah/doorbells/${db}/send`)).code, 0);
    assert.equal((await run(`printf 8 > gunyah/doorbells/${db}/send`)).code, 0);
    assert.equal((await run(`cat gunyah/doorbells/${db}/sends`)).stdout, `${before + 2}\n`);
    // coreutils echo names the errno (the shell's builtin says only "I/O error").
    const bad = await run(`/bin/echo ring > gunyah/doorbells/${db}/send`);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Invalid argument/);
    assert.equal(await fsCode(mount!.dir, 'write', `gunyah/doorbells/${db}/send`, '0x10000000000000000'), 'EINVAL');
    assert.equal(await fsCode(mount!.dir, 'write', 'gunyah/vms/128/control', 'pause\n'), 'EINVAL');
    assert.equal(await fsCode(mount!.dir, 'read', `gunyah/doorbells/${db}/send`), 'EACCES');
    assert.equal((await run(`cat gunyah/doorbells/${db}/sends`)).stdout, `${before + 2}\n`);
  });

  test('a VM created during the test appears, is stopped through control, and disappears when deleted', async (t) => {
    if (!mounted(t)) return;
    const answer = await mount!.command('create svm3 idle');
    const vmid = /^ok (\d+)$/.exec(answer)?.[1] ?? assert.fail(answer);
    assert.equal((await run(`cat gunyah/vms/${vmid}/name gunyah/vms/${vmid}/image`)).stdout, 'svm3\nidle\n');
    assert.match((await run('ls -U gunyah/vms')).stdout, new RegExp(`^3\\n128\\n129\\n${vmid}\\n255\\n$`));

    assert.equal((await run(`echo stop > gunyah/vms/${vmid}/control`)).code, 0);
    let control = '';
    for (let i = 0; i < 100 && !/ok|failed/.test(control); i++) control = (await run(`cat gunyah/vms/${vmid}/control`)).stdout;
    assert.equal(control, 'stop ok\n');
    assert.equal((await run(`cat gunyah/vms/${vmid}/status`)).stdout, 'exited\n');

    assert.equal(await mount!.command(`delete ${vmid}`), `ok ${vmid}`);
    const removedAt = Date.now();
    while (Date.now() - removedAt < 2000 && (await run(`cat gunyah/vms/${vmid}/name`)).code === 0);
    assert.ok(Date.now() - removedAt < 1000, 'the deleted VM is gone within the cache timeout');
    assert.equal((await run('ls -U gunyah/vms')).stdout, '3\n128\n129\n255\n');
    assert.match((await run(`cat gunyah/vms/${vmid}/name`)).stderr, /No such file or directory/);
  });

  test('200 concurrent reads during traffic all return well-formed values', async (t) => {
    if (!mounted(t)) return;
    const q = await between('msgqueues', 129, 3);
    const db = await between('doorbells', 129, 3);
    const nodes = [
      `gunyah/msgqueues/${q}/sent`, `gunyah/msgqueues/${q}/bytes_sent`, `gunyah/doorbells/${db}/sends`,
      `gunyah/doorbells/${db}/flags`, 'gunyah/vms/129/vcpus/0/run_time_ns', 'gunyah/vms/129/vcpus/0/state',
      'gunyah/hypercalls/msgqueue_send/total', 'gunyah/rm/clients/129/requests',
    ];
    // One child with a large thread pool issues the 200 reads at once.
    const script = `
      const { readFile } = require('node:fs/promises');
      const nodes = ${JSON.stringify(nodes)};
      const names = Array.from({ length: 200 }, (_, i) => nodes[i % nodes.length]);
      Promise.all(names.map((n) => readFile(n, 'utf8').then((v) => [n, v])))
        .then((all) => console.log(JSON.stringify(all)));`;
    const first = Number((await run(`cat gunyah/msgqueues/${q}/sent`)).stdout);
    const { stdout } = await execFileAsync(process.execPath, ['-e', script], {
      cwd: mount!.dir,
      env: { ...process.env, UV_THREADPOOL_SIZE: '64' },
    });
    const reads = JSON.parse(stdout) as [string, string][];
    assert.equal(reads.length, 200);
    for (const [node, value] of reads) {
      if (node.endsWith('/flags')) assert.match(value, /^0x[0-9a-f]{16}\n$/, node);
      else if (node.endsWith('/state')) assert.match(value, /^(ready|running|expects_wakeup)\n$/, node);
      else assert.match(value, /^[1-9]\d*\n$/, node);
      if (node.endsWith('/bytes_sent')) assert.equal(Number(value) % 64, 0, 'traffic sends 64-byte messages');
    }
    // The traffic went on while we read.
    await new Promise((r) => setTimeout(r, 100));
    assert.ok(Number((await run(`cat gunyah/msgqueues/${q}/sent`)).stdout) > first);
  });

  test('SIGTERM closes the daemon and unmounts before the process exits 0', async (t) => {
    if (!mounted(t)) return;
    assert.equal(await isMounted(mount!.dir), true);
    mount!.child.kill('SIGTERM');
    assert.equal(await exitWithin(mount!, EXIT_TIMEOUT_MS), 0);
    assert.equal(await isMounted(mount!.dir), false);
  });
});
