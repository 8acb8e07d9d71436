// The tree model and its readers, without FUSE: what the mount and the HTTP mirror both serve.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  constant, dir, dynamicDir, file, invalid, readPath, resolve, rwFile, value, woFile, writePath,
  type DirNode, type Node,
} from '../../fs/tree.js';

function sampleTree(): { root: DirNode; vms: Map<string, string>; state: { level: number } } {
  const vms = new Map([['3', 'hlos'], ['128', 'svm1']]);
  const state = { level: 1 };
  const root = dir({
    type: file(() => 'gunyah\n'),
    version: dir({ api: value(() => 1), variant: value(() => 0x48n) }),
    gunyah: dir({
      vms: dynamicDir(() => vms.keys(), (vmid) => {
        const name = vms.get(vmid);
        return name === undefined ? undefined : dir({ name: value(() => name) });
      }),
    }),
    ctl: dir({
      level: rwFile(() => `${state.level}\n`, (text) => {
        if (!/^[0-9]\n?$/.test(text)) return invalid('one digit');
        state.level = Number(text.trim());
      }),
      reset: woFile(() => {
        state.level = 0;
      }),
    }),
  });
  return { root, vms, state };
}

test('builders give sysfs modes: file and constant 0444, rwFile 0644, woFile 0200', () => {
  assert.equal(file(() => '').mode, 0o444);
  assert.equal(constant('').mode, 0o444);
  assert.equal(value(() => 1).mode, 0o444);
  assert.equal(rwFile(() => '', () => {}).mode, 0o644);
  assert.equal(woFile(() => {}).mode, 0o200);
});

test('value() prints one decimal value and a newline', () => {
  const { root } = sampleTree();
  assert.deepEqual(readPath(root, '/version/api'), { kind: 'file', bytes: Buffer.from('1\n') });
  assert.deepEqual(readPath(root, '/version/variant'), { kind: 'file', bytes: Buffer.from('72\n') });
});

test('a constant reads as its text, the same bytes every time', () => {
  const root = dir({ type: constant('gunyah\n') });
  const first = readPath(root, 'type');
  assert.deepEqual(first, { kind: 'file', bytes: Buffer.from('gunyah\n') });
  assert.deepEqual(readPath(root, 'type'), first);
});

test('resolve finds static and dynamic nodes, with or without a leading slash', () => {
  const { root } = sampleTree();
  assert.equal((resolve(root, '/type') as Node).type, 'file');
  assert.equal(resolve(root, ''), root);
  assert.equal(resolve(root, '/'), root);
  assert.deepEqual(readPath(root, 'gunyah/vms/128/name'), { kind: 'file', bytes: Buffer.from('svm1\n') });
  assert.deepEqual(readPath(root, '/gunyah//vms/3/name/'), { kind: 'file', bytes: Buffer.from('hlos\n') });
});

test('resolve answers ENOENT for unknown names, dot and dot-dot, and ENOTDIR through a file', () => {
  const { root } = sampleTree();
  assert.equal((resolve(root, '/gunyah/vms/99') as { error: string }).error, 'ENOENT');
  assert.equal((resolve(root, '/gunyah/vms/../vms') as { error: string }).error, 'ENOENT');
  assert.equal((resolve(root, '/./type') as { error: string }).error, 'ENOENT');
  assert.equal((resolve(root, '/type/more') as { error: string }).error, 'ENOTDIR');
});

test('a dynamic directory follows live state', () => {
  const { root, vms } = sampleTree();
  vms.set('129', 'svm2');
  assert.deepEqual(readPath(root, '/gunyah/vms/129/name'), { kind: 'file', bytes: Buffer.from('svm2\n') });
  vms.delete('3');
  assert.equal(readPath(root, '/gunyah/vms/3/name').kind, 'error');
  assert.deepEqual(readPath(root, '/gunyah/vms'), {
    kind: 'dir',
    entries: [{ name: '128', type: 'dir', mode: 0o555 }, { name: '129', type: 'dir', mode: 0o555 }],
  });
});

test('readPath lists a directory with each entry type and mode, in the order given', () => {
  const { root } = sampleTree();
  assert.deepEqual(readPath(root, '/'), {
    kind: 'dir',
    entries: [
      { name: 'type', type: 'file', mode: 0o444 },
      { name: 'version', type: 'dir', mode: 0o555 },
      { name: 'gunyah', type: 'dir', mode: 0o555 },
      { name: 'ctl', type: 'dir', mode: 0o555 },
    ],
  });
  assert.deepEqual(readPath(root, '/ctl'), {
    kind: 'dir',
    entries: [{ name: 'level', type: 'file', mode: 0o644 }, { name: 'reset', type: 'file', mode: 0o200 }],
  });
});

test('readPath renders at read time, so a second read sees the new state', () => {
  const { root, state } = sampleTree();
  assert.deepEqual(readPath(root, '/ctl/level'), { kind: 'file', bytes: Buffer.from('1\n') });
  state.level = 8;
  assert.deepEqual(readPath(root, '/ctl/level'), { kind: 'file', bytes: Buffer.from('8\n') });
});

test('reading a write-only node is EACCES', () => {
  const { root } = sampleTree();
  assert.deepEqual(readPath(root, '/ctl/reset'), { kind: 'error', error: 'EACCES', reason: '/ctl/reset is write-only' });
});

test('a show() that throws is EIO with the reason, not an exception', () => {
  const root = dir({ broken: file(() => { throw new Error('no state'); }) });
  assert.deepEqual(readPath(root, '/broken'), {
    kind: 'error', error: 'EIO', reason: 'show of /broken failed: no state',
  });
});

test('a list() or lookup() that throws is EIO', () => {
  const badList = dir({ d: dynamicDir(() => { throw new Error('list failed'); }, () => undefined) });
  assert.deepEqual(readPath(badList, '/d'), { kind: 'error', error: 'EIO', reason: 'list of /d failed: list failed' });
  const badLookup = dir({ d: dynamicDir(() => ['x'], () => { throw new Error('lookup failed'); }) });
  assert.deepEqual(readPath(badLookup, '/d/x'), {
    kind: 'error', error: 'EIO', reason: 'lookup of /d/x failed: lookup failed',
  });
  // A listing whose child cannot be looked up fails as a whole rather than hiding the child.
  assert.equal((readPath(badLookup, '/d') as { error: string }).error, 'EIO');
});

test('a listed child that is gone by lookup time is left out of the listing', () => {
  const root = dir({ d: dynamicDir(() => ['here', 'gone'], (name) => (name === 'here' ? file(() => '1\n') : undefined)) });
  assert.deepEqual(readPath(root, '/d'), { kind: 'dir', entries: [{ name: 'here', type: 'file', mode: 0o444 }] });
});

test('writePath applies a valid value and refuses a bad one with EINVAL and the store reason', () => {
  const { root, state } = sampleTree();
  assert.equal(writePath(root, '/ctl/level', '7\n'), undefined);
  assert.equal(state.level, 7);
  assert.deepEqual(writePath(root, '/ctl/level', 'x\n'), { error: 'EINVAL', reason: 'one digit' });
  assert.equal(state.level, 7);
  assert.equal(writePath(root, '/ctl/reset', '1'), undefined);
  assert.equal(state.level, 0);
});

test('writePath refuses read-only nodes (EACCES), directories (EISDIR) and unknown paths (ENOENT)', () => {
  const { root } = sampleTree();
  assert.deepEqual(writePath(root, '/type', 'x'), { error: 'EACCES', reason: '/type is read-only' });
  assert.equal(writePath(root, '/ctl', 'x')?.error, 'EISDIR');
  assert.equal(writePath(root, '/nope', 'x')?.error, 'ENOENT');
});

test('a store() that throws is EIO with the reason', () => {
  const root = dir({ ctl: woFile(() => { throw new Error('core refused'); }) });
  assert.deepEqual(writePath(root, '/ctl', '1'), { error: 'EIO', reason: 'store of /ctl failed: core refused' });
});
