// Raw hypercall registers from a secondary VM's vCPU on a booted device (issue 8, item 2). The prey VM holds only
// what the RM gave it (its RM link ends, its vdevice queue and doorbell ends); the fuzz mixes its own capids, the
// HLOS's and the RM's (another cspace's), and random words, in well-formed and random register files of both
// conventions. After every case: the call answered a defined X0 without throwing, and the device's invariants hold
// (the HLOS's RM round trip, queue accounting, no guest crashed, RM and HLOS agree). Unlike
// test/core/dispatch.test.ts (a bare hypervisor), the calls land among running guests and RM traffic.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { GH_ERROR_CODES } from '../../core/abi/errors.js';
import { HYPERCALLS, HYPERCALL_TABLE_SIZE } from '../../core/abi/hypercalls.js';
import { CALL_UID_LAYOUTS, hypercallFunctionId, NATIVE_HVC, SMCCC_CALL, SMCCC_VERSION_VALUE } from '../../core/abi/smccc.js';
import { VMID } from '../../core/abi/vmid.js';
import { apiInfo } from '../../core/hyp/identify.js';
import { getReg, getRegSigned, newRegisterFile, setReg } from '../../core/hyp/regs.js';
import { CAPABILITY_INPUT } from '../security/cap-calls.js';
import { fuzzParams, FUZZ_SEED } from './fuzz-config.js';
import { fuzzDevice, type FuzzDevice } from './fuzz-device.js';

const MINUS_ONE = 0xffff_ffff_ffff_ffffn;
let dev: FuzzDevice;

before(async () => {
  dev = await fuzzDevice(FUZZ_SEED);
});
after(() => dev.close());

test('random hypercall registers from a secondary VM\'s vCPU: a defined answer every time, and the device intact', async (t) => {
  const { device, prey } = dev;
  const hyp = device.hyp;
  const capidsOf = (vmid: number) => [...hyp.vms.get(vmid)!.cspace.caps()].map((c) => c.cspace.capid(c.slot));
  const own = capidsOf(prey.vmid);
  const foreign = [...capidsOf(VMID.HLOS), ...capidsOf(VMID.RM), ...capidsOf(dev.vmids.echo)];
  const memory = device.hlos.vms.get(prey.vmid)!.memory!;
  const defined = new Set<bigint>([
    ...GH_ERROR_CODES.map(BigInt), apiInfo(hyp), BigInt(SMCCC_VERSION_VALUE), ...CALL_UID_LAYOUTS[hyp.callUidLayout].map(BigInt),
  ]);

  const u64 = fc.bigInt({ min: 0n, max: MINUS_ONE });
  // Addresses in and around the prey's own memory (buffers for send and receive).
  const address = fc.integer({ min: memory.base - 0x1000, max: memory.base + memory.size + 0x1000 }).map(BigInt);
  // Sizes, flags, counts and indexes: the small values handlers accept, and their edges.
  const small = fc.oneof(fc.constantFrom(0n, 1n, 4n, 8n, 16n, 240n, 241n), fc.bigInt({ min: 0n, max: 300n }));
  const value = fc.oneof(u64, small, fc.constant(MINUS_ONE), fc.constantFrom(...own, ...foreign), address);
  const mostly = <T>(likely: fc.Arbitrary<T>, other: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 4, arbitrary: likely }, { weight: 1, arbitrary: other });
  const capid = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...own) }, { weight: 2, arbitrary: fc.constantFrom(...foreign) }, { weight: 1, arbitrary: value });
  // Each argument drawn by what its name says it is (spec §1.3 names), so well-formed calls reach deep.
  const input = (name: string) => {
    if (name === 'R0') return mostly(fc.constant(0n), value);
    if (name === 'R-1') return mostly(fc.constant(MINUS_ONE), value);
    if (CAPABILITY_INPUT.test(name)) return capid;
    if (/_va$|ipa|vbase|^base$/.test(name)) return mostly(address, value);
    if (/size|bytes|thresh|index|sel|priority/.test(name)) return mostly(small, value);
    if (/flags|mask|control|type|options/.test(name)) return mostly(fc.constantFrom(0n, 1n, 2n, 3n), value);
    return value;
  };
  const padded = (head: bigint[]) => fc.array(value, { minLength: 8 - head.length, maxLength: 8 - head.length }).map((tail) => [...head, ...tail]);
  const wellFormed = fc.constantFrom(...HYPERCALLS).chain((c) =>
    fc.tuple(fc.boolean(), fc.tuple(...(c.inputs as readonly string[]).map(input))).chain(([native, args]) =>
      native
        ? padded(args).map((x) => ({ imm: NATIVE_HVC.BASE + c.n, x }))
        : padded([BigInt(hypercallFunctionId(c.n)), ...args].slice(0, 8)).map((x) => ({ imm: 0, x }))));
  const functionId = fc.oneof(
    fc.integer({ min: 0, max: HYPERCALL_TABLE_SIZE + 4 }).map((n) => BigInt(hypercallFunctionId(n))),
    fc.constantFrom(...Object.values(SMCCC_CALL).map(BigInt)),
    u64,
  );
  const call = fc.oneof(
    { weight: 12, arbitrary: wellFormed },
    { weight: 1, arbitrary: functionId.chain((f) => padded([f])).map((x) => ({ imm: 0, x })) },
    { weight: 1, arbitrary: fc.record({ imm: fc.integer({ min: 0, max: 0xffff }), x: padded([]) }) },
  );

  // Its own register file: the prey's vCPU makes the call, the guest runtime's registers stay untouched.
  const regs = newRegisterFile();
  const succeeded = new Set<number>();
  let cases = 0;
  await fc.assert(
    fc.asyncProperty(call, async ({ imm, x }) => {
      cases++;
      x.forEach((v, i) => setReg(regs, i, v));
      const fid = Number(getReg(regs, 0) & 0xffffffffn);
      assert.doesNotThrow(() => hyp.hypercall(prey.vcpus[0]!, regs, imm));
      const x0 = getRegSigned(regs, 0);
      assert.ok(defined.has(x0) || defined.has(getReg(regs, 0)), `X0 = ${x0}`);
      const n = imm === 0 ? ((fid & 0xffffc000) >>> 0 === 0xc6008000 ? fid & 0x3fff : -1) : imm - NATIVE_HVC.BASE;
      if (x0 === 0n && n >= 0) succeeded.add(n);
      await dev.check();
    }),
    fuzzParams(4000),
  );
  // The prey reaches its own objects: queue sends and receives, doorbell rings, entropy, ...
  const names = [...succeeded].map((n) => HYPERCALLS.find((c) => c.n === n)?.name ?? String(n));
  t.diagnostic(`${cases} cases; calls that succeeded at least once: ${names.join(', ')}`);
  assert.ok(succeeded.size >= 8, `only ${names.join(', ')} succeeded`);
});
