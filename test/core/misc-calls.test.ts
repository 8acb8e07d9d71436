// prng_get_entropy (spec §1.3 0x57) and trace_update_class_flags (0x3F).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { GH_ERROR } from '../../core/abi/errors.js';
import { PRNG_ENTROPY } from '../../core/abi/hypercalls.js';
import { hypFixture } from '../helpers/hyp-fixture.js';

describe('prng_get_entropy(num_bytes)', () => {
  test('num_bytes / 4 words of entropy in data0..data3, the rest zero', async () => {
    const { a } = hypFixture();
    for (const bytes of [4, 8, 12, 16]) {
      await sleep(PRNG_ENTROPY.WINDOW_MS + 5);
      const r = a.call('prng_get_entropy', [bytes, 0]);
      assert.equal(r.err, GH_ERROR.OK);
      const words = r.x.slice(1, 5);
      assert.ok(words.slice(0, bytes / 4).some((w) => w !== 0n), `${bytes} bytes`);
      assert.deepEqual(words.slice(bytes / 4), Array(4 - bytes / 4).fill(0n));
      assert.ok(words.every((w) => w <= 0xffffffffn), 'u32 words');
    }
  });

  test('with a seed the words are reproducible; different seeds give different words', () => {
    const words = (seed: number) => hypFixture({ seed }).a.call('prng_get_entropy', [16, 0]).x.slice(1, 5);
    assert.deepEqual(words(1), words(1));
    assert.notDeepEqual(words(1), words(2));
  });

  test('without a seed the words come from node:crypto and differ between hypervisors', () => {
    const words = () => hypFixture({ seed: undefined }).a.call('prng_get_entropy', [16, 0]).x.slice(1, 5);
    assert.notDeepEqual(words(), words());
  });

  test('0 or more than 16 bytes is ARGUMENT_SIZE; not a multiple of 4 is ARGUMENT_ALIGNMENT; no data on error', () => {
    const { a } = hypFixture();
    for (const [bytes, err] of [[0, GH_ERROR.ARGUMENT_SIZE], [17, GH_ERROR.ARGUMENT_SIZE], [1n << 32n, GH_ERROR.ARGUMENT_SIZE],
      [1, GH_ERROR.ARGUMENT_ALIGNMENT], [15, GH_ERROR.ARGUMENT_ALIGNMENT]] as const) {
      const r = a.call('prng_get_entropy', [bytes, 0]);
      assert.deepEqual([r.err, ...r.x.slice(1)], [err, 0n, 0n, 0n, 0n, 0n, 0n, 0n], `${bytes} bytes`);
    }
  });

  test('rate limit: four reads per vCPU per 33 ms window, then BUSY until the window ends', async () => {
    const { a, b } = hypFixture();
    await sleep(PRNG_ENTROPY.WINDOW_MS + 5);
    const errs = Array.from({ length: 5 }, () => a.call('prng_get_entropy', [4, 0]).err);
    assert.deepEqual(errs, [0, 0, 0, 0, GH_ERROR.BUSY]);
    assert.equal(b.call('prng_get_entropy', [4, 0]).err, GH_ERROR.OK, 'another vCPU has its own window');
    await sleep(PRNG_ENTROPY.WINDOW_MS + 5);
    assert.equal(a.call('prng_get_entropy', [4, 0]).err, GH_ERROR.OK);
  });
});

describe('trace_update_class_flags(set_flags, clear_flags)', () => {
  test('flags = (flags & ~clear) | set, returned in X1; the ERROR class is on at boot', () => {
    const { hyp, a } = hypFixture();
    assert.equal(hyp.traceClassFlags, 1n);
    assert.deepEqual([a.call('trace_update_class_flags', [0x16n, 0, 0]).x[1]], [0x17n]);
    assert.deepEqual([a.call('trace_update_class_flags', [0, 0x6n, 0]).x[1]], [0x11n]);
    const r = a.call('trace_update_class_flags', [0x8000_0000_0000_0000n, 0x10n, 0]);
    assert.deepEqual([r.err, r.x[1]], [GH_ERROR.OK, 0x8000_0000_0000_0001n]);
  });

  test('a flag both set and cleared stays set', () => {
    const { a } = hypFixture();
    assert.equal(a.call('trace_update_class_flags', [0x2n, 0x2n, 0]).x[1], 0x3n);
  });

  test('hypercalls cannot change the internal ERROR class', () => {
    const { hyp, a } = hypFixture();
    assert.equal(a.call('trace_update_class_flags', [0, 0xffff_ffff_ffff_ffffn, 0]).x[1], 1n);
    assert.equal(hyp.traceClassFlags, 1n);
  });

  test('the flags are one word per hypervisor, shared by every VM', () => {
    const { a, b } = hypFixture();
    a.call('trace_update_class_flags', [0x4n, 0, 0]);
    assert.equal(b.call('trace_update_class_flags', [0, 0, 0]).x[1], 0x5n);
  });
});
