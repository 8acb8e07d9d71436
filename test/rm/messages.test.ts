import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HYP_RESOURCE_ENTRY_SIZE, RM_ERROR, RM_HOST_TYPE } from '../../core/abi/rm.js';
import {
  AclEntry,
  EmptyPayload,
  HypResourceEntry,
  MemAcceptReply,
  MemAcceptRequest,
  MemAcceptedNotification,
  MemAppendRequest,
  MemHandleReply,
  MemNotifyRequest,
  MemReleaseRequest,
  MemSharedNotification,
  MemparcelCreateRequest,
  VmAllocateReply,
  VmConfigImageRequest,
  VmConsoleCharsNotification,
  VmConsoleWriteRequest,
  VmExitRequest,
  VmExitedNotification,
  VmGetHypResourcesReply,
  VmGetStateReply,
  VmGetVmidReply,
  VmHostGetTypeReply,
  VmSetStatusRequest,
  VmShutdownNotification,
  VmStatusNotification,
  VmStopRequest,
  VmidRequest,
  isRmError,
  type Codec,
  type HypResource,
} from '../../core/rm/messages.js';

const SEED = 0x6779;
const { MSG_INVALID, ARGUMENT_INVALID } = RM_ERROR;

function encoded<T>(codec: Codec<T>, value: T): Uint8Array {
  const b = codec.encode(value);
  assert.ok(!isRmError(b), `encode refused with RM error ${String(b)}`);
  return b;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u8 = (...b: number[]) => Uint8Array.from(b);
const withByte = (b: Uint8Array, extra = 0) => Uint8Array.from([...b, extra]);

const lend = {
  memType: 0,
  flags: 1,
  label: 0x11223344,
  acl: [{ vmid: 0x80, rights: 6 }],
  sgl: [{ ipa: 0x8000_0000n, size: 0x20_0000n }, { ipa: 0x9000_0000n, size: 0x1000n }],
  attrs: [{ attr: 3, vmid: 0x80 }],
};

/** [name, codec, a value, its encoded length, whether the RM wants that length exactly]. */
const FIXED: [string, Codec<any>, unknown, number][] = [
  ['VmidRequest', VmidRequest, { vmid: 0x80 }, 4],
  ['EmptyPayload', EmptyPayload, {}, 0],
  ['VmStopRequest', VmStopRequest, { vmid: 0x81, flags: 1, stopReason: 3 }, 8],
  ['VmConfigImageRequest', VmConfigImageRequest, {
    vmid: 0x80, auth: 0, memHandle: 7, imageOffset: 0n, imageSize: 0n, dtbOffset: 0x1000n, dtbSize: 0x2000n,
  }, 40],
  ['VmGetStateReply', VmGetStateReply, { vmStatus: 3, osStatus: 4, appStatus: 0xabcd }, 4],
  ['VmGetVmidReply', VmGetVmidReply, { vmid: 3 }, 4],
  ['VmHostGetTypeReply', VmHostGetTypeReply, { hostType: RM_HOST_TYPE }, 4],
  ['VmExitRequest', VmExitRequest, { exitFlags: 1, exitCode: 4 }, 4],
  ['VmSetStatusRequest', VmSetStatusRequest, { osStatus: 4, appStatus: 0x1234 }, 4],
  ['VmStatusNotification', VmStatusNotification, { vmid: 0x80, vmStatus: 3, osStatus: 4, appStatus: 9 }, 8],
  ['VmShutdownNotification', VmShutdownNotification, { stopReason: 3 }, 4],
  ['MemHandleReply', MemHandleReply, { handle: 0xffff_fffe }, 4],
  ['MemAcceptedNotification', MemAcceptedNotification, { handle: 1, vmid: 0x80, memInfoTag: 0xfeed }, 12],
];

describe('fixed-size payloads', () => {
  for (const [name, codec, value, size] of FIXED) {
    it(`${name} round-trips in ${size} bytes and refuses any other length with MSG_INVALID`, () => {
      const b = encoded(codec, value);
      assert.equal(b.length, size);
      assert.deepEqual(codec.decode(b), value);
      assert.equal(codec.decode(withByte(b)), MSG_INVALID);
      if (size > 0) assert.equal(codec.decode(b.subarray(1)), MSG_INVALID);
    });
  }

  it('VM_STOP lays out vmid, flags, a reserved byte and stop_reason', () => {
    assert.equal(hex(encoded(VmStopRequest, { vmid: 0x0181, flags: 1, stopReason: 3 })), '8101010003000000');
  });

  it('VM_GET_STATE reply is the u32 vm_status | os_status << 8 | app_status << 16', () => {
    const b = encoded(VmGetStateReply, { vmStatus: 3, osStatus: 4, appStatus: 0x0102 });
    assert.equal(new DataView(b.buffer).getUint32(0, true), 3 | (4 << 8) | (0x0102 << 16));
  });

  it('VM_SET_STATUS ignores byte 0 and reads os_status from byte 1, app_status from bytes 2-3', () => {
    assert.deepEqual(VmSetStatusRequest.decode(u8(0xff, 5, 0x34, 0x12)), { osStatus: 5, appStatus: 0x1234 });
  });

  it('VM_EXIT refuses exit code 2 (UNKNOWN), unknown codes and a non-zero reserved byte with MSG_INVALID', () => {
    assert.equal(VmExitRequest.decode(u8(0, 0, 2, 0)), MSG_INVALID);
    assert.equal(VmExitRequest.decode(u8(0, 0, 5, 0)), MSG_INVALID);
    assert.equal(VmExitRequest.decode(u8(0, 0, 1, 1)), MSG_INVALID);
    assert.deepEqual(VmExitRequest.decode(u8(1, 0, 3, 0)), { exitFlags: 1, exitCode: 3 });
    assert.equal(VmExitRequest.encode({ exitFlags: 0, exitCode: 2 }), MSG_INVALID);
  });

  it('VM_ALLOCATE reply carries a u32 VMID when dynamic and no data when a fixed VMID was asked for', () => {
    assert.equal(hex(encoded(VmAllocateReply, { vmid: 0x80 })), '80000000');
    assert.equal(encoded(VmAllocateReply, { vmid: null }).length, 0);
    assert.deepEqual(VmAllocateReply.decode(u8(0x81, 0, 0, 0)), { vmid: 0x81 });
    assert.deepEqual(VmAllocateReply.decode(u8()), { vmid: null });
    assert.equal(VmAllocateReply.decode(u8(0x81, 0)), MSG_INVALID);
  });

  it('encode refuses values that do not fit their field with ARGUMENT_INVALID', () => {
    assert.equal(VmidRequest.encode({ vmid: 0x10000 }), ARGUMENT_INVALID);
    assert.equal(VmidRequest.encode({ vmid: -1 }), ARGUMENT_INVALID);
    assert.equal(VmidRequest.encode({ vmid: 1.5 }), ARGUMENT_INVALID);
    assert.equal(VmStopRequest.encode({ vmid: 1, flags: 256, stopReason: 0 }), ARGUMENT_INVALID);
    const image = { vmid: 1, auth: 0, memHandle: 0, imageOffset: 0n, imageSize: 0n, dtbOffset: 0n, dtbSize: 0n };
    assert.equal(VmConfigImageRequest.encode({ ...image, dtbSize: -1n }), ARGUMENT_INVALID);
    assert.equal(VmConfigImageRequest.encode({ ...image, dtbSize: 2n ** 64n }), ARGUMENT_INVALID);
    assert.equal(VmConfigImageRequest.encode({ ...image, dtbSize: 5 as unknown as bigint }), ARGUMENT_INVALID);
    assert.equal(VmidRequest.encode(null as never), ARGUMENT_INVALID);
    assert.equal(VmConsoleWriteRequest.encode(undefined as never), ARGUMENT_INVALID);
    assert.equal(MemparcelCreateRequest.encode({ ...lend, acl: undefined as never }), ARGUMENT_INVALID);
  });
});

describe('payloads with counted bytes', () => {
  it('VM_CONSOLE_WRITE is vmid, num_bytes, bytes; the length must equal 4 + num_bytes', () => {
    const b = encoded(VmConsoleWriteRequest, { vmid: 0, bytes: u8(0x68, 0x69) });
    assert.equal(hex(b), '000002006869');
    assert.deepEqual(VmConsoleWriteRequest.decode(b), { vmid: 0, bytes: u8(0x68, 0x69) });
    assert.equal(VmConsoleWriteRequest.decode(withByte(b)), MSG_INVALID);
    assert.equal(VmConsoleWriteRequest.decode(b.subarray(0, 5)), MSG_INVALID);
    assert.equal(VmConsoleWriteRequest.decode(u8(0, 0, 0)), MSG_INVALID);
    assert.deepEqual(VmConsoleWriteRequest.decode(u8(5, 0, 0, 0)), { vmid: 5, bytes: u8() });
  });

  it('VM_CONSOLE_WRITE refuses more bytes than num_bytes can count', () => {
    assert.equal(VmConsoleWriteRequest.encode({ vmid: 0, bytes: new Uint8Array(0x10000) }), ARGUMENT_INVALID);
  });

  it('VM_CONSOLE_CHARS round-trips the writer vmid and the characters', () => {
    const value = { vmid: 0x80, bytes: new TextEncoder().encode('login: ') };
    assert.deepEqual(VmConsoleCharsNotification.decode(encoded(VmConsoleCharsNotification, value)), value);
  });

  it('VM_EXITED carries vmid, exit_type, exit_reason_size and the reason bytes', () => {
    const reason = u8(0x01, 0x00, 0x03, 0x00); // exit_flags 1 | exit_code 3 << 16
    const b = encoded(VmExitedNotification, { vmid: 0x80, exitType: 0, reason });
    assert.equal(hex(b), '80000000' + '04000000' + '01000300');
    assert.deepEqual(VmExitedNotification.decode(b), { vmid: 0x80, exitType: 0, reason });
    assert.equal(VmExitedNotification.decode(b.subarray(0, 11)), MSG_INVALID);
  });
});

describe('VM_GET_HYP_RESOURCES (spec §9.6)', () => {
  const msgqTx: HypResource = {
    type: 2,
    partnerVmid: 0xff,
    resourceHandle: 0x11111111,
    resourceLabel: 0x22222222,
    capid: 0x0102030405060708n,
    virqHandle: 0x33333333,
    virq: 0x44444444,
    base: 0x1112131415161718n,
    size: 0x2122232425262728n,
  };

  it('places every entry field at its offset', () => {
    const b = encoded(HypResourceEntry, msgqTx);
    assert.equal(b.length, HYP_RESOURCE_ENTRY_SIZE);
    const v = new DataView(b.buffer);
    assert.equal(v.getUint8(0), 2);
    assert.equal(v.getUint8(1), 0);
    assert.equal(v.getUint16(2, true), 0xff);
    assert.equal(v.getUint32(4, true), 0x11111111);
    assert.equal(v.getUint32(8, true), 0x22222222);
    assert.equal(v.getUint32(12, true), 0x05060708); // capid lo
    assert.equal(v.getUint32(16, true), 0x01020304); // capid hi
    assert.equal(v.getUint32(20, true), 0x33333333);
    assert.equal(v.getUint32(24, true), 0x44444444);
    assert.equal(v.getBigUint64(28, true), 0x1112131415161718n);
    assert.equal(v.getBigUint64(36, true), 0x2122232425262728n);
  });

  it('reply is n_entries u32 then the entries, and any other length is MSG_INVALID', () => {
    const entries = [msgqTx, { ...msgqTx, type: 3, virq: 0 }];
    const b = encoded(VmGetHypResourcesReply, { entries });
    assert.equal(b.length, 4 + 2 * HYP_RESOURCE_ENTRY_SIZE);
    assert.equal(new DataView(b.buffer).getUint32(0, true), 2);
    assert.deepEqual(VmGetHypResourcesReply.decode(b), { entries });
    assert.equal(VmGetHypResourcesReply.decode(b.subarray(0, b.length - 1)), MSG_INVALID);
    assert.equal(VmGetHypResourcesReply.decode(withByte(b)), MSG_INVALID);
    assert.deepEqual(VmGetHypResourcesReply.decode(u8(0, 0, 0, 0)), { entries: [] });
    assert.equal(VmGetHypResourcesReply.decode(u8()), MSG_INVALID);
  });
});

describe('memory parcels (spec §7.2)', () => {
  it('MEM_LEND lays out header, ACL list (u32 count), SGL list and attr list', () => {
    const b = encoded(MemparcelCreateRequest, lend);
    assert.equal(
      hex(b),
      '00000100' + '44332211' + // mem_type, res, flags SANITIZE, res, label
        '01000000' + '80000600' + // ACL: count 1, {vmid 0x80, rights RW}
        '02000000' + '0000008000000000' + '0000200000000000' + '0000009000000000' + '0010000000000000' +
        '01000000' + '03008000', // attrs: count 1, {CACHED, vmid 0x80}
    );
    assert.deepEqual(MemparcelCreateRequest.decode(b), lend);
  });

  it('reads an absent attr list at the end of the buffer as empty, but requires the ACL and SGL lists', () => {
    const b = encoded(MemparcelCreateRequest, { ...lend, attrs: [] });
    assert.deepEqual(MemparcelCreateRequest.decode(b.subarray(0, b.length - 4)), { ...lend, attrs: [] });
    const sglStart = 8 + 4 + 4;
    assert.equal(MemparcelCreateRequest.decode(b.subarray(0, sglStart)), MSG_INVALID);
    assert.equal(MemparcelCreateRequest.decode(b.subarray(0, 8)), MSG_INVALID);
    assert.equal(MemparcelCreateRequest.decode(b.subarray(0, 7)), MSG_INVALID);
  });

  it('refuses bytes left over, a truncated list, and more than 512 entries with MSG_INVALID', () => {
    const b = encoded(MemparcelCreateRequest, lend);
    assert.equal(MemparcelCreateRequest.decode(Uint8Array.from([...b, 0, 0, 0, 0])), MSG_INVALID);
    assert.equal(MemparcelCreateRequest.decode(b.subarray(0, b.length - 2)), MSG_INVALID);
    const tooMany = b.slice();
    new DataView(tooMany.buffer).setUint16(16, 513, true); // SGL count
    assert.equal(MemparcelCreateRequest.decode(tooMany), MSG_INVALID);
    const aclHigh = b.slice();
    aclHigh[10] = 1; // the ACL count is a u32: 0x10001 entries
    assert.equal(MemparcelCreateRequest.decode(aclHigh), MSG_INVALID);
    const many = Array.from({ length: 513 }, () => ({ ipa: 0n, size: 0x1000n }));
    assert.equal(MemparcelCreateRequest.encode({ ...lend, sgl: many }), ARGUMENT_INVALID);
    assert.ok(!isRmError(MemparcelCreateRequest.encode({ ...lend, sgl: many.slice(0, 512) })));
  });

  it('accepts only R, RX, RW and RWX ACL rights (ARGUMENT_INVALID otherwise)', () => {
    for (const rights of [4, 5, 6, 7]) assert.ok(!isRmError(AclEntry.encode({ vmid: 3, rights })));
    for (const rights of [0, 1, 2, 3, 8]) {
      assert.equal(AclEntry.encode({ vmid: 3, rights }), ARGUMENT_INVALID);
      assert.equal(AclEntry.decode(u8(3, 0, rights, 0)), ARGUMENT_INVALID);
    }
    const b = encoded(MemparcelCreateRequest, lend);
    b[14] = 3; // rights byte of the only ACL entry
    assert.equal(MemparcelCreateRequest.decode(b), ARGUMENT_INVALID);
  });

  it('MEM_ACCEPT carries map_vmid in the SGL list second u16', () => {
    const accept = {
      handle: 9, memType: 0, transType: 1, flags: 0x80 | 0x2, label: 5,
      acl: [{ vmid: 0x80, rights: 7 }], sgl: [], mapVmid: 0x80, attrs: [],
    };
    const b = encoded(MemAcceptRequest, accept);
    const v = new DataView(b.buffer);
    assert.equal(v.getUint16(12 + 4 + 4, true), 0, 'SGL count');
    assert.equal(v.getUint16(12 + 4 + 4 + 2, true), 0x80, 'map_vmid');
    assert.deepEqual(MemAcceptRequest.decode(b), accept);
  });

  it('MEM_ACCEPT reply is sgl_entries u16, flags u8, a reserved byte, then SGL entries', () => {
    const reply = { flags: 1, sgl: [{ ipa: 0x4000_0000n, size: 0x1000n }] };
    const b = encoded(MemAcceptReply, reply);
    assert.equal(hex(b.subarray(0, 4)), '01000100');
    assert.deepEqual(MemAcceptReply.decode(b), reply);
  });

  it('MEM_APPEND is handle, flags, 3 reserved bytes, then one SGL list', () => {
    const append = { handle: 2, flags: 1, sgl: [{ ipa: 0x1000n, size: 0x1000n }] };
    const b = encoded(MemAppendRequest, append);
    assert.equal(b.length, 8 + 4 + 16);
    assert.deepEqual(MemAppendRequest.decode(b), append);
    assert.equal(MemAppendRequest.decode(b.subarray(0, 8)), MSG_INVALID);
  });

  it('MEM_RELEASE and MEM_RECLAIM need at least 8 bytes, as the RM checks', () => {
    const b = encoded(MemReleaseRequest, { handle: 4, flags: 1 });
    assert.equal(hex(b), '0400000001000000');
    assert.deepEqual(MemReleaseRequest.decode(Uint8Array.from([...b, 0, 0, 0, 0])), { handle: 4, flags: 1 });
    assert.equal(MemReleaseRequest.decode(b.subarray(0, 7)), MSG_INVALID);
  });

  it('MEM_NOTIFY has an optional VMID list after its 12-byte header', () => {
    const shared = { handle: 1, flags: 1, memInfoTag: 0x77, vmids: [{ vmid: 0x80 }, { vmid: 0x81 }] };
    const b = encoded(MemNotifyRequest, shared);
    assert.equal(hex(b.subarray(12)), '02000000' + '80000000' + '81000000');
    assert.deepEqual(MemNotifyRequest.decode(b), shared);
    assert.deepEqual(MemNotifyRequest.decode(b.subarray(0, 12)), { ...shared, vmids: [] });
  });

  it('MEM_SHARED notification round-trips owner, label, tag and all three lists', () => {
    const notification = { handle: 3, memType: 0, transType: 2, flags: 0, ownerVmid: 3, label: 8, memInfoTag: 0x99,
      acl: [{ vmid: 3, rights: 7 }, { vmid: 0x80, rights: 6 }], sgl: lend.sgl, attrs: [] };
    const b = encoded(MemSharedNotification, notification);
    assert.equal(new DataView(b.buffer).getUint16(8, true), 3, 'owner_vmid at offset 8');
    assert.deepEqual(MemSharedNotification.decode(b), notification);
  });
});

describe('round trips (property, fixed seed)', () => {
  const record = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }) =>
    fc.record(model, { noNullPrototype: true });
  const u8a = fc.integer({ min: 0, max: 0xff });
  const u16 = fc.integer({ min: 0, max: 0xffff });
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
  const acl = fc.array(record({ vmid: u16, rights: fc.constantFrom(4, 5, 6, 7) }), { maxLength: 6 });
  const sgl = fc.array(record({ ipa: u64, size: u64 }), { maxLength: 6 });
  const attrs = fc.array(record({ attr: u16, vmid: u16 }), { maxLength: 6 });
  const cases: [string, Codec<any>, fc.Arbitrary<unknown>][] = [
    ['VmStopRequest', VmStopRequest, record({ vmid: u16, flags: u8a, stopReason: u32 })],
    ['VmConfigImageRequest', VmConfigImageRequest, record({
      vmid: u16, auth: u16, memHandle: u32, imageOffset: u64, imageSize: u64, dtbOffset: u64, dtbSize: u64 })],
    ['VmStatusNotification', VmStatusNotification,
      record({ vmid: u16, vmStatus: u8a, osStatus: u8a, appStatus: u16 })],
    ['VmConsoleWriteRequest', VmConsoleWriteRequest, record({ vmid: u16, bytes: fc.uint8Array({ maxLength: 300 }) })],
    ['VmExitedNotification', VmExitedNotification,
      record({ vmid: u16, exitType: u16, reason: fc.uint8Array({ maxLength: 16 }) })],
    ['VmGetHypResourcesReply', VmGetHypResourcesReply, record({
      entries: fc.array(record({ type: u8a, partnerVmid: u16, resourceHandle: u32, resourceLabel: u32, capid: u64,
        virqHandle: u32, virq: u32, base: u64, size: u64 }), { maxLength: 5 }) })],
    ['MemparcelCreateRequest', MemparcelCreateRequest,
      record({ memType: u8a, flags: u8a, label: u32, acl, sgl, attrs })],
    ['MemAcceptRequest', MemAcceptRequest, record({ handle: u32, memType: u8a, transType: u8a, flags: u8a,
      label: u32, acl, sgl, mapVmid: u16, attrs })],
    ['MemAcceptReply', MemAcceptReply, record({ flags: u8a, sgl })],
    ['MemSharedNotification', MemSharedNotification, record({ handle: u32, memType: u8a, transType: u8a,
      flags: u8a, ownerVmid: u16, label: u32, memInfoTag: u32, acl, sgl, attrs })],
  ];
  for (const [name, codec, arbitrary] of cases) {
    it(`${name}: decode(encode(v)) is v`, () => {
      fc.assert(
        fc.property(arbitrary, (value) => {
          assert.deepEqual(codec.decode(encoded(codec, value)), value);
        }),
        { seed: SEED, numRuns: 200 },
      );
    });
  }
});

describe('decoders never throw', () => {
  const codecs: [string, Codec<unknown>][] = [
    ...FIXED.map(([name, codec]) => [name, codec] as [string, Codec<unknown>]),
    ['VmConsoleWriteRequest', VmConsoleWriteRequest],
    ['VmExitedNotification', VmExitedNotification],
    ['VmGetHypResourcesReply', VmGetHypResourcesReply],
    ['MemparcelCreateRequest', MemparcelCreateRequest],
    ['MemAcceptRequest', MemAcceptRequest],
    ['MemAcceptReply', MemAcceptReply],
    ['MemAppendRequest', MemAppendRequest],
    ['MemNotifyRequest', MemNotifyRequest],
    ['MemSharedNotification', MemSharedNotification],
    ['MemReleaseRequest', MemReleaseRequest],
  ];
  it('on random bytes, and whatever they accept encodes to bytes that decode to the same value', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (b) => {
        for (const [, codec] of codecs) {
          const value = codec.decode(b);
          if (isRmError(value)) continue;
          const again = codec.encode(value);
          assert.ok(!isRmError(again));
          assert.deepEqual(codec.decode(again), value);
        }
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});
