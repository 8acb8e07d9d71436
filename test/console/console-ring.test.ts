// The console ring: absolute offsets, the oldest bytes falling out, copies that wrap, growth, clearing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConsoleRing } from '../../core/hlos/console-ring.js';

const bytes = (s: string) => Buffer.from(s, 'latin1');
const text = (b: Buffer) => b.toString('latin1');

test('appended bytes are held with absolute offsets from 0', () => {
  const ring = new ConsoleRing(16);
  ring.append(bytes('hello '));
  ring.append(bytes('world'));
  assert.equal(ring.start, 0);
  assert.equal(ring.end, 11);
  assert.equal(text(ring.copy(0)), 'hello world');
  assert.equal(text(ring.copy(6, 3)), 'wor');
  assert.equal(ring.copy(11).length, 0, 'nothing past the end');
});

test('past capacity the oldest bytes fall out and offsets keep growing', () => {
  const ring = new ConsoleRing(8);
  ring.append(bytes('abcdef'));
  ring.append(bytes('ghij'));
  assert.equal(ring.start, 2);
  assert.equal(ring.end, 10);
  assert.equal(text(ring.copy(0)), 'cdefghij', 'a read before the start begins at the start');
  assert.equal(text(ring.copy(7)), 'hij');
  assert.equal(text(ring.copy(5, 4)), 'fghi', 'a copy across the wrap point');
});

test('an append larger than the ring keeps its last capacity bytes', () => {
  const ring = new ConsoleRing(4);
  ring.append(bytes('xy'));
  ring.append(bytes('0123456789'));
  assert.equal(ring.start, 8);
  assert.equal(ring.end, 12);
  assert.equal(text(ring.copy(0)), '6789');
});

test('storage grows by doubling up to the capacity and keeps content and offsets', () => {
  const ring = new ConsoleRing(64 * 1024);
  assert.equal(ring.allocated, 4096, 'a quiet console costs 4 KiB');
  const all: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const chunk = Buffer.from([i & 0xff, (i >> 8) & 0xff, 0x41, 0x42, 0x43, 0x44, 0x45]);
    ring.append(chunk);
    all.push(...chunk);
  }
  assert.equal(ring.end, 21000);
  assert.equal(ring.allocated, 32768);
  assert.deepEqual([...ring.copy(0)], all);
  for (let i = 0; i < 10000; i++) ring.append(Buffer.from([i & 0xff, 7, 7, 7, 7]));
  assert.equal(ring.allocated, 64 * 1024, 'never more than the capacity');
  assert.equal(ring.size, 64 * 1024);
  assert.equal(ring.end, 71000);
  const tail = ring.copy(ring.end - 5);
  assert.deepEqual([...tail], [9999 & 0xff, 7, 7, 7, 7]);
});

test('growing while wrapped moves the content to where its offsets now point', () => {
  const ring = new ConsoleRing(16 * 1024);
  const pattern = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));
  ring.append(pattern(3000, 1));
  ring.append(pattern(3000, 2)); // 6000 > 4096: grew to 8192
  ring.append(pattern(5000, 3)); // 11000: grew to 16384
  assert.deepEqual(ring.copy(0), Buffer.concat([pattern(3000, 1), pattern(3000, 2), pattern(5000, 3)]));
});

test('clear forgets the bytes held; offsets carry on from the end', () => {
  const ring = new ConsoleRing(16);
  ring.append(bytes('before'));
  ring.clear();
  assert.equal(ring.start, 6);
  assert.equal(ring.end, 6);
  assert.equal(ring.copy(0).length, 0);
  ring.append(bytes('after'));
  assert.equal(ring.start, 6);
  assert.equal(text(ring.copy(0)), 'after');
});

test('a capacity that is not a positive integer is refused', () => {
  assert.throws(() => new ConsoleRing(0), RangeError);
  assert.throws(() => new ConsoleRing(1.5), RangeError);
});
