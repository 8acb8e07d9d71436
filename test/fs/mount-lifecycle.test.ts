// Mount lifecycle: where the tree is mounted by default, what happens without FUSE, stale mounts left by a crash,
// and unmounting on the way out (SIGTERM in mount.test.ts; here a crash, SIGKILL and in-process unmounts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { access, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  defaultMountDir, explainLoadFailure, fuseAvailability, INSTALL_FUSE, mountSysfs,
} from '../../fs/mount-lifecycle.js';
import { dir, file } from '../../fs/tree.js';
import { isMounted, sh, startDemoMount } from './demo-mount.js';
import { requireFuse } from './fuse-available.js';

let base = '';
before(async () => {
  base = await mkdtemp(join(tmpdir(), 'gunyah-lifecycle-test-'));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('without FUSE', () => {
  test('the default mount directory is under XDG_RUNTIME_DIR when there is one', () => {
    assert.equal(defaultMountDir({ XDG_RUNTIME_DIR: '/run/user/1000' }, 1000), '/run/user/1000/gunyah-emu/hypervisor');
  });

  test('without XDG_RUNTIME_DIR the default mount directory is a per-user folder in the temporary directory', () => {
    assert.equal(defaultMountDir({}, 0), join(tmpdir(), 'gunyah-emu-0', 'hypervisor'));
    assert.equal(defaultMountDir({}, 1000), join(tmpdir(), 'gunyah-emu-1000', 'hypervisor'));
  });

  test('a missing /dev/fuse is reported with what to install, not thrown', async () => {
    const result = await fuseAvailability({ device: join(base, 'no-fuse-device') });
    assert.equal(result.ok, false);
    assert.match((result as { reason: string }).reason, /no-fuse-device is not usable \(ENOENT\)/);
    assert.match((result as { remedy: string }).remedy, new RegExp(`^${INSTALL_FUSE}; modprobe fuse`));
  });

  test('a missing fusermount is reported with the package to install', async () => {
    const result = await fuseAvailability({ device: '/dev/null', env: { PATH: join(base, 'empty-bin') } });
    assert.deepEqual(result, { ok: false, reason: 'fusermount is not on PATH', remedy: INSTALL_FUSE });
  });

  test('a missing libfuse2 is explained with the apt-get line', () => {
    const explained = explainLoadFailure(new Error('libfuse.so.2: cannot open shared object file: No such file'));
    assert.equal(explained.remedy, 'apt-get install -y libfuse2 fuse');
    assert.match(explained.reason, /^libfuse2 is not installed/);
    assert.equal(explainLoadFailure(new Error("Cannot find module 'fuse-native'")).reason,
      'the optional package fuse-native is not installed');
  });

  test('mountSysfs without FUSE returns the reason and remedy and creates nothing', async () => {
    const target = join(base, 'never-created', 'hypervisor');
    const result = await mountSysfs(dir({}), target, { device: join(base, 'no-fuse-device') });
    assert.equal(result.ok, false);
    assert.match((result as { remedy: string }).remedy, /apt-get install -y libfuse2 fuse/);
    await assert.rejects(access(join(base, 'never-created')), { code: 'ENOENT' });
  });
});

describe('with FUSE', () => {
  test('a SIGKILLed server leaves a stale mount that the next mount cleans', async (t) => {
    if (!requireFuse(t)) return;
    const target = join(base, 'killed', 'hypervisor');
    const first = await startDemoMount(target);
    assert.equal(first.cleanedStale, false);
    await first.stop('SIGKILL');
    assert.equal(await isMounted(first.dir), true, 'SIGKILL cannot unmount');
    await assert.rejects(stat(first.dir), { code: 'ENOTCONN' });

    const second = await startDemoMount(target);
    assert.equal(second.cleanedStale, true);
    assert.equal((await sh('cat type', second.dir)).stdout, 'gunyah\n');
    assert.equal(await second.stop('SIGTERM'), 0);
    assert.equal(await isMounted(second.dir), false);
  });

  test('a mount still served by a live process is left alone and reported busy', async (t) => {
    if (!requireFuse(t)) return;
    const live = await startDemoMount(join(base, 'live', 'hypervisor'));
    try {
      const result = await mountSysfs(dir({}), live.dir);
      assert.equal(result.ok, false);
      assert.match((result as { reason: string }).reason, /is already served by a running FUSE process/);
      assert.equal((await sh('cat type', live.dir)).stdout, 'gunyah\n');
    } finally {
      await live.stop('SIGTERM');
    }
  });

  test('an uncaught exception unmounts before the process dies', async (t) => {
    if (!requireFuse(t)) return;
    const crashing = await startDemoMount(join(base, 'crash', 'hypervisor'));
    await crashing.send('crash');
    assert.equal(await crashing.exited, 1);
    assert.match(crashing.stderr(), /Error: crash requested on stdin/);
    assert.equal(await isMounted(crashing.dir), false);
  });

  test('an in-process mount creates missing folders, serves child processes and unmounts once', async (t) => {
    if (!requireFuse(t)) return;
    const result = await mountSysfs(dir({ type: file(() => 'gunyah\n') }), join(base, 'a', 'b', 'hypervisor'));
    assert.ok(result.ok, JSON.stringify(result));
    const { mount } = result;
    // Read only through a child process, and never start one with its cwd inside the mount: spawn waits for the
    // child's exec, and the child's chdir waits for this thread, which serves the mount.
    const read = await new Promise<string>((done) => execFile('cat', [join(mount.dir, 'type')], (_e, out) => done(out)));
    assert.equal(read, 'gunyah\n');
    await mount.unmount();
    await mount.unmount();
    assert.equal(mount.isMounted(), false);
    assert.equal(await isMounted(mount.dir), false);
  });

  test('a shutdown that never finishes is cut off at the limit: the mount is detached and the process exits 1', async (t) => {
    if (!requireFuse(t)) return;
    const stuck = await startDemoMount(join(base, 'stuck', 'hypervisor'), { args: ['--shutdown-hangs'] });
    const signalled = Date.now();
    assert.equal(await stuck.stop('SIGTERM'), 1);
    const took = Date.now() - signalled;
    assert.ok(took >= 1000 && took < 5000, `exited after ${took} ms with a 1000 ms limit`);
    assert.match(stuck.stderr(), /shutdown on SIGTERM did not finish within 1000 ms; detaching the mount and exiting/);
    assert.equal(await isMounted(stuck.dir), false);
  });

  test('a fusermount that never returns does not hold SIGTERM: the mount is detached with umount -l', async (t) => {
    if (!requireFuse(t)) return;
    // fuse-native unmounts with the first fusermount on PATH, with no time limit: this one sleeps past every limit.
    const bin = join(base, 'hanging-bin');
    await mkdir(bin);
    await writeFile(join(bin, 'fusermount'), '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
    const env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
    const held = await startDemoMount(join(base, 'held', 'hypervisor'), { env });
    assert.equal((await sh('cat type', held.dir)).stdout, 'gunyah\n');
    assert.equal(await held.stop('SIGTERM'), 0);
    assert.equal(await isMounted(held.dir), false);
    await sh(`pkill -f '^sleep 60$' || true`, '/');
  });

  test('process.exit() from anywhere still unmounts (synchronously, in the exit handler)', async (t) => {
    if (!requireFuse(t)) return;
    const leaving = await startDemoMount(join(base, 'exit', 'hypervisor'));
    await leaving.send('exit');
    assert.equal(await leaving.exited, 0);
    assert.equal(await isMounted(leaving.dir), false);
  });
});
