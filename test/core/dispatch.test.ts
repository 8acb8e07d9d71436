// spec §1.1-§1.3: the dispatcher — reserved arguments checked for every call, results on error, statistics by call
// and result, and a fuzz run showing that no register file makes the core throw or answer an undefined X0.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GH_ERROR, GH_ERROR_CODES } from '../../core/abi/errors.js';
import { HC, HYPERCALLS, HYPERCALL_TABLE_SIZE } from '../../core/abi/hypercalls.js';
import { CALL_UID_LAYOUTS, hypercallFunctionId, NATIVE_HVC, SMCCC_CALL, SMCCC_VERSION_VALUE } from '../../core/abi/smccc.js';
import { hvc, smc } from '../../core/hyp/call.js';
import { HANDLERS } from '../../core/hyp/handlers.js';
import { apiInfo } from '../../core/hyp/identify.js';
import { getReg, getRegSigned, setReg } from '../../core/hyp/regs.js';
import { CALL_INDEX } from '../../core/hyp/stats.js';
import { hypFixture, RAM_BASE } from '../helpers/hyp-fixture.js';

const MINUS_ONE = 0xffff_ffff_ffff_ffffn;
const implemented = HYPERCALLS.filter((c) => HANDLERS[c.name] !== undefined);
/** Inputs that name a capability (spec §1.3 argument names): the fuzz gives them real capids most of the time. */
const CAPABILITY_INPUT = /^(partition|cspace|src_cspace|dst_cspace|cap|src_cap|master_cap|doorbell|msgqueue|vic|vcpu|thread|addrspace|memextent|parent|from_cap|to_cap|info_memextent)$/;
const withError = new Set<number>(implemented.filter((c) => (c.outputs as readonly string[])[0] === 'err').map((c) => c.n));

describe('reserved arguments (spec §1.3: R0 must be 0, R-1 must be -1)', () => {
  for (const conv of ['smccc', 'native'] as const) {
    test(`every implemented call refuses a bad reserved argument with ARGUMENT_INVALID (${conv})`, () => {
      const { a } = hypFixture();
      let checked = 0;
      for (const c of implemented) {
        const inputs = c.inputs as readonly string[];
        const valid: bigint[] = inputs.map((name) => (name === 'R-1' ? MINUS_ONE : 0n));
        inputs.forEach((name, k) => {
          if (name !== 'R0' && name !== 'R-1') return;
          for (const bad of name === 'R0' ? [1n, 1n << 63n] : [0n, 0xffff_fffen]) {
            const args = [...valid];
            args[k] = bad;
            const r = hvc(a.vcpu, c.name, args, conv);
            assert.deepEqual([r.err, ...r.x.slice(1)], [GH_ERROR.ARGUMENT_INVALID, 0n, 0n, 0n, 0n, 0n, 0n, 0n], `${c.name} ${name} = ${bad}`);
            checked++;
          }
        });
      }
      assert.ok(checked >= 40, `${checked} reserved arguments checked`);
    });
  }

  test('on an error only X0 is meaningful: X1-X7 are cleared', () => {
    const { a } = hypFixture();
    const regs = a.vcpu.regs;
    regs.fill(0x5a5a5a5a);
    setReg(regs, 0, hypercallFunctionId(HC.doorbell_send));
    setReg(regs, 3, 0);
    a.vm.hyp.hypercall(a.vcpu, regs, 0);
    assert.equal(getRegSigned(regs, 0), BigInt(GH_ERROR.ARGUMENT_INVALID));
    for (let i = 1; i < 8; i++) assert.equal(getReg(regs, i), 0n, `X${i}`);
  });
});

describe('results (spec §1.1: X0..X7 = results in order)', () => {
  /** Fill X0-X7 with garbage, write the call's inputs in `conv`, run it, and return X0-X7. */
  const raw = (f: ReturnType<typeof hypFixture>['a'], name: keyof typeof HC, args: bigint[], conv: 'smccc' | 'native') => {
    const regs = f.vcpu.regs;
    regs.fill(0x5a5a5a5a);
    const first = conv === 'smccc' ? 1 : 0;
    if (conv === 'smccc') setReg(regs, 0, hypercallFunctionId(HC[name]));
    args.forEach((v, i) => setReg(regs, first + i, v));
    f.vm.hyp.hypercall(f.vcpu, regs, conv === 'smccc' ? 0 : NATIVE_HVC.BASE + HC[name]);
    return Array.from({ length: 8 }, (_, i) => getReg(regs, i));
  };

  for (const conv of ['smccc', 'native'] as const) {
    test(`a call returns exactly its results and zero in the registers past them, whatever they held (${conv})`, () => {
      const { a, hyp } = hypFixture();
      const q = a.msgqueue(4, 64);
      a.vm.memory.writeBytes(RAM_BASE, new Uint8Array(24).fill(7));
      // Inputs and results share registers: the capid's high word sits where a result goes.
      assert.deepEqual(raw(a, 'msgqueue_send', [q, 24n, BigInt(RAM_BASE), 0n, 0n], conv), [0n, 1n, 0n, 0n, 0n, 0n, 0n, 0n]);
      assert.deepEqual(raw(a, 'msgqueue_receive', [q, BigInt(RAM_BASE + 0x100), 64n, 0n], conv), [0n, 24n, 0n, 0n, 0n, 0n, 0n, 0n]);
      assert.deepEqual(a.vm.memory.readBytes(RAM_BASE + 0x100, 24), new Uint8Array(24).fill(7));
      const empty = BigInt.asUintN(64, BigInt(GH_ERROR.MSGQUEUE_EMPTY));
      assert.deepEqual(raw(a, 'msgqueue_receive', [q, BigInt(RAM_BASE + 0x100), 64n, 0n], conv), [empty, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
      const db = a.doorbell();
      assert.deepEqual(raw(a, 'doorbell_send', [db, 0b101n, 0n], conv), [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
      assert.deepEqual(raw(a, 'doorbell_receive', [db, MINUS_ONE, 0n], conv), [0n, 0b101n, 0n, 0n, 0n, 0n, 0n, 0n]);
      assert.deepEqual(raw(a, 'hypervisor_identify', [], conv), [apiInfo(hyp), BigInt(hyp.identifyWords[2]!), 0n, 0n, 0n, 0n, 0n, 0n]);
    });
  }
});

describe('statistics (spec §1.3 call names, spec §3.1 result names)', () => {
  const counts = (hyp: ReturnType<typeof hypFixture>['hyp']) =>
    Object.fromEntries([...hyp.stats.entries()].map((e) => [`${e.call} ${e.result}`, e.count]));

  test('after a known sequence of calls, the counters hold exactly those calls by name and result', () => {
    const { hyp, a, b } = hypFixture();
    const db = a.doorbell();
    a.call('hypervisor_identify');
    a.call('hypervisor_identify', [], 'native');
    for (let i = 0; i < 3; i++) a.call('doorbell_send', [db, 1n, 0]);
    b.call('doorbell_send', [db, 1n, 0]);
    a.call('doorbell_receive', [db, 0n, 0]);
    a.call('partition_create_watchdog', [a.partition, a.cspace, 0]);
    smc(a.vcpu, SMCCC_CALL.SMCCC_VERSION);
    smc(a.vcpu, SMCCC_CALL.VENDOR_HYP_CALL_COUNT);
    smc(a.vcpu, SMCCC_CALL.SMCCC_ARCH_FEATURES, [0x8000_8000]);
    smc(a.vcpu, 0x8600_ff02);
    a.vm.hyp.hypercall(a.vcpu, a.vcpu.regs, 1);
    assert.deepEqual(counts(hyp), {
      'partition_create_doorbell OK': 1,
      'object_activate OK': 1,
      'hypervisor_identify OK': 2,
      'doorbell_send OK': 3,
      'doorbell_send ERROR_ARGUMENT_INVALID': 1,
      'doorbell_receive ERROR_ARGUMENT_INVALID': 1,
      'smccc_version OK': 1,
      'vendor_hyp_call_count ERROR_UNIMPLEMENTED': 1,
      'smccc_arch_features ERROR_UNIMPLEMENTED': 1,
      'unknown ERROR_UNIMPLEMENTED': 3,
    });
    assert.equal(hyp.stats.total(HC.doorbell_send), 4);
    assert.equal(hyp.stats.total(CALL_INDEX.UNKNOWN), 3);
  });

  test('per-VM and per-vCPU hypercall counters', () => {
    const { a, b } = hypFixture({ vcpus: 2 });
    const [v0, v1] = a.vm.vcpus;
    for (let i = 0; i < 3; i++) hvc(v0!, 'hypervisor_identify');
    for (let i = 0; i < 2; i++) hvc(v1!, 'doorbell_send', [0, 0, 0]);
    smc(v1!, SMCCC_CALL.SMCCC_VERSION);
    b.call('hypervisor_identify');
    assert.deepEqual([v0!.hypercalls, v1!.hypercalls, a.vm.hypercalls, b.vm.hypercalls, b.vcpu.hypercalls], [3, 3, 6, 1, 1]);
  });

  test('with stats.enabled = false nothing is counted', () => {
    const { hyp, a } = hypFixture();
    hyp.stats.enabled = false;
    a.call('hypervisor_identify');
    a.call('doorbell_send', [0, 0, 0]);
    smc(a.vcpu, SMCCC_CALL.SMCCC_VERSION);
    a.vm.hyp.hypercall(a.vcpu, a.vcpu.regs, 7);
    assert.deepEqual([[...hyp.stats.entries()], a.vcpu.hypercalls, a.vm.hypercalls], [[], 0, 0]);
    hyp.stats.enabled = true;
    a.call('hypervisor_identify');
    assert.deepEqual(counts(hyp), { 'hypervisor_identify OK': 1 });
  });
});

describe('nothing throws out of the core', () => {
  test('5,000 random register files through hyp.hypercall in both conventions: X0 is always a defined value', () => {
    const { hyp, a, b } = hypFixture({ vcpus: 2 });
    const q = a.msgqueue();
    const pool = [a.partition, a.cspace, a.vic, q, a.doorbell(), a.create('thread'), a.create('vic'), b.doorbell(), b.cspace];
    const uid = CALL_UID_LAYOUTS[hyp.callUidLayout].map(BigInt);
    const defined = new Set<bigint>([...GH_ERROR_CODES.map(BigInt), apiInfo(hyp), BigInt(SMCCC_VERSION_VALUE), ...uid]);

    const u64 = fc.bigInt({ min: 0n, max: MINUS_ONE });
    const value = fc.oneof(
      u64,
      fc.bigInt({ min: 0n, max: 64n }),
      fc.constant(MINUS_ONE),
      fc.constantFrom(...pool),
      fc.bigInt({ min: BigInt(RAM_BASE), max: BigInt(RAM_BASE + 0x2000) }),
    );
    const reserved = (wanted: bigint) => fc.oneof({ weight: 9, arbitrary: fc.constant(wanted) }, { weight: 1, arbitrary: value });
    const capid = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...pool) }, { weight: 1, arbitrary: value });
    const input = (name: string) =>
      name === 'R0' ? reserved(0n) : name === 'R-1' ? reserved(MINUS_ONE) : CAPABILITY_INPUT.test(name) ? capid : value;
    const padded = (head: bigint[]) => fc.array(value, { minLength: 8 - head.length, maxLength: 8 - head.length }).map((tail) => [...head, ...tail]);
    // Most register files follow a call's input list (reserved arguments mostly right), so handlers run deep.
    const wellFormed = fc.constantFrom(...HYPERCALLS).chain((c) =>
      fc.tuple(fc.boolean(), fc.tuple(...(c.inputs as readonly string[]).map(input))).chain(([native, args]) =>
        native
          ? padded(args).map((x) => ({ imm: NATIVE_HVC.BASE + c.n, x }))
          : padded([BigInt(hypercallFunctionId(c.n)), ...args].slice(0, 8)).map((x) => ({ imm: 0, x }))));
    const functionId = fc.oneof(
      fc.integer({ min: 0, max: HYPERCALL_TABLE_SIZE }).map((n) => BigInt(hypercallFunctionId(n))),
      fc.constantFrom(...Object.values(SMCCC_CALL).map(BigInt)),
      u64,
    );
    const call = fc.oneof(
      { weight: 8, arbitrary: wellFormed },
      { weight: 1, arbitrary: functionId.chain((f) => padded([f])).map((x) => ({ imm: 0, x })) },
      { weight: 1, arbitrary: fc.record({ imm: fc.integer({ min: NATIVE_HVC.BASE, max: NATIVE_HVC.LAST }), x: padded([]) }) },
      { weight: 1, arbitrary: fc.record({ imm: fc.integer({ min: 0, max: 0xffff }), x: padded([]) }) },
    );
    fc.assert(
      fc.property(call, fc.boolean(), ({ imm, x }, onSecondVcpu) => {
        const vcpu = a.vm.vcpus[onSecondVcpu ? 1 : 0]!;
        const regs = vcpu.regs;
        x.forEach((v, i) => setReg(regs, i, v));
        const fid = Number(getReg(regs, 0) & 0xffffffffn);
        assert.doesNotThrow(() => hyp.hypercall(vcpu, regs, imm));
        const x0 = getRegSigned(regs, 0);
        assert.ok(defined.has(x0) || defined.has(getReg(regs, 0)), `X0 = ${x0} (imm 0x${imm.toString(16)})`);
        // A call with an error word that failed leaves X1-X7 clear.
        const n = imm === 0 ? ((fid & 0xffffc000) >>> 0 === 0xc6008000 ? fid & 0x3fff : -1) : imm - NATIVE_HVC.BASE;
        if (withError.has(n) && x0 !== 0n) for (let i = 1; i < 8; i++) assert.equal(getReg(regs, i), 0n, `X${i} after ${x0}`);
      }),
      { seed: 0xf022, numRuns: 5000 },
    );
    const succeeded = new Set([...hyp.stats.entries()].filter((e) => e.result === 'OK').map((e) => e.call));
    assert.ok(succeeded.size >= 20, `the fuzz reaches into the handlers: ${succeeded.size} calls succeeded at least once`);
  });
});
