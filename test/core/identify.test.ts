// spec §1.1-§1.2 and §2: how a guest finds the hypervisor — hypervisor_identify decoded as Linux decodes it, and
// the SMCCC services (UID in both layouts, revisions, SMCCC_VERSION, ARCH_FEATURES, unknown and malformed IDs).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HYP_FEATURE } from '../../core/abi/identify.js';
import { hypercallFunctionId, NATIVE_HVC, SMCCC_CALL } from '../../core/abi/smccc.js';
import { smc } from '../../core/hyp/call.js';
import { getReg, setReg } from '../../core/hyp/regs.js';
import { hypFixture } from '../helpers/hyp-fixture.js';

const MINUS_ONE = 0xffff_ffff_ffff_ffffn;
const IDENTIFY_SMCCC = 0xc600_8000;

/** The Linux v1-v17 decoding of api_info (GH_API_INFO_* / GUNYAH_API_INFO_* masks). */
const linuxApiInfo = (x0: bigint) => ({
  api: Number(x0 & 0x3fffn),
  bigEndian: Number((x0 >> 14n) & 1n),
  is64bit: Number((x0 >> 15n) & 1n),
  variant: Number(x0 >> 56n),
  reserved: (x0 >> 16n) & ((1n << 40n) - 1n),
});

describe('hypervisor_identify (spec §2)', () => {
  test('api_info decodes as Linux expects: API v1, 64-bit, little endian, variant 0x51', () => {
    const { a } = hypFixture();
    const r = a.call('hypervisor_identify');
    assert.equal(r.x[0], 0x5100_0000_0000_8001n);
    assert.deepEqual(linuxApiInfo(r.x[0]!), { api: 1, bigEndian: 0, is64bit: 1, variant: 0x51, reserved: 0n });
  });

  test('flags0: the implemented features and the FPRR scheduler; flags1 = flags2 = 0', () => {
    const { a } = hypFixture();
    const [, flags0, flags1, flags2, ...rest] = a.call('hypervisor_identify').x;
    const bit = (f: keyof typeof HYP_FEATURE) => (flags0! >> BigInt(HYP_FEATURE[f])) & 1n;
    // The seed's v1-v4 sysfs reads bits 0 and 2; v9+ asks gunyah_api_has_feature() for 1, 2, 5 and 6.
    assert.deepEqual([bit('partition_cspace'), bit('msgqueue')], [1n, 1n]);
    assert.deepEqual([bit('doorbell'), bit('vcpu'), bit('memextent')], [1n, 1n, 1n]);
    assert.deepEqual([bit('vpm'), bit('watchdog'), bit('virtio_mmio')], [0n, 0n, 0n], 'not emulated');
    assert.equal((flags0! >> 28n) & 0xfn, 1n, 'scheduler variant FPRR');
    assert.equal(flags0, 0x1000_0cefn);
    assert.deepEqual([flags1, flags2, ...rest], [0n, 0n, 0n, 0n, 0n, 0n]);
  });

  test('the same registers through SMCCC (0xC6008000) and native hvc 0x6000, whatever X1-X7 hold', () => {
    const { a } = hypFixture();
    const viaSmccc = smc(a.vcpu, IDENTIFY_SMCCC, [7, 8, 9, 10, 11, 12, 13]).x;
    const native = a.call('hypervisor_identify', [1, 2, 3, 4, 5, 6, 7, 8], 'native').x;
    assert.deepEqual(viaSmccc, native);
    assert.deepEqual(viaSmccc, a.call('hypervisor_identify').x);
  });

  test('SMCCC reads the function ID from W0: the top half of X0 is ignored', () => {
    const { a } = hypFixture();
    assert.equal(smc(a.vcpu, 0, []).err, -1, 'sanity: 0 is not identify');
    const regs = a.vcpu.regs;
    regs.fill(0);
    setReg(regs, 0, 0xdead_beef_0000_0000n | BigInt(IDENTIFY_SMCCC));
    a.vm.hyp.hypercall(a.vcpu, regs, 0);
    assert.equal(getReg(regs, 0), 0x5100_0000_0000_8001n);
  });

  test('the variant option changes the top byte (0x48, the other build)', () => {
    const { a } = hypFixture({ variant: 0x48 });
    assert.equal(linuxApiInfo(a.call('hypervisor_identify').x[0]!).variant, 0x48);
  });
});

describe('SMCCC services (spec §1.2)', () => {
  test('CALL_UID (uuid layout): Linux v11+ rebuilds c1d58fcd-a453-5fdb-9265-ce36673d5f14 from the low words', () => {
    const { a } = hypFixture();
    for (const fid of [SMCCC_CALL.VENDOR_HYP_CALL_UID, SMCCC_CALL.STANDARD_HYP_CALL_UID]) {
      const x = smc(a.vcpu, fid).x;
      assert.deepEqual(x.slice(0, 4), [0xcd8f_d5c1n, 0xdb5f_53a4n, 0x36ce_6592n, 0x145f_3d67n]);
      const bytes = Buffer.alloc(16);
      x.slice(0, 4).forEach((w, i) => bytes.writeUInt32LE(Number(w & 0xffffffffn), 4 * i));
      assert.equal(bytes.toString('hex'), 'c1d58fcda4535fdb9265ce36673d5f14');
      assert.deepEqual(x.slice(4), [0n, 0n, 0n, 0n]);
    }
  });

  test('CALL_UID (seed-v2 layout): the raw words the v2-v4 drivers compared', () => {
    const { a } = hypFixture({ callUidLayout: 'seed-v2' });
    const x = smc(a.vcpu, SMCCC_CALL.VENDOR_HYP_CALL_UID).x;
    assert.deepEqual(x.slice(0, 4), [0x673d_5f14n, 0x9265_ce36n, 0xa453_5fdbn, 0xc1d5_8fcdn]);
  });

  test('vendor REVISION is api_info; CALL_COUNT is deprecated (-1); standard REVISION is 1.0', () => {
    const { a } = hypFixture();
    assert.equal(smc(a.vcpu, SMCCC_CALL.VENDOR_HYP_REVISION).x[0], a.call('hypervisor_identify').x[0]);
    assert.equal(smc(a.vcpu, SMCCC_CALL.VENDOR_HYP_CALL_COUNT).x[0], MINUS_ONE);
    assert.deepEqual(smc(a.vcpu, SMCCC_CALL.STANDARD_HYP_REVISION).x.slice(0, 2), [1n, 0n]);
  });

  test('SMCCC_VERSION is 1.3 (0x10003)', () => {
    const { a } = hypFixture();
    assert.equal(smc(a.vcpu, SMCCC_CALL.SMCCC_VERSION).x[0], 0x10003n);
  });

  test('SMCCC_ARCH_FEATURES: 0 for SMCCC_VERSION and ARCH_FEATURES, NOT_SUPPORTED (-1) for anything else', () => {
    const { a } = hypFixture();
    const feature = (id: number | bigint) => smc(a.vcpu, SMCCC_CALL.SMCCC_ARCH_FEATURES, [id]).x[0];
    assert.equal(feature(SMCCC_CALL.SMCCC_VERSION), 0n);
    assert.equal(feature(SMCCC_CALL.SMCCC_ARCH_FEATURES), 0n);
    for (const id of [0x8000_8000, 0x8000_7fff, IDENTIFY_SMCCC, (1n << 32n) | BigInt(SMCCC_CALL.SMCCC_VERSION)]) {
      assert.equal(feature(id), MINUS_ONE, `feature ${id.toString(16)}`);
    }
  });

  test('unknown function IDs answer -1 with X1-X3 cleared', () => {
    const { a } = hypFixture();
    for (const fid of [0x8600_ff02, 0x8600_ff04, 0x8500_ff00, 0xc600_4000, 0xc600_0000, 0x8000_0002, 0xc600_8000 | 0x3fff, 0xc600_8008]) {
      const r = smc(a.vcpu, fid, [5, 6, 7]);
      assert.deepEqual(r.x.slice(0, 4), [MINUS_ONE, 0n, 0n, 0n], `0x${fid.toString(16)}`);
    }
  });

  test('the wrong call flavour answers -1: a hypercall without SMC64 or fast, a service with SMC64', () => {
    const { a } = hypFixture();
    const identifyAs32 = (IDENTIFY_SMCCC & ~(1 << 30)) >>> 0;
    const identifyYielding = (IDENTIFY_SMCCC & ~(1 << 31)) >>> 0;
    const uidAs64 = (SMCCC_CALL.VENDOR_HYP_CALL_UID | (1 << 30)) >>> 0;
    for (const fid of [identifyAs32, identifyYielding, uidAs64]) {
      assert.equal(smc(a.vcpu, fid).x[0], MINUS_ONE, `0x${fid.toString(16)}`);
    }
  });
});

describe('the native convention (spec §1.1)', () => {
  test('HVC immediates outside 0x6000-0x61FF answer -1', () => {
    const { a } = hypFixture();
    for (const imm of [1, 0x5fff, 0x6200, 0xffff]) {
      const regs = a.vcpu.regs;
      regs.fill(0);
      a.vm.hyp.hypercall(a.vcpu, regs, imm);
      assert.equal(getReg(regs, 0), MINUS_ONE, `hvc #0x${imm.toString(16)}`);
    }
  });

  test('call numbers with no hypercall (reserved, beyond the table) answer -1', () => {
    const { a } = hypFixture();
    for (const n of [0x08, 0x16, 0x1e, 0x69, 0x1ff]) {
      const regs = a.vcpu.regs;
      regs.fill(0);
      a.vm.hyp.hypercall(a.vcpu, regs, NATIVE_HVC.BASE + n);
      assert.equal(getReg(regs, 0), MINUS_ONE, `hvc #0x${(NATIVE_HVC.BASE + n).toString(16)}`);
      assert.equal(smc(a.vcpu, hypercallFunctionId(n)).x[0], MINUS_ONE, `0x${hypercallFunctionId(n).toString(16)}`);
    }
  });

  test('a hypercall reads its arguments from X0 natively and from X1 under SMCCC, and answers from X0', () => {
    const { a } = hypFixture();
    const db = a.doorbell();
    assert.deepEqual(a.call('doorbell_send', [db, 2n, 0], 'native').x.slice(0, 2), [0n, 0n]);
    assert.deepEqual(a.call('doorbell_send', [db, 4n, 0], 'smccc').x.slice(0, 2), [0n, 2n]);
  });
});
