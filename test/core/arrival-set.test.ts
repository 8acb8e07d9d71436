// The vIC's pending-line set: behaves as a JavaScript Set of numbers (insertion order, no duplicates) under any
// sequence of adds, deletes and forgets, which is what the vIC relied on before (core/vm/arrival-set.ts says why
// it is not a Set).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ArrivalSet } from '../../core/vm/arrival-set.js';

type Op = { kind: 'add' | 'delete' | 'forget'; key: number };

const ops = fc.array(
  fc.record({ kind: fc.constantFrom('add' as const, 'delete' as const, 'forget' as const), key: fc.integer({ min: 0, max: 12 }) }),
  { maxLength: 200 },
);

test('any sequence of add, delete and forget leaves the keys, in arrival order, that a Set would hold', () => {
  fc.assert(fc.property(ops, (sequence: Op[]) => {
    const set = new ArrivalSet();
    const model = new Set<number>();
    for (const { kind, key } of sequence) {
      if (kind === 'add') assert.equal(set.add(key), !model.has(key));
      if (kind === 'add') model.add(key);
      if (kind === 'delete') assert.equal(set.delete(key), model.delete(key));
      if (kind === 'forget') {
        set.forget(key);
        model.delete(key);
      }
      assert.deepEqual([...set.keys()], [...model]);
      assert.equal(set.size, model.size);
      for (let k = 0; k <= 12; k++) assert.equal(set.has(k), model.has(k));
    }
  }));
});

test('a key added again while present keeps its place; deleted and added again, it becomes the newest', () => {
  const set = new ArrivalSet();
  for (const key of [5, 1, 9]) set.add(key);
  assert.equal(set.add(1), false);
  assert.deepEqual([...set.keys()], [5, 1, 9]);
  assert.equal(set.delete(1), true);
  assert.equal(set.delete(1), false);
  set.add(1);
  assert.deepEqual([...set.keys()], [5, 9, 1]);
});
