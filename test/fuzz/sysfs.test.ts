// Writes to the sysfs tree (issue 8, item 2) at the tree level, as the FUSE adapter and the HTTP mirror both make
// them (fs/tree.ts writePath): random text, near-miss values and the accepted ones, written to every writable
// node of a booted device with running guests (VM control, queue flush, doorbell send), and to read-only nodes,
// directories and paths that do not exist. Every write is a success or a refusal a shell user can act on (EINVAL,
// EBUSY for a control operation still running; EACCES, EISDIR, ENOENT, ENOTDIR by the node's kind), never EIO
// and never an exception; afterwards every file in the tree still renders and the device's invariants hold.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { buildSysfsTree } from '../../fs/sysfs.js';
import { readPath, writePath, type DirNode, type FsErrorKind } from '../../fs/tree.js';
import { fuzzParams, FUZZ_SEED } from './fuzz-config.js';
import { fuzzDevice, type FuzzDevice } from './fuzz-device.js';

let dev: FuzzDevice;
let root: DirNode;
before(async () => {
  dev = await fuzzDevice(FUZZ_SEED);
  root = buildSysfsTree(dev.device);
});
after(() => dev.close());

interface Found {
  readonly writable: string[];
  readonly readOnly: string[];
  readonly dirs: string[];
}

/** Every node of the tree now, by kind (the tree changes as VMs and their queues come and go). */
function walk(): Found {
  const found: Found = { writable: [], readOnly: [], dirs: [] };
  const visit = (path: string) => {
    const r = readPath(root, path);
    if (r.kind !== 'dir') return;
    found.dirs.push(path);
    for (const e of r.entries) {
      const child = path === '' ? e.name : `${path}/${e.name}`;
      if (e.type === 'dir') visit(child);
      else if (e.mode & 0o200) found.writable.push(child);
      else found.readOnly.push(child);
    }
  };
  visit('');
  return found;
}

/** What a write may answer, by the kind of node written. */
const ALLOWED: Record<'writable' | 'readOnly' | 'dir' | 'missing', readonly (FsErrorKind | 'ok')[]> = {
  writable: ['ok', 'EINVAL', 'EBUSY'],
  readOnly: ['EACCES'],
  dir: ['EISDIR'],
  missing: ['ENOENT', 'ENOTDIR'],
};

test('random writes to every sysfs node: success or a clear refusal, never EIO, and the tree and device intact', async (t) => {
  const text = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 20 }),
    // What the stores accept, and near misses: values, numbers in both spellings, trailing newlines and spaces.
    { weight: 3, arbitrary: fc.constantFrom('start', 'stop', 'reset', '1', '1\n', 'start\n', 'stop\n\n', ' 1', '1 ', 'START', '\n', '', '0') },
    { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: (1n << 66n) }).chain((v) => fc.constantFrom(`${v}`, `0x${v.toString(16)}`, `0X${v.toString(16)}\n`, `-${v}`)) },
    // Longer than a page (sysfs stores take one page at most).
    fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 4096, max: 70_000 })).map(([s, n]) => s.repeat(Math.ceil(n / s.length))),
  );
  const results = new Map<string, number>();
  /** Every file renders (a write-only node refuses reads with EACCES); nothing answers EIO. */
  const renders = (files: readonly string[]) => {
    for (const file of files) {
      const r = readPath(root, file);
      assert.ok(r.kind !== 'error' || r.error === 'EACCES' || r.error === 'ENOENT', `${file}: ${r.kind === 'error' ? `${r.error} ${r.reason}` : ''}`);
    }
  };
  // The tree is walked again after every accepted write (a control write can make VMs and their queues come and go).
  let found = walk();
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(fc.nat(), fc.constantFrom('writable', 'writable', 'writable', 'readOnly', 'dir', 'missing'), text, async (pick, kind, value) => {
      const paths = kind === 'writable' ? found.writable : kind === 'readOnly' ? found.readOnly : kind === 'dir' ? found.dirs
        : [...found.readOnly, ...found.dirs].map((p) => `${p}/${value.slice(0, 8).replace(/\//g, '') || 'x'}`);
      const path = paths[pick % paths.length]!;
      let answer = 'threw';
      assert.doesNotThrow(() => {
        const err = writePath(root, path, value);
        answer = err === undefined ? 'ok' : err.error;
      }, `write to ${path}`);
      results.set(`${kind} ${answer}`, (results.get(`${kind} ${answer}`) ?? 0) + 1);
      // A VM stopped by an earlier control write may since have taken its queues (and their nodes) with it.
      const vanished = answer === 'ENOENT' && kind !== 'missing' && readPath(root, path).kind === 'error';
      assert.ok((ALLOWED[kind] as readonly string[]).includes(answer) || vanished, `${path} <- ${JSON.stringify(value.slice(0, 40))}: ${answer}`);
      if (answer === 'ok' || vanished) found = walk();
      // The written node's directory renders at once; the whole tree every so often.
      const dir = path.slice(0, path.lastIndexOf('/') + 1);
      renders(++cases % 50 === 0 ? [...found.readOnly, ...found.writable] : found.readOnly.filter((f) => f.startsWith(dir)));
      // Flushing an RM link queue may take a reply from a booting guest, which then crashes as a real one would.
      await dev.check({ guestCrashes: 'allowed' });
    }),
    fuzzParams(600),
  );
  renders([...found.readOnly, ...found.writable]);
  t.diagnostic([...results].map(([k, n]) => `${k}: ${n}`).join(', '));
  assert.ok((results.get('writable ok') ?? 0) > 0 && (results.get('writable EINVAL') ?? 0) > 0, 'writes both accepted and refused');
});
