// The hex text every answer prints 64-bit values in: 0x, sixteen lower-case digits, the value taken modulo 2^64,
// the same whether the value arrives as a number or a bigint; and 32-bit values in eight digits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hex32, hex64 } from '../../core/hex.js';

test('hex64 prints numbers and bigints alike, zero-padded to sixteen digits', () => {
  for (const [value, text] of [
    [0, '0x0000000000000000'],
    [0x8000_0000, '0x0000000080000000'],
    [Number.MAX_SAFE_INTEGER, '0x001fffffffffffff'],
    [2 ** 60, '0x1000000000000000'],
    [-1, '0xffffffffffffffff'],
  ] as const) {
    assert.equal(hex64(value), text, String(value));
    assert.equal(hex64(BigInt(value)), text, `${value}n`);
  }
  assert.equal(hex64(0xffff_ffff_ffff_ffffn), '0xffffffffffffffff');
  assert.equal(hex64(1n << 64n), '0x0000000000000000', 'modulo 2^64');
});

test('hex32 prints eight lower-case digits of the value modulo 2^32', () => {
  for (const [value, text] of [[0, '0x00000000'], [0xabc, '0x00000abc'], [0xdead_beef, '0xdeadbeef'], [-1, '0xffffffff'], [2 ** 32 + 5, '0x00000005']] as const) {
    assert.equal(hex32(value), text, String(value));
  }
});
