import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HlosMemory } from '../../core/hlos/hlos-memory.js';

const BASE = 0x8000_0000;

test('allocations are page-rounded, first fit, and never overlap', () => {
  const mem = new HlosMemory(BASE, 16 * 4096);
  assert.deepEqual(mem.alloc(1), { base: BASE, size: 4096 });
  assert.deepEqual(mem.alloc(4097), { base: BASE + 4096, size: 8192 });
  assert.deepEqual(mem.alloc(4096), { base: BASE + 3 * 4096, size: 4096 });
  assert.equal(mem.available, 12 * 4096);
});

test('a request larger than any free range fails with null, and bad sizes are refused', () => {
  const mem = new HlosMemory(BASE, 4 * 4096);
  assert.equal(mem.alloc(5 * 4096), null);
  assert.equal(mem.alloc(0), null);
  assert.equal(mem.alloc(-1), null);
  assert.equal(mem.alloc(Number.NaN), null);
});

test('released ranges merge with their free neighbours and can be allocated whole again', () => {
  const mem = new HlosMemory(BASE, 6 * 4096);
  const a = mem.alloc(2 * 4096)!;
  const b = mem.alloc(2 * 4096)!;
  const c = mem.alloc(2 * 4096)!;
  assert.equal(mem.alloc(4096), null);
  assert.ok(mem.release(a.base));
  assert.ok(mem.release(c.base));
  assert.equal(mem.alloc(3 * 4096), null, 'two separate 2-page holes');
  assert.ok(mem.release(b.base));
  assert.deepEqual(mem.alloc(6 * 4096), { base: BASE, size: 6 * 4096 });
});

test('releasing an address that is not an allocation start is refused', () => {
  const mem = new HlosMemory(BASE, 4 * 4096);
  const a = mem.alloc(2 * 4096)!;
  assert.equal(mem.release(a.base + 4096), false);
  assert.equal(mem.release(a.base), true);
  assert.equal(mem.release(a.base), false);
});

test('HLOS RAM must be page aligned', () => {
  assert.throws(() => new HlosMemory(BASE + 1, 4096), /not page aligned/);
});
