// The two files core/persist writes, as JSON with a format name and a version, and their readers. A reader refuses
// anything it cannot restore exactly (bad JSON, another format or version, a changed body, a field out of range)
// with a PersistError naming the file and the field; it never restores part of a file.
//
//   vms.json in --state-dir   {format: "gunyah-emu/vm-state", version: 1, vms: [VmDefinition]}
//   a snapshot                {format: "gunyah-emu/snapshot", version: 1, created, sha256, state: SnapshotState}
//
// `sha256` is the SHA-256 of JSON.stringify(state) as written: a snapshot edited by hand or cut short is refused.
// The field names are the REST API's (snake_case), so a file reads like the API's answers.
import { createHash } from 'node:crypto';
import { MSGQUEUE_MAX_MAX_MSG_SIZE, MSGQUEUE_MAX_QUEUE_DEPTH } from '../abi/ipc.js';
import { PAGE_SIZE } from '../abi/memory.js';
import { DYNAMIC_VMID, FIXED_VMID_LIMIT, VM_NAME_MAX } from '../abi/vmid.js';
import { IMAGE_MAX_VCPUS } from '../guests/image-header.js';

export const STATE_FORMAT = 'gunyah-emu/vm-state';
export const SNAPSHOT_FORMAT = 'gunyah-emu/snapshot';
/** Bumped on any change a version-1 reader would misread; readers refuse other versions. */
export const FORMAT_VERSION = 1;

/** What a VM comes back as: started (its image restarts from its entry), or allocated and not started. */
export type Lifecycle = 'running' | 'stopped';
export const LIFECYCLES: readonly Lifecycle[] = ['running', 'stopped'];

/** A secondary VM as the HLOS created it (VmSpec), its VMID and whether it runs. */
export interface VmDefinition {
  readonly vmid: number;
  /** The VMID was asked for (below 64); a dynamic one is re-allocated in VMID order. */
  readonly fixed_vmid: boolean;
  readonly name: string;
  readonly image: string;
  readonly vcpus: number;
  /** Bytes of guest memory. */
  readonly memory: number;
  readonly params: Readonly<Record<string, unknown>>;
  readonly lifecycle: Lifecycle;
}

/**
 * Which of a VM's vdevices (core/rm/vdevices.ts: one queue and one doorbell each way between a VM and its owner): a
 * stable key, where capids and object ids are not (they differ in a fresh daemon).
 */
export type Direction = 'vm-to-owner' | 'owner-to-vm';
export const DIRECTIONS: readonly Direction[] = ['vm-to-owner', 'owner-to-vm'];

export interface VdeviceKey {
  /** The secondary VM. */
  readonly vmid: number;
  readonly direction: Direction;
  /** The resource label VM_GET_HYP_RESOURCES reports (spec §9.6). */
  readonly label: number;
}

export interface MsgqCounters {
  readonly sent: number;
  readonly received: number;
  readonly bytes_sent: number;
  readonly bytes_received: number;
  readonly full_events: number;
  readonly full_rejects: number;
  readonly flushes: number;
}

export interface MsgqState extends VdeviceKey {
  readonly depth: number;
  readonly max_msg_size: number;
  /** Queued messages, oldest first, base64. */
  readonly messages: readonly string[];
  readonly counters: MsgqCounters;
}

export interface DoorbellState extends VdeviceKey {
  /** 64-bit words as 0x-prefixed hex, as the REST API prints them. */
  readonly flags: string;
  readonly enable_mask: string;
  readonly ack_mask: string;
  readonly counters: { readonly sends: number; readonly receives: number; readonly asserts: number };
}

export interface ConsoleState {
  readonly vmid: number;
  /** Absolute offset of the first byte held; `end` is one past the last (the output so far). */
  readonly start: number;
  readonly end: number;
  /** The ring's bytes from `start` to `end`, base64. */
  readonly data: string;
  /** Bytes the VM wrote (to the HLOS) and bytes written into it. */
  readonly bytes_out: number;
  readonly bytes_in: number;
}

export interface SnapshotState {
  readonly vms: readonly VmDefinition[];
  readonly msgqs: readonly MsgqState[];
  readonly doorbells: readonly DoorbellState[];
  readonly consoles: readonly ConsoleState[];
}

export interface SnapshotFile {
  readonly format: typeof SNAPSHOT_FORMAT;
  readonly version: typeof FORMAT_VERSION;
  /** ISO 8601 time of the capture. */
  readonly created: string;
  readonly sha256: string;
  readonly state: SnapshotState;
}

export interface StateFile {
  readonly format: typeof STATE_FORMAT;
  readonly version: typeof FORMAT_VERSION;
  readonly vms: readonly VmDefinition[];
}

/** Why a file was refused or could not be written: the file, the field at fault (a JSON path) and why. */
export class PersistError {
  constructor(readonly file: string, readonly field: string, readonly detail: string) {}

  get message(): string {
    return `${this.file}: ${this.field ? `${this.field}: ` : ''}${this.detail}`;
  }
}

// ---- writing ----

const digest = (text: string): string => createHash('sha256').update(text).digest('hex');

export function encodeSnapshot(state: SnapshotState, created: Date = new Date()): string {
  const body = JSON.stringify(state);
  // The body is spliced in as serialised, so the digest covers exactly the bytes a reader will hash.
  const head = JSON.stringify({ format: SNAPSHOT_FORMAT, version: FORMAT_VERSION, created: created.toISOString(), sha256: digest(body) });
  return `${head.slice(0, -1)},"state":${body}}\n`;
}

export function encodeState(vms: readonly VmDefinition[]): string {
  const file: StateFile = { format: STATE_FORMAT, version: FORMAT_VERSION, vms };
  return `${JSON.stringify(file, null, 2)}\n`;
}

// ---- reading ----

/** A refusal inside a check: the field path and the sentence. */
class Bad {
  constructor(readonly field: string, readonly why: string) {}
}

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks over one parsed value; each throws Bad (caught at the top, never leaves this module). */
class Reader {
  constructor(private readonly path: string) {}

  at(key: string | number): Reader {
    return new Reader(typeof key === 'number' ? `${this.path}[${key}]` : this.path ? `${this.path}.${key}` : key);
  }

  fail(why: string): never {
    throw new Bad(this.path, why);
  }

  map(v: unknown, keys: readonly string[]): Json {
    if (!isMap(v)) this.fail('must be an object');
    const extra = Object.keys(v).find((k) => !keys.includes(k));
    if (extra !== undefined) this.at(extra).fail(`unknown field (known: ${keys.join(', ')})`);
    for (const k of keys) if (!(k in v)) this.at(k).fail('is missing');
    return v;
  }

  object(v: unknown, what: string): Json {
    return isMap(v) ? v : this.fail(`must be an object of ${what}`);
  }

  list(v: unknown): unknown[] {
    return Array.isArray(v) ? v : this.fail('must be a list');
  }

  int(v: unknown, min: number, max: number): number {
    return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max ? v : this.fail(`must be an integer from ${min} to ${max}`);
  }

  str(v: unknown, max = 1024): string {
    return typeof v === 'string' && v.length > 0 && v.length <= max ? v : this.fail(`must be a string of 1-${max} characters`);
  }

  oneOf<T extends string>(v: unknown, values: readonly T[]): T {
    return (values as readonly unknown[]).includes(v) ? (v as T) : this.fail(`must be one of ${values.join(', ')}`);
  }

  bool(v: unknown): boolean {
    return typeof v === 'boolean' ? v : this.fail('must be true or false');
  }

  base64(v: unknown): Buffer {
    if (typeof v !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v)) this.fail('must be base64');
    return Buffer.from(v, 'base64');
  }

  word64(v: unknown): string {
    return typeof v === 'string' && /^0x[0-9a-f]{1,16}$/.test(v) ? v : this.fail('must be a 64-bit hex word like 0x00000000000000ff');
  }
}

const COUNT_MAX = Number.MAX_SAFE_INTEGER;

function readVm(r: Reader, v: unknown): VmDefinition {
  const m = r.map(v, ['vmid', 'fixed_vmid', 'name', 'image', 'vcpus', 'memory', 'params', 'lifecycle']);
  const fixed = r.at('fixed_vmid').bool(m.fixed_vmid);
  const vmid = fixed ? r.at('vmid').int(m.vmid, 1, FIXED_VMID_LIMIT - 1) : r.at('vmid').int(m.vmid, DYNAMIC_VMID.FIRST, DYNAMIC_VMID.LAST);
  const memory = r.at('memory').int(m.memory, PAGE_SIZE, Number.MAX_SAFE_INTEGER);
  if (memory % PAGE_SIZE !== 0) r.at('memory').fail(`must be a multiple of ${PAGE_SIZE}`);
  const params = r.at('params').object(m.params, 'image parameters');
  return {
    vmid, fixed_vmid: fixed, name: r.at('name').str(m.name, VM_NAME_MAX), image: r.at('image').str(m.image),
    vcpus: r.at('vcpus').int(m.vcpus, 1, IMAGE_MAX_VCPUS), memory, params, lifecycle: r.at('lifecycle').oneOf(m.lifecycle, LIFECYCLES),
  };
}

function readVms(r: Reader, v: unknown): VmDefinition[] {
  const vms = r.list(v).map((vm, i) => readVm(r.at(i), vm));
  vms.forEach((vm, i) => {
    if (vms.findIndex((o) => o.name === vm.name) !== i) r.at(i).at('name').fail(`"${vm.name}" is used twice`);
    if (vms.findIndex((o) => o.vmid === vm.vmid) !== i) r.at(i).at('vmid').fail(`${vm.vmid} is used twice`);
  });
  return vms;
}

function readKey(r: Reader, m: Json, vmids: ReadonlySet<number>): VdeviceKey {
  const vmid = r.at('vmid').int(m.vmid, 1, 0xffff);
  if (!vmids.has(vmid)) r.at('vmid').fail(`names no VM of the snapshot (${vmid})`);
  return { vmid, direction: r.at('direction').oneOf(m.direction, DIRECTIONS), label: r.at('label').int(m.label, 0, 0xffffffff) };
}

const keyName = (k: VdeviceKey) => `${k.vmid}/${k.direction}/${k.label}`;

function unique<T extends VdeviceKey>(r: Reader, list: readonly T[]): void {
  const seen = new Set<string>();
  list.forEach((k, i) => {
    if (seen.has(keyName(k))) r.at(i).fail(`VM ${k.vmid} ${k.direction} label ${k.label} appears twice`);
    seen.add(keyName(k));
  });
}

function readMsgq(r: Reader, v: unknown, vmids: ReadonlySet<number>): MsgqState {
  const m = r.map(v, ['vmid', 'direction', 'label', 'depth', 'max_msg_size', 'messages', 'counters']);
  const depth = r.at('depth').int(m.depth, 1, MSGQUEUE_MAX_QUEUE_DEPTH - 1);
  const maxMsgSize = r.at('max_msg_size').int(m.max_msg_size, 1, MSGQUEUE_MAX_MAX_MSG_SIZE - 1);
  const messages = r.at('messages').list(m.messages);
  if (messages.length > depth) r.at('messages').fail(`holds ${messages.length} messages; the queue's depth is ${depth}`);
  messages.forEach((msg, i) => {
    const size = r.at('messages').at(i).base64(msg).length;
    if (size < 1 || size > maxMsgSize) r.at('messages').at(i).fail(`is ${size} bytes; a message is 1-${maxMsgSize}`);
  });
  const cr = r.at('counters');
  const c = cr.map(m.counters, ['sent', 'received', 'bytes_sent', 'bytes_received', 'full_events', 'full_rejects', 'flushes']);
  const count = (k: keyof MsgqCounters) => cr.at(k).int(c[k], 0, COUNT_MAX);
  return {
    ...readKey(r, m, vmids), depth, max_msg_size: maxMsgSize, messages: messages as string[],
    counters: {
      sent: count('sent'), received: count('received'), bytes_sent: count('bytes_sent'), bytes_received: count('bytes_received'),
      full_events: count('full_events'), full_rejects: count('full_rejects'), flushes: count('flushes'),
    },
  };
}

function readDoorbell(r: Reader, v: unknown, vmids: ReadonlySet<number>): DoorbellState {
  const m = r.map(v, ['vmid', 'direction', 'label', 'flags', 'enable_mask', 'ack_mask', 'counters']);
  const cr = r.at('counters');
  const c = cr.map(m.counters, ['sends', 'receives', 'asserts']);
  return {
    ...readKey(r, m, vmids), flags: r.at('flags').word64(m.flags), enable_mask: r.at('enable_mask').word64(m.enable_mask),
    ack_mask: r.at('ack_mask').word64(m.ack_mask),
    counters: { sends: cr.at('sends').int(c.sends, 0, COUNT_MAX), receives: cr.at('receives').int(c.receives, 0, COUNT_MAX), asserts: cr.at('asserts').int(c.asserts, 0, COUNT_MAX) },
  };
}

function readConsole(r: Reader, v: unknown, vmids: ReadonlySet<number>): ConsoleState {
  const m = r.map(v, ['vmid', 'start', 'end', 'data', 'bytes_out', 'bytes_in']);
  const vmid = r.at('vmid').int(m.vmid, 1, 0xffff);
  if (!vmids.has(vmid)) r.at('vmid').fail(`names no VM of the snapshot (${vmid})`);
  const start = r.at('start').int(m.start, 0, COUNT_MAX);
  const end = r.at('end').int(m.end, start, COUNT_MAX);
  const data = r.at('data').base64(m.data);
  if (data.length !== end - start) r.at('data').fail(`holds ${data.length} bytes; start ${start} and end ${end} say ${end - start}`);
  return {
    vmid, start, end, data: m.data as string, bytes_out: r.at('bytes_out').int(m.bytes_out, 0, COUNT_MAX),
    bytes_in: r.at('bytes_in').int(m.bytes_in, 0, COUNT_MAX),
  };
}

function parse(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Bad('', `not valid JSON (${(err as Error).message}): the file is cut short or is not a ${what}`);
  }
}

function header(r: Reader, doc: unknown, format: string): Json {
  if (!isMap(doc)) r.fail('must be a JSON object');
  if (doc.format !== format) r.at('format').fail(`must be "${format}" (this is ${typeof doc.format === 'string' ? `"${doc.format}"` : 'not a gunyah-emu file'})`);
  if (doc.version !== FORMAT_VERSION) r.at('version').fail(`version ${String(doc.version)} is not supported (this gunyahd reads version ${FORMAT_VERSION})`);
  return doc;
}

function refusal(file: string, err: unknown): PersistError {
  if (err instanceof Bad) return new PersistError(file, err.field, err.why);
  throw err;
}

export function decodeState(text: string, file: string): StateFile | PersistError {
  try {
    const r = new Reader('');
    const doc = header(r, parse(text, 'VM state file'), STATE_FORMAT);
    r.map(doc, ['format', 'version', 'vms']);
    return { format: STATE_FORMAT, version: FORMAT_VERSION, vms: readVms(r.at('vms'), doc.vms) };
  } catch (err) {
    return refusal(file, err);
  }
}

export function decodeSnapshot(text: string, file: string): SnapshotFile | PersistError {
  try {
    const r = new Reader('');
    const doc = header(r, parse(text, 'snapshot'), SNAPSHOT_FORMAT);
    r.map(doc, ['format', 'version', 'created', 'sha256', 'state']);
    const created = r.at('created').str(doc.created, 64);
    if (Number.isNaN(Date.parse(created))) r.at('created').fail('must be an ISO 8601 time');
    const sha256 = r.at('sha256').str(doc.sha256, 64);
    if (digest(JSON.stringify(doc.state)) !== sha256) {
      r.at('sha256').fail('does not match the state: the file was changed or is corrupt');
    }
    const sr = r.at('state');
    const s = sr.map(doc.state, ['vms', 'msgqs', 'doorbells', 'consoles']);
    const vms = readVms(sr.at('vms'), s.vms);
    const vmids = new Set(vms.map((vm) => vm.vmid));
    const msgqs = sr.at('msgqs').list(s.msgqs).map((q, i) => readMsgq(sr.at('msgqs').at(i), q, vmids));
    const doorbells = sr.at('doorbells').list(s.doorbells).map((d, i) => readDoorbell(sr.at('doorbells').at(i), d, vmids));
    const consoles = sr.at('consoles').list(s.consoles).map((c, i) => readConsole(sr.at('consoles').at(i), c, vmids));
    unique(sr.at('msgqs'), msgqs);
    unique(sr.at('doorbells'), doorbells);
    consoles.forEach((c, i) => {
      if (consoles.findIndex((o) => o.vmid === c.vmid) !== i) sr.at('consoles').at(i).fail(`VM ${c.vmid} appears twice`);
    });
    return { format: SNAPSHOT_FORMAT, version: FORMAT_VERSION, created, sha256, state: { vms, msgqs, doorbells, consoles } };
  } catch (err) {
    return refusal(file, err);
  }
}
