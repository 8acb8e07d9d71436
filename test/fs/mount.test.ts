// The sysfs tree through a real FUSE mount, read by the tools people use on /sys: cat, ls, stat, find, grep, shell
// redirections. The mount lives in a child process (test/fs/demo-mount.ts); the demo tree is fixtures/demo-tree.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test, type TestContext } from 'node:test';
import { fsCode, isMounted, sh, startDemoMount, type DemoMount } from './demo-mount.js';
import { fuse, requireFuse } from './fuse-available.js';

const execFileAsync = promisify(execFile);

/** A whole value of the demo's stamp node: the same render number at both ends. */
function assertOneRender(stamp: string): void {
  assert.equal(stamp.length, 4019);
  assert.equal(stamp.slice(0, 8), stamp.slice(4010, 4018));
}

describe('sysfs tree mounted with FUSE', () => {
  let base = '';
  let demo: DemoMount | undefined;

  before(async () => {
    if (!fuse.ok) return;
    base = await mkdtemp(join(tmpdir(), 'gunyah-fs-test-'));
    demo = await startDemoMount(join(base, 'hypervisor'));
  });

  after(async () => {
    if (demo !== undefined && demo.child.exitCode === null) await demo.stop('SIGKILL');
    if (base !== '') await rm(base, { recursive: true, force: true });
  });

  /** The running mount, or undefined when the test was skipped for want of FUSE. */
  function mounted(t: TestContext): DemoMount | undefined {
    return requireFuse(t) ? demo : undefined;
  }

  async function run(t: TestContext, command: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return sh(command, mounted(t)!.dir);
  }

  test('cat prints each value exactly, newline included', async (t) => {
    if (!mounted(t)) return;
    assert.equal((await run(t, 'cat type')).stdout, 'gunyah\n');
    assert.equal((await run(t, 'cat version/api')).stdout, '1\n');
    assert.equal((await run(t, 'cat features')).stdout, 'cspace message-queue \n');
    assert.equal((await run(t, 'cat vms/3/name')).stdout, 'vm3\n');
  });

  test('a value longer than the 4096 bytes stat claims is read whole (direct_io)', async (t) => {
    if (!mounted(t)) return;
    const { stdout } = await run(t, 'cat long');
    assert.equal(stdout.length, 10241);
    assert.equal(stdout, `${'0123456789abcdef'.repeat(640)}\n`);
  });

  test('ls -l shows sysfs modes, root ownership, a page for live files and a constant\'s length', async (t) => {
    if (!mounted(t)) return;
    const { stdout } = await run(t, 'ls -l --time-style=+T ctl version');
    assert.equal(stdout, [
      'ctl:',
      'total 0',
      '--w------- 1 root root 4096 T kick',
      '-r--r--r-- 1 root root 4096 T kicks',
      '-rw-r--r-- 1 root root 4096 T level',
      '',
      'version:',
      'total 0',
      '-r--r--r-- 1 root root 2 T api',
      '',
    ].join('\n'));
  });

  test('stat reports 444 read-only, 644 read-write, 200 write-only and 555 directories', async (t) => {
    if (!mounted(t)) return;
    const { stdout } = await run(t, 'stat -c "%a %U:%G %s %n" type ctl/level ctl/kick ctl vms/3');
    assert.equal(stdout, '444 root:root 7 type\n644 root:root 4096 ctl/level\n200 root:root 4096 ctl/kick\n'
      + '555 root:root 0 ctl\n555 root:root 0 vms/3\n');
  });

  test('find walks the whole tree, dynamic directories included', async (t) => {
    if (!mounted(t)) return;
    const { stdout, code } = await run(t, 'find . | sort');
    assert.equal(code, 0);
    assert.equal(stdout, ['.', './broken', './ctl', './ctl/kick', './ctl/kicks', './ctl/level', './features',
      './long', './stamp', './type', './version', './version/api', './vms', './vms/3', './vms/3/name', ''].join('\n'));
  });

  test('grep -r reads every readable node and reports the unreadable ones', async (t) => {
    if (!mounted(t)) return;
    const { stdout, stderr, code } = await run(t, 'grep -r . type version ctl broken | sort');
    assert.equal(code, 0);
    assert.equal(stdout, 'ctl/kicks:0\nctl/level:5\ntype:gunyah\nversion/api:1\n');
    assert.match(stderr, /ctl\/kick: Permission denied/);
    assert.match(stderr, /broken: Input\/output error/);
  });

  test('writing to a read-only node fails with EACCES, even as root', async (t) => {
    if (!mounted(t)) return;
    const { code, stderr } = await run(t, 'echo x > type');
    assert.notEqual(code, 0);
    assert.match(stderr, /type: Permission denied/);
    assert.equal(await fsCode(mounted(t)!.dir, 'write', 'type', 'x\n'), 'EACCES');
    assert.equal((await run(t, 'cat type')).stdout, 'gunyah\n');
  });

  test('reading a write-only node fails with EACCES', async (t) => {
    if (!mounted(t)) return;
    const { code, stderr } = await run(t, 'cat ctl/kick');
    assert.equal(code, 1);
    assert.match(stderr, /ctl\/kick: Permission denied/);
    assert.equal(await fsCode(mounted(t)!.dir, 'read', 'ctl/kick'), 'EACCES');
  });

  test('an unknown path is ENOENT', async (t) => {
    if (!mounted(t)) return;
    const { code, stderr } = await run(t, 'cat vms/99/name');
    assert.equal(code, 1);
    assert.match(stderr, /vms\/99\/name: No such file or directory/);
    assert.equal(await fsCode(mounted(t)!.dir, 'read', 'vms/99/name'), 'ENOENT');
  });

  test('a node whose show() throws reads as EIO and the mount keeps serving', async (t) => {
    if (!mounted(t)) return;
    const { code, stderr } = await run(t, 'cat broken');
    assert.equal(code, 1);
    assert.match(stderr, /broken: Input\/output error/);
    assert.equal(await fsCode(mounted(t)!.dir, 'read', 'broken'), 'EIO');
    assert.equal((await run(t, 'cat type')).stdout, 'gunyah\n');
  });

  test('a writable node applies each valid write and refuses a bad value with EINVAL', async (t) => {
    if (!mounted(t)) return;
    assert.equal((await run(t, 'echo 7 > ctl/level && cat ctl/level')).stdout, '7\n');
    assert.equal((await run(t, 'printf 2 > ctl/level && cat ctl/level')).stdout, '2\n');
    assert.notEqual((await run(t, 'echo 77 > ctl/level')).code, 0);
    assert.equal(await fsCode(mounted(t)!.dir, 'write', 'ctl/level', 'seven\n'), 'EINVAL');
    assert.equal((await run(t, 'cat ctl/level')).stdout, '2\n');
    // One open, several write() calls: each is a store, as in sysfs.
    assert.equal((await run(t, 'exec 3>ctl/level; echo 4 >&3; cat ctl/level; echo 6 >&3; cat ctl/level')).stdout,
      '4\n6\n');
  });

  test('a write-only node takes writes', async (t) => {
    if (!mounted(t)) return;
    const before = Number((await run(t, 'cat ctl/kicks')).stdout);
    assert.equal((await run(t, 'echo 1 > ctl/kick && echo 1 > ctl/kick')).code, 0);
    assert.equal((await run(t, 'cat ctl/kicks')).stdout, `${before + 2}\n`);
  });

  test('the tree cannot be reshaped: create, mkdir, rm and chmod are refused', async (t) => {
    if (!mounted(t)) return;
    assert.match((await run(t, 'touch newfile')).stderr, /Permission denied/);
    assert.match((await run(t, 'echo x > newfile')).stderr, /Permission denied/);
    assert.match((await run(t, 'mkdir vms/200')).stderr, /Permission denied/);
    assert.match((await run(t, 'rm -f type')).stderr, /Permission denied/);
    assert.match((await run(t, 'chmod 666 type')).stderr, /Operation not permitted/);
  });

  test('one open is one snapshot: small reads never mix two renders, a new open renders afresh', async (t) => {
    if (!mounted(t)) return;
    const first = (await run(t, 'dd if=stamp bs=97 2>/dev/null')).stdout;
    const second = (await run(t, 'cat stamp')).stdout;
    for (const value of [first, second]) {
      assertOneRender(value);
    }
    assert.ok(Number(second.slice(0, 8)) > Number(first.slice(0, 8)));
  });

  test('a dynamic child appears and disappears within the 0.5 s cache timeout', async (t) => {
    const mount = mounted(t);
    if (!mount) return;
    await mount.send('add 131');
    const appeared = await run(t, 'cat vms/131/name');
    assert.equal(appeared.stdout, 'vm131\n', 'a new child is visible at once: failed lookups are never cached');
    assert.match((await run(t, 'ls vms')).stdout, /^131\n3\n$/);
    await mount.send('del 131');
    const removedAt = Date.now();
    // When each poll that still read the child started: a start after the 0.5 s of caches would break the promise.
    let lastSeen = 0;
    while (Date.now() - removedAt < 2000) {
      const startedAt = Date.now() - removedAt;
      if ((await run(t, 'cat vms/131/name')).code !== 0) break;
      lastSeen = startedAt;
    }
    assert.ok(Date.now() - removedAt < 2000, 'the removed child is still readable after 2 s');
    assert.ok(lastSeen <= 500, `the removed child was still readable by a cat started ${lastSeen} ms after removal`);
    assert.equal((await run(t, 'ls vms')).stdout, '3\n');
  });

  test('200 concurrent reads all return well-formed values', async (t) => {
    if (!mounted(t)) return;
    // One child with a large thread pool issues the 200 reads at once.
    const script = `
      const { readFile } = require('node:fs/promises');
      const names = Array.from({ length: 200 }, (_, i) => ['stamp', 'type', 'version/api', 'vms/3/name'][i % 4]);
      Promise.all(names.map((n) => readFile(n, 'utf8').then((v) => [n, v])))
        .then((all) => console.log(JSON.stringify(all)));`;
    const { stdout } = await execFileAsync(process.execPath, ['-e', script], {
      cwd: mounted(t)!.dir,
      env: { ...process.env, UV_THREADPOOL_SIZE: '64' },
    });
    const reads = JSON.parse(stdout) as [string, string][];
    assert.equal(reads.length, 200);
    const expected: Record<string, string> = { type: 'gunyah\n', 'version/api': '1\n', 'vms/3/name': 'vm3\n' };
    for (const [name, value] of reads) {
      if (name === 'stamp') {
        assertOneRender(value);
      } else {
        assert.equal(value, expected[name]);
      }
    }
  });

  test('SIGTERM unmounts before the process exits 0', async (t) => {
    const mount = mounted(t);
    if (!mount) return;
    assert.equal(await isMounted(mount.dir), true);
    assert.equal(await mount.stop('SIGTERM'), 0);
    assert.equal(await isMounted(mount.dir), false);
  });
});
