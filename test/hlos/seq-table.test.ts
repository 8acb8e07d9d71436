// The RM client's table of calls in flight: behaves as a Map from sequence number to call under any sequence of
// adds and deletes of unique 16-bit sequence numbers, whatever their spread (core/hlos/seq-table.ts says why it is
// not a Map).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { SeqTable } from '../../core/hlos/seq-table.js';

interface Call {
  readonly seq: number;
  readonly msgId: number;
}

test('adds and deletes of unique sequence numbers find exactly what a Map would', () => {
  const step = fc.oneof(
    fc.record({ add: fc.integer({ min: 0, max: 0xffff }) }),
    fc.record({ del: fc.integer({ min: 0, max: 0xffff }) }),
    fc.record({ delAny: fc.nat() }),
  );
  fc.assert(fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
    const table = new SeqTable<Call>();
    const model = new Map<number, Call>();
    for (const s of steps) {
      if ('add' in s) {
        if (model.has(s.add)) continue; // the client never adds a sequence number in use
        const call = { seq: s.add, msgId: s.add ^ 0x5555 };
        table.add(call);
        model.set(s.add, call);
      } else {
        const seq = 'del' in s ? s.del : ([...model.keys()][s.delAny % Math.max(1, model.size)] ?? 0);
        assert.equal(table.delete(seq), model.delete(seq));
      }
      assert.equal(table.size, model.size);
      for (const [seq, call] of model) assert.equal(table.get(seq), call);
      assert.deepEqual(table.values().map((c) => c.seq).sort((x, y) => x - y), [...model.keys()].sort((x, y) => x - y));
    }
  }));
});

test('a sequence number that shares a slot with a call in flight is not mistaken for it', () => {
  const table = new SeqTable<Call>();
  table.add({ seq: 3, msgId: 1 });
  assert.equal(table.get(3 + 16), undefined);
  assert.equal(table.delete(3 + 16), false);
  table.add({ seq: 3 + 16, msgId: 2 });
  assert.equal(table.get(3)?.msgId, 1);
  assert.equal(table.get(3 + 16)?.msgId, 2);
});

test('every 16-bit sequence number in flight at once fits', () => {
  const table = new SeqTable<Call>();
  for (let seq = 0; seq < 0x10000; seq++) table.add({ seq, msgId: 0 });
  assert.equal(table.size, 0x10000);
  assert.equal(table.get(0xffff)?.seq, 0xffff);
  assert.equal(table.get(0)?.seq, 0);
});
