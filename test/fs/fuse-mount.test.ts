// The FUSE operations called directly, as fuse-native would call them: errno mapping, per-open snapshots, sysfs
// write semantics, and the promise that every operation answers exactly once.
import assert from 'node:assert/strict';
import { constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import { test } from 'node:test';
import { fuseOps, type Fault, type FuseOps } from '../../fs/fuse-mount.js';
import { constant, dir, dynamicDir, file, invalid, rwFile, value, woFile, type FileNode } from '../../fs/tree.js';

const E = constants.errno;
const O_RDONLY = 0;
const O_WRONLY = 1;
const O_RDWR = 2;
const O_TRUNC = 0o1000;

/** Calls one operation and returns what it answered, checking that it answered exactly once. */
function call<K extends keyof FuseOps>(ops: FuseOps, op: K, ...args: unknown[]): unknown[] {
  const answers: unknown[][] = [];
  (ops[op] as (...a: unknown[]) => void)(...args, (...result: unknown[]) => answers.push(result));
  assert.equal(answers.length, 1, `${op} answered ${answers.length} times`);
  return answers[0]!;
}

function demo() {
  const vms = new Set(['3']);
  const state = { level: 5, kicks: 0, renders: 0 };
  const faults: Fault[] = [];
  let clock = 1_000;
  const root = dir({
    type: file(() => 'gunyah\n'),
    api: constant('1\n'),
    stamp: file(() => `${++state.renders}\n`),
    broken: file(() => { throw new Error('boom'); }),
    vms: dynamicDir(() => vms, (name) => (vms.has(name) ? dir({ name: value(() => `vm${name}`) }) : undefined)),
    level: rwFile(() => `${state.level}\n`, (text) => {
      if (!/^[0-9]\n?$/.test(text)) return invalid('one digit');
      state.level = Number(text.trim());
    }),
    kick: woFile(() => { state.kicks += 1; }),
    jam: woFile(() => { throw new Error('jammed'); }),
  });
  const ops = fuseOps(root, { nodeCacheMs: 100, onFault: (f) => faults.push(f), now: () => clock });
  return { ops, vms, state, faults, advance: (ms: number) => { clock += ms; } };
}

function readAll(ops: FuseOps, fh: number, chunk = 4096): string {
  let text = '';
  for (let pos = 0; ; ) {
    const buf = Buffer.alloc(chunk);
    const [n] = call(ops, 'read', '/x', fh, buf, chunk, pos) as [number];
    if (n <= 0) return text;
    text += buf.toString('utf8', 0, n);
    pos += n;
  }
}

function openFh(ops: FuseOps, path: string, flags: number): number {
  const [err, fh] = call(ops, 'open', path, flags) as [number, number];
  assert.equal(err, 0);
  return fh;
}

test('getattr: files are regular 0444/0644/0200 with a page size, directories 0555, owner root', () => {
  const { ops } = demo();
  const stat = (path: string) => call(ops, 'getattr', path)[1] as Record<string, number>;
  assert.deepEqual(
    { mode: stat('/type').mode, uid: stat('/type').uid, gid: stat('/type').gid, size: stat('/type').size },
    { mode: 0o100444, uid: 0, gid: 0, size: 4096 },
  );
  assert.equal(stat('/level').mode, 0o100644);
  assert.equal(stat('/kick').mode, 0o100200);
  assert.equal(stat('/').mode, 0o040555);
  assert.equal(stat('/vms/3').mode, 0o040555);
  assert.equal(stat('/type').nlink, 1);
  assert.equal(stat('/type').mtime, 1_000);
});

test('getattr: a constant reports its exact length, so a reader trusting st_size needs no end-of-file read', () => {
  const { ops } = demo();
  assert.equal((call(ops, 'getattr', '/api')[1] as Record<string, number>).size, 2);
  const fh = openFh(ops, '/api', O_RDONLY);
  assert.equal(readAll(ops, fh), '1\n');
});

test('getattr of an unknown path is -ENOENT', () => {
  const { ops } = demo();
  assert.equal(call(ops, 'getattr', '/vms/9')[0], -E.ENOENT);
});

test('readdir lists dot entries then the children, and -ENOTDIR on a file', () => {
  const { ops } = demo();
  assert.deepEqual(call(ops, 'readdir', '/vms'), [0, ['.', '..', '3']]);
  assert.equal(call(ops, 'readdir', '/type')[0], -E.ENOTDIR);
});

test('an open handle serves one snapshot; a new open renders afresh', () => {
  const { ops } = demo();
  const first = openFh(ops, '/stamp', O_RDONLY);
  const second = openFh(ops, '/stamp', O_RDONLY);
  assert.equal(readAll(ops, first, 1), '1\n');
  assert.equal(readAll(ops, first), '1\n');
  assert.equal(readAll(ops, second), '2\n');
});

test('reads at an offset past the end return 0 bytes', () => {
  const { ops } = demo();
  const fh = openFh(ops, '/type', O_RDONLY);
  assert.deepEqual(call(ops, 'read', '/type', fh, Buffer.alloc(16), 16, 7), [0]);
  assert.deepEqual(call(ops, 'read', '/type', fh, Buffer.alloc(16), 16, 100), [0]);
});

test('open refuses writing a read-only node and reading a write-only node with -EACCES', () => {
  const { ops } = demo();
  assert.deepEqual(call(ops, 'open', '/type', O_WRONLY), [-E.EACCES]);
  assert.deepEqual(call(ops, 'open', '/type', O_RDWR), [-E.EACCES]);
  assert.deepEqual(call(ops, 'open', '/kick', O_RDONLY), [-E.EACCES]);
  assert.deepEqual(call(ops, 'open', '/kick', O_RDWR), [-E.EACCES]);
  assert.equal(call(ops, 'open', '/kick', O_WRONLY | O_TRUNC)[0], 0);
  assert.equal(call(ops, 'open', '/level', O_RDWR)[0], 0);
});

test('open of an unknown path is -ENOENT, of a directory -EISDIR', () => {
  const { ops } = demo();
  assert.deepEqual(call(ops, 'open', '/nope', O_RDONLY), [-E.ENOENT]);
  assert.deepEqual(call(ops, 'open', '/vms', O_WRONLY), [-E.EISDIR]);
});

test('a show() that throws fails the open with -EIO and reports one fault', () => {
  const { ops, faults } = demo();
  assert.deepEqual(call(ops, 'open', '/broken', O_RDONLY), [-E.EIO]);
  assert.deepEqual(faults, [{ op: 'open', path: '/broken', reason: 'show of /broken failed: boom' }]);
});

test('each write() is one store: valid values apply, a bad value is -EINVAL and changes nothing', () => {
  const { ops, state } = demo();
  const fh = openFh(ops, '/level', O_WRONLY);
  const write = (text: string) => call(ops, 'write', '/level', fh, Buffer.from(text), Buffer.byteLength(text), 0);
  assert.deepEqual(write('7\n'), [2]);
  assert.equal(state.level, 7);
  assert.deepEqual(write('3'), [1]);
  assert.equal(state.level, 3);
  assert.deepEqual(write('33\n'), [-E.EINVAL]);
  assert.equal(state.level, 3);
});

test('a store() that throws is -EIO', () => {
  const { ops, faults } = demo();
  const fh = openFh(ops, '/jam', O_WRONLY);
  assert.deepEqual(call(ops, 'write', '/jam', fh, Buffer.from('1'), 1, 0), [-E.EIO]);
  assert.deepEqual(faults, [{ op: 'write', path: '/jam', reason: 'store of /jam failed: jammed' }]);
});

test('truncate (a shell opening with O_TRUNC) is a no-op on writable nodes and -EACCES on read-only ones', () => {
  const { ops, state } = demo();
  assert.deepEqual(call(ops, 'truncate', '/level', 0), [0]);
  assert.deepEqual(call(ops, 'truncate', '/kick', 0), [0]);
  assert.equal(state.level, 5);
  assert.deepEqual(call(ops, 'truncate', '/type', 0), [-E.EACCES]);
  assert.deepEqual(call(ops, 'truncate', '/vms', 0), [-E.EISDIR]);
  assert.deepEqual(call(ops, 'truncate', '/nope', 0), [-E.ENOENT]);
  const fh = openFh(ops, '/level', O_WRONLY);
  assert.deepEqual(call(ops, 'ftruncate', '/level', fh, 0), [0]);
  const readOnly = openFh(ops, '/type', O_RDONLY);
  assert.deepEqual(call(ops, 'ftruncate', '/type', readOnly, 0), [-E.EBADF]);
});

test('release frees the handle; a read on a released handle is -EBADF', () => {
  const { ops } = demo();
  const fh = openFh(ops, '/type', O_RDONLY);
  assert.equal(ops.openHandles(), 1);
  assert.deepEqual(call(ops, 'release', '/type', fh), [0]);
  assert.equal(ops.openHandles(), 0);
  assert.deepEqual(call(ops, 'read', '/type', fh, Buffer.alloc(8), 8, 0), [-E.EBADF]);
});

test('a removed dynamic child stays resolvable only while its cache entry lives (100 ms here)', () => {
  const { ops, vms, advance } = demo();
  assert.equal(call(ops, 'getattr', '/vms/3')[0], 0);
  vms.delete('3');
  advance(99);
  assert.equal(call(ops, 'getattr', '/vms/3')[0], 0);
  advance(1);
  assert.equal(call(ops, 'getattr', '/vms/3')[0], -E.ENOENT);
  vms.add('4');
  assert.equal(call(ops, 'getattr', '/vms/4')[0], 0, 'a failed lookup is never cached');
});

test('access tells the truth about each node', () => {
  const { ops } = demo();
  const { R_OK, W_OK, X_OK } = fsConstants;
  assert.deepEqual(call(ops, 'access', '/type', R_OK), [0]);
  assert.deepEqual(call(ops, 'access', '/type', W_OK), [-E.EACCES]);
  assert.deepEqual(call(ops, 'access', '/kick', R_OK), [-E.EACCES]);
  assert.deepEqual(call(ops, 'access', '/level', R_OK | W_OK), [0]);
  assert.deepEqual(call(ops, 'access', '/type', X_OK), [-E.EACCES]);
  assert.deepEqual(call(ops, 'access', '/vms', R_OK | X_OK), [0]);
  assert.deepEqual(call(ops, 'access', '/vms', W_OK), [-E.EACCES]);
});

test('the namespace is fixed: create, mkdir, unlink, rename are -EACCES; chmod, chown, utimens -EPERM', () => {
  const { ops } = demo();
  assert.deepEqual(call(ops, 'create', '/new', 0o644), [-E.EACCES]);
  assert.deepEqual(call(ops, 'mknod', '/new', 0o644, 0), [-E.EACCES]);
  assert.deepEqual(call(ops, 'mkdir', '/vms/5', 0o755), [-E.EACCES]);
  assert.deepEqual(call(ops, 'unlink', '/type'), [-E.EACCES]);
  assert.deepEqual(call(ops, 'rmdir', '/vms/3'), [-E.EACCES]);
  assert.deepEqual(call(ops, 'rename', '/type', '/t'), [-E.EACCES]);
  assert.deepEqual(call(ops, 'link', '/type', '/t'), [-E.EACCES]);
  assert.deepEqual(call(ops, 'symlink', '/type', '/t'), [-E.EACCES]);
  assert.deepEqual(call(ops, 'chmod', '/type', 0o666), [-E.EPERM]);
  assert.deepEqual(call(ops, 'chown', '/type', 1, 1), [-E.EPERM]);
  assert.deepEqual(call(ops, 'utimens', '/type', 0, 0), [-E.EPERM]);
});

test('an operation answers -EIO exactly once even when the adapter itself throws', () => {
  // A node object whose properties throw when read: the failure happens outside the tree's own guards.
  const hostile = { type: 'file', mode: 0o444, get show(): never { throw new Error('hostile node'); } } as FileNode;
  const faults: Fault[] = [];
  const ops = fuseOps(dir({ hostile }), { onFault: (f) => faults.push(f) });
  assert.deepEqual(call(ops, 'open', '/hostile', O_RDONLY), [-E.EIO]);
  assert.deepEqual(call(ops, 'access', '/hostile', fsConstants.R_OK), [-E.EIO]);
  assert.equal(faults.length, 2);
  assert.match(faults[0]!.reason, /^adapter: Error: hostile node/);
});

test('writing through a handle opened read-only is -EBADF', () => {
  const { ops } = demo();
  const fh = openFh(ops, '/level', O_RDONLY);
  assert.deepEqual(call(ops, 'write', '/level', fh, Buffer.from('1'), 1, 0), [-E.EBADF]);
});
