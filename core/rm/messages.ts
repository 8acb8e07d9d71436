// spec §9.4-§9.6, §10.1, §7.2: typed payloads of the RM messages the emulator speaks.
//
// API
//   One codec per payload, named after its message and direction (VmStopRequest, VmGetStateReply,
//   VmStatusNotification, ...), each a Codec<T>:
//     decode(bytes) -> T | RmError   the value, or the error the RM answers for that payload (MSG_INVALID for a
//                                    wrong length, a list over 512 entries or bytes left over; ARGUMENT_INVALID for
//                                    ACL rights other than R/RX/RW/RWX)
//     encode(value) -> Uint8Array | RmError
//                                    refuses what decode would refuse, with the same error, and a value that does
//                                    not fit its field (vmid 0x10000, 513 list entries) with ARGUMENT_INVALID;
//                                    decode(encode(v)) equals v for every value encode accepts
//   A value is always an object and an error always a number: isRmError(r) tells them apart.
//   CodecValue<typeof X> is the value type of codec X. u64 fields are bigint. Byte fields (console chars, exit
//   reason) decode as views into the decoded buffer. Reply codecs cover the data after the u32 error word, which
//   rpc-codec.ts encodeReply/decodeReply add and strip. Nothing throws.

import {
  MEM_ACL_RIGHTS_ACCEPTED,
  MEMPARCEL,
  RM_ERROR,
  VM_EXIT_CODE,
  type RmError,
} from '../abi/rm.js';
import { getU16, getU32, getU64, setU16, setU32, setU64 } from './le.js';

export interface Codec<T> {
  encode(value: T): Uint8Array | RmError;
  decode(bytes: Uint8Array): T | RmError;
}
export type CodecValue<C> = C extends Codec<infer T> ? T : never;

export const isRmError = (r: unknown): r is RmError => typeof r === 'number';

const { MSG_INVALID, ARGUMENT_INVALID } = RM_ERROR;

// ---------------------------------------------------------------------------------------------------------------
// Fixed layouts: an ordered record of field name -> kind. res* fields are written as zero and ignored when read;
// zero8 must read as zero (MSG_INVALID otherwise); len16/len32 hold the size of a trailing byte field (withBytes).

const WIDTH = { u8: 1, u16: 2, u32: 4, u64: 8, res8: 1, res16: 2, res24: 3, zero8: 1, len16: 2, len32: 4 } as const;
type Kind = keyof typeof WIDTH;
type Hidden = 'res8' | 'res16' | 'res24' | 'zero8' | 'len16' | 'len32';
type Layout = Readonly<Record<string, Kind>>;
type Fields<L extends Layout> = {
  [K in keyof L as L[K] extends Hidden ? never : K]: L[K] extends 'u64' ? bigint : number;
};
const MAX = { u8: 0xff, u16: 0xffff, u32: 0xffffffff } as const;
const U64_MAX = 0xffff_ffff_ffff_ffffn;

interface Field {
  readonly name: string;
  readonly kind: Kind;
  readonly offset: number;
}

type Loose = Record<string, unknown>;
type Rule<T> = (value: T) => RmError | null;

interface Struct<T> extends Codec<T> {
  readonly size: number;
  readonly fields: readonly Field[];
  check(value: T): RmError | null;
  write(bytes: Uint8Array, at: number, value: T): void;
  read(bytes: Uint8Array, at: number): T | RmError;
}

function fieldFits(kind: Kind, v: unknown): boolean {
  if (kind === 'u64') return typeof v === 'bigint' && v >= 0n && v <= U64_MAX;
  if (kind === 'u8' || kind === 'u16' || kind === 'u32') {
    return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX[kind];
  }
  return true;
}

/**
 * A fixed-size payload. `atLeast` accepts longer buffers and ignores the rest, as the RM does for MEM_RELEASE and
 * MEM_RECLAIM (R-MP `len < sizeof(req)`); `rule` adds a value check both directions apply.
 */
function struct<L extends Layout>(layout: L, opts: { rule?: Rule<Fields<L>>; atLeast?: boolean } = {}) {
  type T = Fields<L>;
  const fields: Field[] = [];
  let size = 0;
  for (const [name, kind] of Object.entries(layout)) {
    fields.push({ name, kind, offset: size });
    size += WIDTH[kind];
  }
  const rule = opts.rule;
  const codec: Struct<T> = {
    size,
    fields,
    check(value) {
      if (typeof value !== 'object' || value === null) return ARGUMENT_INVALID;
      for (const f of fields) if (!fieldFits(f.kind, (value as Loose)[f.name])) return ARGUMENT_INVALID;
      return rule ? rule(value) : null;
    },
    write(bytes, at, value) {
      const v = value as Loose;
      for (const f of fields) {
        const o = at + f.offset;
        switch (f.kind) {
          case 'u8': bytes[o] = v[f.name] as number; break;
          case 'u16': setU16(bytes, o, v[f.name] as number); break;
          case 'u32': setU32(bytes, o, v[f.name] as number); break;
          case 'u64': setU64(bytes, o, v[f.name] as bigint); break;
          default: break; // hidden fields stay zero; withBytes writes the length
        }
      }
    },
    read(bytes, at) {
      const out: Loose = {};
      for (const f of fields) {
        const o = at + f.offset;
        switch (f.kind) {
          case 'u8': out[f.name] = bytes[o]!; break;
          case 'u16': out[f.name] = getU16(bytes, o); break;
          case 'u32': out[f.name] = getU32(bytes, o); break;
          case 'u64': out[f.name] = getU64(bytes, o); break;
          case 'zero8': if (bytes[o] !== 0) return MSG_INVALID; break;
          default: break;
        }
      }
      const err = rule ? rule(out as T) : null;
      return err === null ? (out as T) : err;
    },
    encode(value) {
      const err = codec.check(value);
      if (err !== null) return err;
      const out = new Uint8Array(size);
      codec.write(out, 0, value);
      return out;
    },
    decode(bytes) {
      if (opts.atLeast ? bytes.length < size : bytes.length !== size) return MSG_INVALID;
      return codec.read(bytes, 0);
    },
  };
  return codec;
}

/** A fixed header whose len16/len32 field counts the bytes that follow it: length must equal header + count. */
function withBytes<L extends Layout, B extends string>(layout: L, bytesKey: B): Codec<Fields<L> & Record<B, Uint8Array>> {
  type T = Fields<L> & Record<B, Uint8Array>;
  const head = struct(layout);
  const lenField = head.fields.find((f) => f.kind === 'len16' || f.kind === 'len32') as Field;
  const lenMax = lenField.kind === 'len16' ? MAX.u16 : MAX.u32;
  return {
    encode(value) {
      const err = head.check(value);
      if (err !== null) return err;
      const bytes = (value as Loose)[bytesKey];
      if (!(bytes instanceof Uint8Array) || bytes.length > lenMax) return ARGUMENT_INVALID;
      const out = new Uint8Array(head.size + bytes.length);
      head.write(out, 0, value);
      if (lenField.kind === 'len16') setU16(out, lenField.offset, bytes.length);
      else setU32(out, lenField.offset, bytes.length);
      out.set(bytes, head.size);
      return out;
    },
    decode(bytes) {
      if (bytes.length < head.size) return MSG_INVALID;
      const n = lenField.kind === 'len16' ? getU16(bytes, lenField.offset) : getU32(bytes, lenField.offset);
      if (bytes.length !== head.size + n) return MSG_INVALID;
      const out = head.read(bytes, 0);
      if (isRmError(out)) return out;
      (out as Loose)[bytesKey] = bytes.subarray(head.size);
      return out as T;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// spec §7.2 list encoding: a count (u32 for ACL lists, as R-MSG declares it; u16 + a u16 that is reserved or carries
// a field for the others), the entries, then the next list at the next 4-byte boundary. An optional (last) list
// may be absent at the end of the buffer. The whole buffer must be consumed exactly.

interface ListSpec {
  readonly key: string;
  readonly entry: Struct<any>;
  readonly count: 'u16' | 'u32';
  /** The field carried in the u16 after a u16 count (MEM_ACCEPT map_vmid, accept-reply flags). */
  readonly tag?: { readonly key: string; readonly kind: 'u8' | 'u16' };
  readonly max: number;
  readonly optional?: boolean;
}

const align4 = (n: number) => (n + 3) & ~3;

function withLists<T>(head: Struct<any>, lists: readonly ListSpec[]): Codec<T> {
  return {
    encode(value) {
      const v = value as Loose;
      const err = head.check(v);
      if (err !== null) return err;
      let size = head.size;
      for (const l of lists) {
        const items = v[l.key];
        if (!Array.isArray(items) || items.length > l.max) return ARGUMENT_INVALID;
        for (const item of items) {
          const e = l.entry.check(item);
          if (e !== null) return e;
        }
        if (l.tag && !fieldFits(l.tag.kind, v[l.tag.key])) return ARGUMENT_INVALID;
        size = align4(size + 4 + items.length * l.entry.size);
      }
      const out = new Uint8Array(size);
      head.write(out, 0, v);
      let at = head.size;
      for (const l of lists) {
        const items = v[l.key] as unknown[];
        if (l.count === 'u32') setU32(out, at, items.length);
        else setU16(out, at, items.length);
        if (l.tag?.kind === 'u8') out[at + 2] = v[l.tag.key] as number;
        else if (l.tag) setU16(out, at + 2, v[l.tag.key] as number);
        at += 4;
        for (const item of items) {
          l.entry.write(out, at, item);
          at += l.entry.size;
        }
        at = align4(at);
      }
      return out;
    },
    decode(bytes) {
      if (bytes.length < head.size) return MSG_INVALID;
      const out = head.read(bytes, 0) as Loose | RmError;
      if (isRmError(out)) return out;
      let at = head.size;
      for (const l of lists) {
        if (at === bytes.length && l.optional) {
          out[l.key] = [];
          continue;
        }
        if (bytes.length - at < 4) return MSG_INVALID;
        const n = l.count === 'u32' ? getU32(bytes, at) : getU16(bytes, at);
        if (n > l.max) return MSG_INVALID;
        if (l.tag) out[l.tag.key] = l.tag.kind === 'u8' ? bytes[at + 2]! : getU16(bytes, at + 2);
        at += 4;
        if (at + n * l.entry.size > bytes.length) return MSG_INVALID;
        const items = new Array(n);
        for (let i = 0; i < n; i++, at += l.entry.size) {
          const item = l.entry.read(bytes, at);
          if (isRmError(item)) return item;
          items[i] = item;
        }
        out[l.key] = items;
        at = align4(at);
      }
      return at === bytes.length ? (out as T) : MSG_INVALID;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// VM management (spec §9.4, R-MGNT length checks)

/** {vmid u16, pad u16}, length exactly 4; vmid 0 means "self" where the message allows it. */
export const VmidRequest = struct({ vmid: 'u16', res0: 'res16' });
export const VmAllocateRequest = VmidRequest;
export const VmDeallocateRequest = VmidRequest;
export const VmStartRequest = VmidRequest;
export const VmResetRequest = VmidRequest;
export const VmInitRequest = VmidRequest;
export const VmGetStateRequest = VmidRequest;
export const VmGetHypResourcesRequest = VmidRequest;

/** Requests with no payload: length must be 0. */
export const EmptyPayload = struct({});
export const VmGetVmidRequest = EmptyPayload;
export const VmHostGetTypeRequest = EmptyPayload;

/** VM_ALLOCATE reply: the VMID as u32 when one was chosen dynamically, no data when a fixed VMID was requested. */
export const VmAllocateReply: Codec<{ vmid: number | null }> = {
  encode: ({ vmid }) => (vmid === null ? new Uint8Array(0) : VmGetVmidReply.encode({ vmid })),
  decode: (bytes) => (bytes.length === 0 ? { vmid: null } : VmGetVmidReply.decode(bytes)),
};

/** flags bit0 FORCE (VM_STOP_FLAG); length exactly 8. */
export const VmStopRequest = struct({ vmid: 'u16', flags: 'u8', res0: 'res8', stopReason: 'u32' });

/** 40 bytes; auth per VM_AUTH. */
export const VmConfigImageRequest = struct({
  vmid: 'u16',
  auth: 'u16',
  memHandle: 'u32',
  imageOffset: 'u64',
  imageSize: 'u64',
  dtbOffset: 'u64',
  dtbSize: 'u64',
});

/** The u32 vm_status | os_status << 8 | app_status << 16, read as its little-endian bytes. */
export const VmGetStateReply = struct({ vmStatus: 'u8', osStatus: 'u8', appStatus: 'u16' });
/** VM_GET_VMID reply: the requester's VMID as u32. */
export const VmGetVmidReply = struct({ vmid: 'u32' });
/** VM_HOST_GET_TYPE reply (RM_HOST_TYPE). */
export const VmHostGetTypeReply = struct({ hostType: 'u32' });

const VALID_EXIT_CODES: readonly number[] = [
  VM_EXIT_CODE.NORMAL,
  VM_EXIT_CODE.SW_ERROR,
  VM_EXIT_CODE.BUS_ERROR,
  VM_EXIT_CODE.DEVICE_ERROR,
];
/** R-MGNT: length 4, reserved byte 0 and exit code 2 (UNKNOWN) or unknown codes give MSG_INVALID. */
export const VmExitRequest = struct(
  { exitFlags: 'u16', exitCode: 'u8', res0: 'zero8' },
  { rule: (v) => (VALID_EXIT_CODES.includes(v.exitCode) ? null : MSG_INVALID) },
);

/** Byte 0 reserved, byte 1 os_status, bytes 2-3 app_status; length exactly 4. */
export const VmSetStatusRequest = struct({ res0: 'res8', osStatus: 'u8', appStatus: 'u16' });

/** spec §9.6: one VM_GET_HYP_RESOURCES entry (HYP_RESOURCE_ENTRY_SIZE bytes); capid, base and size are u64. */
export const HypResourceEntry = struct({
  type: 'u8',
  res0: 'res8',
  partnerVmid: 'u16',
  resourceHandle: 'u32',
  resourceLabel: 'u32',
  capid: 'u64',
  virqHandle: 'u32',
  virq: 'u32',
  base: 'u64',
  size: 'u64',
});
export type HypResource = CodecValue<typeof HypResourceEntry>;
/** n_entries u32, then the entries; the length must be exactly 4 + n * entry size (Linux: else -EBADMSG). */
export const VmGetHypResourcesReply = withLists<{ entries: HypResource[] }>(struct({}), [
  { key: 'entries', entry: HypResourceEntry, count: 'u32', max: Number.MAX_SAFE_INTEGER },
]);

// ---------------------------------------------------------------------------------------------------------------
// Console (spec §10.1)

export const VmConsoleOpenRequest = VmidRequest;
export const VmConsoleCloseRequest = VmidRequest;
export const VmConsoleFlushRequest = VmidRequest;
/** {vmid u16, num_bytes u16, bytes}: the length must equal 4 + num_bytes. */
export const VmConsoleWriteRequest = withBytes({ vmid: 'u16', numBytes: 'len16' }, 'bytes');

// ---------------------------------------------------------------------------------------------------------------
// Notifications (spec §9.4)

/** 8 bytes: vmid, reserved u16, vm_status u8, os_status u8, app_status u16. */
export const VmStatusNotification = struct({
  vmid: 'u16',
  res0: 'res16',
  vmStatus: 'u8',
  osStatus: 'u8',
  appStatus: 'u16',
});
/** vmid u16, exit_type u16, exit_reason_size u32, reason bytes (first u32 = exit_flags | exit_code << 16). */
export const VmExitedNotification = withBytes({ vmid: 'u16', exitType: 'u16', reasonSize: 'len32' }, 'reason');
export const VmShutdownNotification = struct({ stopReason: 'u32' });
/** Same layout as VM_CONSOLE_WRITE; vmid is the writer (0 when the owner writes to the VM). */
export const VmConsoleCharsNotification = withBytes({ vmid: 'u16', numBytes: 'len16' }, 'bytes');

// ---------------------------------------------------------------------------------------------------------------
// Memory parcels (spec §7.2, R-MSG memparcel_msg.h, R-MP memparcel_read_lists)

/** ACL entry: the RM accepts only R, RX, RW and RWX rights (ARGUMENT_INVALID otherwise). */
export const AclEntry = struct(
  { vmid: 'u16', rights: 'u8', res0: 'res8' },
  { rule: (v) => ((MEM_ACL_RIGHTS_ACCEPTED as readonly number[]).includes(v.rights) ? null : ARGUMENT_INVALID) },
);
export const SglEntry = struct({ ipa: 'u64', size: 'u64' });
export const AttrEntry = struct({ attr: 'u16', vmid: 'u16' });
const VmidEntry = struct({ vmid: 'u16', res0: 'res16' });
export type AclEntry = CodecValue<typeof AclEntry>;
export type SglEntry = CodecValue<typeof SglEntry>;
export type AttrEntry = CodecValue<typeof AttrEntry>;

const MAX_ENTRIES = MEMPARCEL.MAX_LIST_ENTRIES;
const ACL_LIST: ListSpec = { key: 'acl', entry: AclEntry, count: 'u32', max: MAX_ENTRIES };
const SGL_LIST: ListSpec = { key: 'sgl', entry: SglEntry, count: 'u16', max: MAX_ENTRIES };
const ATTR_LIST: ListSpec = { key: 'attrs', entry: AttrEntry, count: 'u16', max: MAX_ENTRIES, optional: true };
type ParcelLists = { acl: AclEntry[]; sgl: SglEntry[]; attrs: AttrEntry[] };

const CREATE_HEAD = struct({ memType: 'u8', res0: 'res8', flags: 'u8', res1: 'res8', label: 'u32' });
/** MEM_LEND, MEM_SHARE and MEM_DONATE: header, ACL list, SGL list, attr list. flags per MEM_SHARE_FLAG. */
export const MemparcelCreateRequest = withLists<CodecValue<typeof CREATE_HEAD> & ParcelLists>(CREATE_HEAD, [
  ACL_LIST,
  SGL_LIST,
  ATTR_LIST,
]);
export const MemLendRequest = MemparcelCreateRequest;
export const MemShareRequest = MemparcelCreateRequest;
export const MemDonateRequest = MemparcelCreateRequest;
/** Reply data of MEM_LEND/SHARE/DONATE. */
export const MemHandleReply = struct({ handle: 'u32' });

const APPEND_HEAD = struct({ handle: 'u32', flags: 'u8', res0: 'res24' });
/** flags bit0 END (MEM_APPEND_FLAG); then one SGL list. */
export const MemAppendRequest = withLists<CodecValue<typeof APPEND_HEAD> & { sgl: SglEntry[] }>(APPEND_HEAD, [
  SGL_LIST,
]);

const ACCEPT_HEAD = struct({
  handle: 'u32',
  memType: 'u8',
  transType: 'u8',
  flags: 'u8',
  res0: 'res8',
  label: 'u32',
});
/** The SGL list's second u16 is map_vmid. flags per MEM_ACCEPT_FLAG. */
export const MemAcceptRequest = withLists<CodecValue<typeof ACCEPT_HEAD> & ParcelLists & { mapVmid: number }>(
  ACCEPT_HEAD,
  [ACL_LIST, { ...SGL_LIST, tag: { key: 'mapVmid', kind: 'u16' } }, ATTR_LIST],
);
/** sgl_entries u16, flags u8 (MEM_ACCEPT_REPLY_FLAG), reserved u8, SGL entries. */
export const MemAcceptReply = withLists<{ flags: number; sgl: SglEntry[] }>(struct({}), [
  { ...SGL_LIST, tag: { key: 'flags', kind: 'u8' } },
]);

/** MEM_RELEASE / MEM_RECLAIM: {handle u32, flags u8, res[3]}; the RM refuses only shorter payloads. */
export const MemReleaseRequest = struct({ handle: 'u32', flags: 'u8', res0: 'res24' }, { atLeast: true });
export const MemReclaimRequest = MemReleaseRequest;

const NOTIFY_HEAD = struct({ handle: 'u32', flags: 'u8', res0: 'res24', memInfoTag: 'u32' });
/** flags per MEM_NOTIFY_FLAG; the VMID list follows for SHARED and is [] when absent. */
export const MemNotifyRequest = withLists<CodecValue<typeof NOTIFY_HEAD> & { vmids: { vmid: number }[] }>(
  NOTIFY_HEAD,
  [{ key: 'vmids', entry: VmidEntry, count: 'u16', max: MAX_ENTRIES, optional: true }],
);

const SHARED_HEAD = struct({
  handle: 'u32',
  memType: 'u8',
  transType: 'u8',
  flags: 'u8',
  res0: 'res8',
  ownerVmid: 'u16',
  res1: 'res16',
  label: 'u32',
  memInfoTag: 'u32',
});
export const MemSharedNotification = withLists<CodecValue<typeof SHARED_HEAD> & ParcelLists>(SHARED_HEAD, [
  ACL_LIST,
  SGL_LIST,
  ATTR_LIST,
]);
/** MEM_RELEASED / MEM_ACCEPTED: {handle u32, vmid u16, res u16, mem_info_tag u32}. */
export const MemReleasedNotification = struct({ handle: 'u32', vmid: 'u16', res0: 'res16', memInfoTag: 'u32' });
export const MemAcceptedNotification = MemReleasedNotification;
