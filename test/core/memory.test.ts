import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GH_ERROR } from '../../core/abi/errors.js';
import { PAGE_SIZE, PGTABLE_ACCESS } from '../../core/abi/memory.js';
import { RangeView } from '../../core/mem/copy.js';
import { GuestMemory, Mapping } from '../../core/mem/guest-memory.js';
import { MemDb } from '../../core/mem/memdb.js';
import { endPage, lastPage, pageAddr, pageArg, U64_PAGES } from '../../core/mem/pages.js';
import { PhysMemory } from '../../core/mem/phys.js';

const RAM = 0x4000_0000;

test('RAM is backed lazily: only touched pages become resident, untouched RAM reads as zero', () => {
  const m = new GuestMemory();
  m.addRam(RAM, 1 << 30);
  assert.equal(m.residentPages, 0);
  assert.deepEqual(m.readBytes(RAM + 0x10_0000, 4), new Uint8Array(4));
  assert.equal(m.writeBytes(RAM + 5, new Uint8Array([1, 2, 3])), GH_ERROR.OK);
  assert.equal(m.residentPages, 2);
  assert.deepEqual(m.readBytes(RAM + 4, 5), new Uint8Array([0, 1, 2, 3, 0]));
});

test('an access outside every mapping is ADDR_INVALID', () => {
  const m = new GuestMemory();
  m.addRam(RAM, 2 * PAGE_SIZE);
  assert.equal(m.readBytes(RAM - 1, 1), GH_ERROR.ADDR_INVALID);
  assert.equal(m.readBytes(RAM + 2 * PAGE_SIZE, 1), GH_ERROR.ADDR_INVALID);
  assert.equal(m.writeBytes(-PAGE_SIZE, new Uint8Array(1)), GH_ERROR.ADDR_INVALID);
  assert.equal(m.writeBytes(2 ** 53, new Uint8Array(1)), GH_ERROR.ADDR_INVALID);
});

test('a copy that would fault part-way copies nothing', () => {
  const m = new GuestMemory();
  m.addRam(RAM, PAGE_SIZE);
  const bytes = new Uint8Array(16).fill(9);
  assert.equal(m.writeBytes(RAM + PAGE_SIZE - 8, bytes), GH_ERROR.ADDR_INVALID);
  assert.deepEqual(m.readBytes(RAM + PAGE_SIZE - 8, 8), new Uint8Array(8));
});

test('a copy across a page boundary lands in both pages', () => {
  const m = new GuestMemory();
  m.addRam(RAM, 2 * PAGE_SIZE);
  const bytes = Buffer.from('0123456789abcdef');
  assert.equal(m.write(RAM + PAGE_SIZE - 8, bytes, 0, 16), GH_ERROR.OK);
  const out = Buffer.alloc(16);
  assert.equal(m.read(RAM + PAGE_SIZE - 8, out, 0, 16), GH_ERROR.OK);
  assert.equal(out.toString(), '0123456789abcdef');
  assert.equal(m.peek(RAM / PAGE_SIZE + 1)!.page.subarray(0, 8).toString(), '89abcdef');
});

test('access rights are enforced per page: read-only refuses writes, NONE refuses everything', () => {
  const m = new GuestMemory();
  const page = Buffer.alloc(PAGE_SIZE, 7);
  m.mapPage(0x1000, page, PGTABLE_ACCESS.R);
  m.mapPage(0x2000, Buffer.alloc(PAGE_SIZE), PGTABLE_ACCESS.NONE);
  assert.deepEqual(m.readBytes(0x1000, 2), new Uint8Array([7, 7]));
  assert.equal(m.writeBytes(0x1000, new Uint8Array([1])), GH_ERROR.ADDR_INVALID);
  assert.equal(page[0], 7);
  assert.equal(m.readBytes(0x2000, 1), GH_ERROR.ADDR_INVALID);
  assert.equal(m.writeBytes(0x2000, new Uint8Array(1)), GH_ERROR.ADDR_INVALID);
  assert.equal(m.accessible(0x1000, PAGE_SIZE, PGTABLE_ACCESS.R), true);
  assert.equal(m.accessible(0x1000, PAGE_SIZE + 1, PGTABLE_ACCESS.R), false);
});

test('one Buffer mapped into two address spaces shows writes from either', () => {
  const a = new GuestMemory();
  const b = new GuestMemory();
  const page = Buffer.alloc(PAGE_SIZE);
  a.mapPage(0x10_000, page, PGTABLE_ACCESS.RW);
  b.mapPage(0x90_000, page, PGTABLE_ACCESS.RW);
  a.writeBytes(0x10_010, new Uint8Array([0xaa]));
  b.writeBytes(0x90_011, new Uint8Array([0xbb]));
  assert.deepEqual(b.readBytes(0x90_010, 2), new Uint8Array([0xaa, 0xbb]));
  assert.deepEqual(a.readBytes(0x10_010, 2), new Uint8Array([0xaa, 0xbb]));
});

test('a physical page behind a mapping is materialised on first touch and shared by every mapping of it', () => {
  const phys = new PhysMemory();
  const a = new GuestMemory();
  const b = new GuestMemory();
  a.set(1, new Mapping(PGTABLE_ACCESS.RW, null, null, 500, phys));
  b.set(9, new Mapping(PGTABLE_ACCESS.R, null, null, 500, phys));
  assert.equal(phys.residentPages, 0);
  a.writeBytes(PAGE_SIZE + 3, new Uint8Array([42]));
  assert.equal(phys.residentPages, 1);
  assert.deepEqual(b.readBytes(9 * PAGE_SIZE + 3, 1), new Uint8Array([42]));
  assert.equal(b.writeBytes(9 * PAGE_SIZE, new Uint8Array(1)), GH_ERROR.ADDR_INVALID);
});

test('remove(page, source) takes away only what that source mapped', () => {
  const m = new GuestMemory();
  const mine = {};
  const theirs = {};
  m.set(3, new Mapping(PGTABLE_ACCESS.RW, Buffer.alloc(PAGE_SIZE), theirs));
  assert.equal(m.remove(3, mine), false);
  assert.equal(m.isMapped(3), true);
  assert.equal(m.remove(3, theirs), true);
  assert.equal(m.isMapped(3), false);
  assert.equal(m.remove(3), false);
});

test('a page taken out of RAM stays a hole instead of growing back', () => {
  const m = new GuestMemory();
  m.addRam(RAM, 4 * PAGE_SIZE);
  const p = RAM / PAGE_SIZE + 1;
  assert.equal(m.isMapped(p), true);
  m.writeBytes(RAM + PAGE_SIZE, new Uint8Array([5]));
  m.unmapPage(RAM + PAGE_SIZE);
  assert.equal(m.isMapped(p), false);
  assert.equal(m.readBytes(RAM + PAGE_SIZE, 1), GH_ERROR.ADDR_INVALID);
  assert.equal(m.mapping(p), undefined);
  // Untouched RAM is taken by a plain unmap only, never by a source's removal.
  assert.equal(m.remove(p + 1, {}), false);
  assert.equal(m.remove(p + 1), true);
  assert.equal(m.isMapped(p + 1), false);
  // Mapping something into the hole works, and removing it leaves the hole again.
  const src = {};
  m.set(p, new Mapping(PGTABLE_ACCESS.R, Buffer.alloc(PAGE_SIZE, 1), src));
  assert.deepEqual(m.readBytes(RAM + PAGE_SIZE, 1), new Uint8Array([1]));
  m.remove(p, src);
  assert.equal(m.isMapped(p), false);
});

test('a range view is reused for either of the last two ranges and made anew for a third', () => {
  const bytes = Uint8Array.from({ length: 64 }, (_, i) => i);
  const views = new RangeView(bytes);
  const a = views.of(8, 16);
  assert.deepEqual([...a], [...bytes.subarray(8, 24)]);
  assert.equal(views.of(8, 16), a, 'the same range: the same view, no allocation');
  const b = views.of(8, 17);
  assert.notEqual(b, a);
  assert.deepEqual([...b], [...bytes.subarray(8, 25)]);
  assert.equal(views.of(8, 16), a, 'two ranges in turn (a link page\'s TX and RX halves) reuse both views');
  assert.equal(views.of(8, 17), b);
  const c = views.of(32, 4);
  assert.deepEqual([...c], [32, 33, 34, 35]);
  assert.notEqual(views.of(8, 16), a, 'a third range pushed out the oldest');
  assert.deepEqual([...views.of(0, 0)], []);
  bytes[10] = 0xee;
  assert.equal(views.of(8, 17)[2], 0xee, 'a view shows the bytes as they are now, not a copy');
});

test('guest copies move exactly the bytes asked for, from and to any offset, whatever the view reuse', () => {
  const m = new GuestMemory();
  m.addRam(RAM, 2 * PAGE_SIZE);
  const src = Uint8Array.from({ length: 64 }, (_, i) => 0xf0 | (i & 0xf));
  for (const [srcOff, ipaOff, len] of [[0, 8, 43], [8, 0, 56], [3, 5, 17], [0, 0, 7], [16, 16, 0], [0, 0, 64]] as const) {
    m.write(RAM, new Uint8Array(80).fill(0xee), 0, 80);
    assert.equal(m.write(RAM + ipaOff, src, srcOff, len), GH_ERROR.OK);
    const back = new Uint8Array(80).fill(0xdd);
    assert.equal(m.read(RAM, back, 0, 80), GH_ERROR.OK);
    assert.deepEqual(back.subarray(ipaOff, ipaOff + len), src.subarray(srcOff, srcOff + len), `${srcOff}->${ipaOff} x${len}`);
    assert.ok(back.subarray(ipaOff + len).every((b) => b === 0xee), 'nothing written past the range');
    assert.ok(back.subarray(0, ipaOff).every((b) => b === 0xee), 'nothing written before the range');
    const part = new Uint8Array(len + 4).fill(0xcc);
    assert.equal(m.read(RAM + ipaOff, part, 2, len), GH_ERROR.OK);
    assert.deepEqual(part.subarray(2, 2 + len), src.subarray(srcOff, srcOff + len));
    assert.deepEqual([...part.subarray(0, 2), ...part.subarray(2 + len)], [0xcc, 0xcc, 0xcc, 0xcc]);
  }
});

test('the page look-up cache never outlives a change of mapping', () => {
  const m = new GuestMemory();
  const a = Buffer.alloc(PAGE_SIZE, 1), b = Buffer.alloc(PAGE_SIZE, 2);
  m.mapPage(RAM, a, PGTABLE_ACCESS.RW);
  m.mapPage(RAM + PAGE_SIZE, b, PGTABLE_ACCESS.RW);
  assert.deepEqual(m.readBytes(RAM, 1), new Uint8Array([1]));
  assert.deepEqual(m.readBytes(RAM + PAGE_SIZE, 1), new Uint8Array([2]));
  m.mapPage(RAM, b, PGTABLE_ACCESS.RW);
  assert.deepEqual(m.readBytes(RAM, 1), new Uint8Array([2]), 'a remapped page shows its new contents');
  m.unmapPage(RAM + PAGE_SIZE);
  assert.equal(m.readBytes(RAM + PAGE_SIZE, 1), GH_ERROR.ADDR_INVALID, 'an unmapped page faults at once');
  m.set(RAM / PAGE_SIZE, new Mapping(PGTABLE_ACCESS.R, a));
  assert.equal(m.writeBytes(RAM, new Uint8Array(1)), GH_ERROR.ADDR_INVALID, 'the new mapping\'s access applies');
});

test('physical memory is sparse and zeroing leaves untouched pages unallocated', () => {
  const phys = new PhysMemory();
  phys.page(10).fill(1);
  phys.page(12).fill(1);
  assert.equal(phys.residentPages, 2);
  phys.zero(0, 1 << 30);
  assert.equal(phys.page(10)[0], 0);
  assert.equal(phys.page(12)[PAGE_SIZE - 1], 0);
  phys.page(11).fill(3);
  phys.zero(11, 12);
  assert.equal(phys.page(11)[0], 0);
  assert.equal(phys.residentPages, 3);
});

test('memdb: every page starts with the partition; update moves ownership only from the true owner', () => {
  const db = new MemDb<object>();
  const x = { name: 'x' };
  const y = { name: 'y' };
  assert.equal(db.ownerOf(5), null);
  assert.equal(db.ownsAll(null, 0, 1000), true);
  assert.equal(db.update(100, 50, x, null), GH_ERROR.OK);
  assert.equal(db.ownerOf(99), null);
  assert.equal(db.ownerOf(100), x);
  assert.equal(db.ownerOf(149), x);
  assert.equal(db.ownerOf(150), null);
  assert.equal(db.update(140, 20, y, null), GH_ERROR.MEMDB_NOT_OWNER, 'the partition no longer owns 140-149');
  assert.equal(db.update(140, 20, y, x), GH_ERROR.MEMDB_NOT_OWNER, 'x does not own 150-159');
  assert.equal(db.ownerOf(150), null, 'a refused update changes nothing');
  assert.equal(db.update(110, 10, y, x), GH_ERROR.OK);
  assert.deepEqual([...db.owned(x, 0, 1000)], [[100, 110], [120, 150]]);
  assert.deepEqual([...db.owned(y, 0, 1000)], [[110, 120]]);
  assert.equal(db.countOwned(x, 0, 1000), 40);
  assert.equal(db.ownsAll(x, 100, 20), false);
  // Giving the middle back to x merges the runs again.
  assert.equal(db.update(110, 10, x, y), GH_ERROR.OK);
  assert.deepEqual([...db.owned(x, 0, 1000)], [[100, 150]]);
  assert.equal(db.ownsAll(x, 100, 50), true);
  assert.equal(db.update(100, 50, null, x), GH_ERROR.OK);
  assert.equal(db.ownsAll(null, 0, 1000), true);
});

test('memdb: owned() clips runs to the range asked', () => {
  const db = new MemDb<object>();
  const x = {};
  db.update(0, 10, x, null);
  db.update(20, 10, x, null);
  assert.deepEqual([...db.owned(x, 5, 25)], [[5, 10], [20, 25]]);
  assert.deepEqual([...db.owned(x, 10, 20)], []);
});

test('page arguments decode every u64 exactly', () => {
  const regs = new Uint32Array([0x1234_5fff, 0xffff_ffff]);
  assert.deepEqual(pageArg(regs, 0), { page: 0xffff_ffff_1234_5, rem: 0xfff });
  assert.deepEqual(pageAddr(0x5001), { page: 5, rem: 1 });
  assert.equal(lastPage(pageAddr(0x1000), pageAddr(0x1000)), 1);
  assert.equal(lastPage(pageAddr(0xfff), pageAddr(2)), 1);
  assert.equal(endPage(pageAddr(0x1000), pageAddr(0x1000)), 2);
  const top = { page: U64_PAGES - 1, rem: 0 };
  assert.equal(lastPage(top, pageAddr(PAGE_SIZE)), U64_PAGES - 1, 'the last page of the 64-bit space fits');
  assert.equal(endPage(top, pageAddr(PAGE_SIZE)), U64_PAGES, 'but its end address does not');
});
