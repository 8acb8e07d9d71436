// The HLOS's VM manager (Linux vm_mgr.c, v6-v14 order, spec §9.7): the RM RPC sequences that create, start, stop,
// reset and delete secondary VMs, and the HLOS's own view of each VM. Every step is an RM call bounded by a
// deadline and the caller's AbortSignal; a sequence that fails part way undoes what it did, in reverse.
//
//   bring-up   VM_ALLOCATE(0) -> MEM_LEND (a parcel of HLOS RAM holding the image header) -> VM_CONFIG_IMAGE
//              -> VM_CONSOLE_OPEN (owner end, so the boot banner is not dropped, spec §10.1) -> VM_INIT
//              -> VM_GET_HYP_RESOURCES -> VM_START
//   teardown   VM_STOP(FORCE, reason 3) -> VM_EXITED -> VM_RESET -> VM_STATUS RESET -> MEM_RECLAIM -> VM_DEALLOCATE
import { PAGE_SIZE } from '../abi/memory.js';
import {
  MEM_ACL_RIGHT, OS_STATUS, OS_STATUS_NAMES, RM_MSG, VM_STATUS, VM_STATUS_NAMES, rmMessageName, type OsStatus,
  type VmStatus,
} from '../abi/rm.js';
import { FIXED_VMID_LIMIT, VM_NAME_MAX } from '../abi/vmid.js';
import { GH_ERROR } from '../abi/errors.js';
import { TypedEmitter } from '../hyp/events.js';
import type { GuestMemory } from '../mem/guest-memory.js';
import {
  encodeImageHeader, IMAGE_MAX_VCPUS, imageNameError, isImageHeaderError, type ImageParams,
} from '../guests/image-header.js';
import type { HlosMemory, MemRange } from './hlos-memory.js';
import type { HypResource, RmCalls } from './rm-calls.js';
import { RmFailure } from './rm-failure.js';

/** A VM's memory unless the spec says otherwise: the header page, working memory and the DTB page. */
export const DEFAULT_VM_MEMORY = 1 << 20;
export const MIN_VM_MEMORY = 4 * PAGE_SIZE;
export const MAX_VM_MEMORY = 256 << 20;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface VmSpec {
  name: string;
  /** The built-in image the header names (the RM's loader decides whether it exists). */
  image: string;
  vcpus?: number;
  /** Bytes of guest memory, a multiple of the page size (default DEFAULT_VM_MEMORY). */
  memory?: number;
  /** The image's parameter block (e.g. {"rate": 200} for traffic). */
  params?: ImageParams;
  /** A fixed VMID below 64; default: the RM picks a dynamic one (VM_ALLOCATE(0)). */
  vmid?: number;
}

/** The HLOS's record of one secondary VM. */
export interface VmRecord {
  readonly vmid: number;
  readonly name: string;
  readonly image: string;
  readonly vcpus: number;
  readonly params: ImageParams;
  readonly memorySize: number;
  status: VmStatus;
  osStatus: OsStatus;
  appStatus: number;
  /** The lent parcel while the VM holds it: its range of HLOS RAM (the same IPAs in the VM) and its handle. */
  memory: MemRange | null;
  handle: number | null;
  /** VM_GET_HYP_RESOURCES of the last start: the caps the HLOS holds for the VM's doorbells, queues, vCPUs. */
  resources: HypResource[];
  /** The last VM_EXITED: exit type and reason bytes (spec §9.5). */
  exit: { readonly exitType: number; readonly reason: Uint8Array } | null;
}

export type VmErrorCode =
  /** No such VM. */
  | 'NOT_FOUND'
  /** A field of the request is invalid (`field` names it). */
  | 'INVALID_ARGUMENT'
  /** The name is taken. */
  | 'NAME_IN_USE'
  /** The VM's state does not allow the operation, or another operation on it is in progress. */
  | 'VM_STATE_CONFLICT'
  /** The HLOS has no free RAM range of the size asked. */
  | 'NO_MEMORY'
  /** An RM call failed: `failure` holds why (an RM error, a timeout, ...). */
  | 'RM_CALL_FAILED';

export class VmError {
  constructor(
    readonly code: VmErrorCode,
    readonly detail: string,
    /** The request field at fault, for INVALID_ARGUMENT. */
    readonly field: string | null = null,
    /** The RM call that failed, for RM_CALL_FAILED. */
    readonly failure: RmFailure | null = null,
    /** Undo steps that failed too (the VM may need attention). */
    readonly rollbackFailures: readonly RmFailure[] = [],
  ) {}

  get message(): string {
    return this.detail;
  }
}

export interface VmManagerEvents {
  'vm-created': VmRecord;
  /** status, os_status or app_status changed. */
  'vm-status': VmRecord;
  'vm-exited': VmRecord;
  'vm-deleted': { readonly vmid: number; readonly name: string };
}

export interface OpOptions {
  /** Deadline of each RM call and each wait for a notification, ms (default the client's). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Waiter {
  readonly vmid: number;
  readonly statuses: readonly VmStatus[];
  readonly done: (reached: boolean) => void;
}

const isFail = (r: unknown): r is RmFailure => r instanceof RmFailure;
const rmFailed = (f: RmFailure, rollback: RmFailure[] = []) =>
  new VmError('RM_CALL_FAILED', f.message, null, f, rollback);

export class VmManager {
  readonly events = new TypedEmitter<VmManagerEvents>();
  private readonly records = new Map<number, VmRecord>();
  /** VMs with an operation in progress (one at a time per VM). */
  private readonly busy = new Set<number>();
  private readonly waiters = new Set<Waiter>();
  private readonly unsubscribe: (() => void)[];

  constructor(
    private readonly rm: RmCalls,
    private readonly ram: HlosMemory,
    /** The HLOS's own memory, where it writes image headers before lending. */
    private readonly hlosMemory: GuestMemory,
  ) {
    this.unsubscribe = [
      rm.on('VM_STATUS', (n) => this.statusChanged(n.vmid, n.vmStatus as VmStatus, n.osStatus as OsStatus, n.appStatus)),
      rm.on('VM_EXITED', (n) => this.exited(n.vmid, n.exitType, n.reason.slice())),
    ];
  }

  list(): VmRecord[] {
    return [...this.records.values()];
  }

  get(vmid: number): VmRecord | undefined {
    return this.records.get(vmid);
  }

  byName(name: string): VmRecord | undefined {
    return this.list().find((r) => r.name === name);
  }

  /** Stop listening to the RM and release every waiter. */
  close(): void {
    for (const off of this.unsubscribe) off();
    for (const w of [...this.waiters]) w.done(false);
  }

  /**
   * VM_ALLOCATE, then (unless `start` is false) the bring-up. If any step fails, everything is undone, the VM
   * deallocated included, and the error says which step failed.
   */
  async create(spec: VmSpec, opts: OpOptions & { start?: boolean } = {}): Promise<VmRecord | VmError> {
    const invalid = this.validate(spec);
    if (invalid) return invalid;
    const vmid = await this.rm.vmAllocate(spec.vmid ?? 0, opts);
    if (isFail(vmid)) return rmFailed(vmid);
    const rec: VmRecord = {
      vmid, name: spec.name, image: spec.image, vcpus: spec.vcpus ?? 1, params: spec.params ?? {},
      memorySize: spec.memory ?? DEFAULT_VM_MEMORY, status: VM_STATUS.LOAD, osStatus: OS_STATUS.NONE, appStatus: 0,
      memory: null, handle: null, resources: [], exit: null,
    };
    this.records.set(vmid, rec);
    this.events.emit('vm-created', rec);
    if (opts.start === false) return rec;
    const started = await this.start(vmid, opts);
    if (!(started instanceof VmError)) return started;
    const undo = await this.deallocate(rec, opts);
    if (undo === null) return started;
    const { code, detail, field, failure, rollbackFailures } = started;
    return new VmError(code, detail, field, failure, [...rollbackFailures, undo]);
  }

  /** The bring-up of a VM in LOAD (just allocated) or RESET (stopped and reset). */
  start(vmid: number, opts: OpOptions = {}): Promise<VmRecord | VmError> {
    return this.exclusive(vmid, [VM_STATUS.LOAD, VM_STATUS.RESET], (rec) => this.bringUp(rec, opts));
  }

  /** VM_STOP (FORCE, reason 3), then wait for VM_EXITED. */
  stop(vmid: number, opts: OpOptions = {}): Promise<VmRecord | VmError> {
    return this.exclusive(vmid, [VM_STATUS.RUNNING, VM_STATUS.PAUSED], async (rec) => {
      const exited = this.waitStatus(rec, [VM_STATUS.EXITED], opts);
      const r = await this.rm.vmStop(vmid, {}, opts);
      if (isFail(r)) {
        exited.cancel();
        return rmFailed(r);
      }
      if (!(await exited.reached)) return this.noNotification(RM_MSG.VM_STOP, 'VM_EXITED', opts);
      return rec;
    });
  }

  /** VM_RESET, wait for VM_STATUS RESET, then MEM_RECLAIM the VM's parcel. */
  reset(vmid: number, opts: OpOptions = {}): Promise<VmRecord | VmError> {
    return this.exclusive(vmid, [VM_STATUS.EXITED, VM_STATUS.READY, VM_STATUS.INIT_FAILED], async (rec) => {
      const failure = await this.resetAndReclaim(rec, opts);
      return failure ?? rec;
    });
  }

  /** The whole teardown from any state: stop if running, reset if needed, reclaim, then VM_DEALLOCATE. */
  delete(vmid: number, opts: OpOptions = {}): Promise<{ vmid: number } | VmError> {
    const all = Object.values(VM_STATUS);
    return this.exclusive(vmid, all, async (rec) => {
      if (rec.status === VM_STATUS.RUNNING || rec.status === VM_STATUS.PAUSED) {
        const exited = this.waitStatus(rec, [VM_STATUS.EXITED], opts);
        const r = await this.rm.vmStop(vmid, {}, opts);
        if (isFail(r)) {
          exited.cancel();
          return rmFailed(r);
        }
        if (!(await exited.reached)) return this.noNotification(RM_MSG.VM_STOP, 'VM_EXITED', opts);
      }
      if (rec.status === VM_STATUS.EXITED || rec.status === VM_STATUS.READY || rec.status === VM_STATUS.INIT_FAILED) {
        const failure = await this.resetAndReclaim(rec, opts);
        if (failure) return failure;
      }
      if (rec.status !== VM_STATUS.LOAD && rec.status !== VM_STATUS.RESET) {
        return new VmError('VM_STATE_CONFLICT', `VM ${vmid} is ${statusName(rec.status)}; it cannot be deallocated now`);
      }
      const failure = await this.deallocate(rec, opts);
      return failure === null ? { vmid } : rmFailed(failure);
    });
  }

  // ---- sequences ----

  private async bringUp(rec: VmRecord, opts: OpOptions): Promise<VmRecord | VmError> {
    const range = this.ram.alloc(rec.memorySize);
    if (range === null) return new VmError('NO_MEMORY', `the HLOS has no free ${rec.memorySize}-byte range for VM ${rec.vmid}`);
    const headerErr = this.writeImage(rec, range);
    if (headerErr) {
      this.ram.release(range.base);
      return headerErr;
    }
    const handle = await this.rm.memLend({
      acl: [{ vmid: rec.vmid, rights: MEM_ACL_RIGHT.R | MEM_ACL_RIGHT.W | MEM_ACL_RIGHT.X }],
      sgl: [{ ipa: BigInt(range.base), size: BigInt(range.size) }],
    }, opts);
    if (isFail(handle)) {
      this.ram.release(range.base);
      return rmFailed(handle);
    }
    rec.memory = range;
    rec.handle = handle;
    // The image fills the parcel but its last page, which holds the devicetree (spec §13.2: a page is plenty).
    const steps: (() => Promise<void | RmFailure>)[] = [
      () => this.rm.vmConfigImage({
        vmid: rec.vmid, memHandle: handle, imageOffset: 0n, imageSize: BigInt(range.size - PAGE_SIZE),
        dtbOffset: BigInt(range.size - PAGE_SIZE), dtbSize: BigInt(PAGE_SIZE),
      }, opts),
      () => this.rm.consoleOpen(rec.vmid, opts),
      async () => {
        const r = await this.rm.vmInit(rec.vmid, opts);
        this.setStatus(rec, isFail(r) ? VM_STATUS.INIT_FAILED : VM_STATUS.READY);
        return r;
      },
      async () => {
        const r = await this.rm.vmGetHypResources(rec.vmid, opts);
        if (isFail(r)) return r;
        rec.resources = r;
      },
      async () => {
        const r = await this.rm.vmStart(rec.vmid, opts);
        if (!isFail(r)) this.setStatus(rec, VM_STATUS.RUNNING);
        return r;
      },
    ];
    for (const step of steps) {
      const r = await step();
      if (isFail(r)) return this.undoBringUp(rec, r, opts);
    }
    return rec;
  }

  /** Undo a bring-up that failed at `failure`: reset the VM if it got past VM_INIT, then reclaim the parcel. */
  private async undoBringUp(rec: VmRecord, failure: RmFailure, opts: OpOptions): Promise<VmError> {
    const rollback: RmFailure[] = [];
    if (rec.status === VM_STATUS.READY || rec.status === VM_STATUS.INIT_FAILED || rec.status === VM_STATUS.RUNNING) {
      const err = await this.resetAndReclaim(rec, opts);
      if (err?.failure) rollback.push(err.failure);
    } else {
      const err = await this.reclaim(rec, opts);
      if (err) rollback.push(err);
    }
    return rmFailed(failure, rollback);
  }

  private async resetAndReclaim(rec: VmRecord, opts: OpOptions): Promise<VmError | null> {
    const reset = this.waitStatus(rec, [VM_STATUS.RESET], opts);
    const r = await this.rm.vmReset(rec.vmid, opts);
    if (isFail(r)) {
      reset.cancel();
      return rmFailed(r);
    }
    if (!(await reset.reached)) return this.noNotification(RM_MSG.VM_RESET, 'VM_STATUS RESET', opts);
    rec.resources = [];
    const reclaimed = await this.reclaim(rec, opts);
    return reclaimed ? rmFailed(reclaimed) : null;
  }

  /** MEM_RECLAIM the VM's parcel and give its range back to the HLOS allocator. */
  private async reclaim(rec: VmRecord, opts: OpOptions): Promise<RmFailure | null> {
    if (rec.handle === null) return null;
    const r = await this.rm.memReclaim(rec.handle, 0, opts);
    if (isFail(r)) return r;
    this.ram.release(rec.memory!.base);
    rec.handle = null;
    rec.memory = null;
    return null;
  }

  private async deallocate(rec: VmRecord, opts: OpOptions): Promise<RmFailure | null> {
    const r = await this.rm.vmDeallocate(rec.vmid, opts);
    if (isFail(r)) return r;
    this.records.delete(rec.vmid);
    this.events.emit('vm-deleted', { vmid: rec.vmid, name: rec.name });
    return null;
  }

  /** The image header at the start of the range, in the HLOS's own memory (before it is lent away). */
  private writeImage(rec: VmRecord, range: MemRange): VmError | null {
    const header = encodeImageHeader(
      { name: rec.image, vcpus: rec.vcpus, entryOffset: 0, params: rec.params }, range.size - PAGE_SIZE,
    );
    if (isImageHeaderError(header)) return new VmError('INVALID_ARGUMENT', header.detail, header.error === 'bad_params' ? 'params' : 'image');
    const page = new Uint8Array(PAGE_SIZE);
    page.set(header);
    const err = this.hlosMemory.writeBytes(range.base, page);
    return err === GH_ERROR.OK ? null : new VmError('NO_MEMORY', `HLOS RAM at 0x${range.base.toString(16)} is not writable`);
  }

  // ---- state ----

  private validate(spec: VmSpec): VmError | null {
    const bad = (field: string, detail: string) => new VmError('INVALID_ARGUMENT', detail, field);
    if (typeof spec.name !== 'string' || spec.name.length > VM_NAME_MAX || !NAME_PATTERN.test(spec.name)) {
      return bad('name', `name must be 1-${VM_NAME_MAX} characters of [A-Za-z0-9._-], starting with a letter or digit`);
    }
    if (this.byName(spec.name)) return new VmError('NAME_IN_USE', `a VM named ${spec.name} exists`, 'name');
    const imageError = imageNameError(spec.image);
    if (imageError) return bad('image', imageError);
    const vcpus = spec.vcpus ?? 1;
    if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > IMAGE_MAX_VCPUS) return bad('vcpus', `vcpus must be 1-${IMAGE_MAX_VCPUS}`);
    const memory = spec.memory ?? DEFAULT_VM_MEMORY;
    if (!Number.isInteger(memory) || memory < MIN_VM_MEMORY || memory > MAX_VM_MEMORY || memory % PAGE_SIZE !== 0) {
      return bad('memory', `memory must be a multiple of ${PAGE_SIZE} from ${MIN_VM_MEMORY} to ${MAX_VM_MEMORY} bytes`);
    }
    if (spec.vmid !== undefined && !(Number.isInteger(spec.vmid) && spec.vmid > 0 && spec.vmid < FIXED_VMID_LIMIT)) {
      return bad('vmid', `a fixed vmid must be 1-${FIXED_VMID_LIMIT - 1}`);
    }
    return null;
  }

  /** Run `op` on a VM in one of `from` states, one operation per VM at a time. */
  private async exclusive<T>(vmid: number, from: readonly VmStatus[], op: (rec: VmRecord) => Promise<T | VmError>): Promise<T | VmError> {
    const rec = this.records.get(vmid);
    if (rec === undefined) return new VmError('NOT_FOUND', `no VM ${vmid}`);
    if (this.busy.has(vmid)) return new VmError('VM_STATE_CONFLICT', `another operation on VM ${vmid} is in progress`);
    if (!from.includes(rec.status)) {
      return new VmError('VM_STATE_CONFLICT', `VM ${vmid} is ${statusName(rec.status)}; this needs ${from.map(statusName).join(' or ')}`);
    }
    this.busy.add(vmid);
    try {
      return await op(rec);
    } finally {
      this.busy.delete(vmid);
    }
  }

  private setStatus(rec: VmRecord, status: VmStatus): void {
    if (rec.status === status) return;
    rec.status = status;
    this.events.emit('vm-status', rec);
    this.wake(rec);
  }

  private statusChanged(vmid: number, status: VmStatus, osStatus: OsStatus, appStatus: number): void {
    const rec = this.records.get(vmid);
    if (rec === undefined) return;
    if (rec.status === status && rec.osStatus === osStatus && rec.appStatus === appStatus) return;
    rec.status = status;
    rec.osStatus = osStatus;
    rec.appStatus = appStatus;
    this.events.emit('vm-status', rec);
    this.wake(rec);
  }

  private exited(vmid: number, exitType: number, reason: Uint8Array): void {
    const rec = this.records.get(vmid);
    if (rec === undefined) return;
    rec.exit = { exitType, reason };
    this.events.emit('vm-exited', rec);
    this.setStatus(rec, VM_STATUS.EXITED);
  }

  /** Resolves true once the VM reaches one of `statuses` (at once if it has), false at the deadline or abort. */
  private waitStatus(rec: VmRecord, statuses: readonly VmStatus[], opts: OpOptions) {
    let cancel = () => {};
    const reached = new Promise<boolean>((resolve) => {
      if (statuses.includes(rec.status)) return resolve(true);
      const timer = setTimeout(() => w.done(false), opts.timeoutMs ?? this.rm.client.timeoutMs);
      const onAbort = () => w.done(false);
      const w: Waiter = {
        vmid: rec.vmid, statuses,
        done: (ok) => {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          this.waiters.delete(w);
          resolve(ok);
        },
      };
      this.waiters.add(w);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      cancel = () => w.done(false);
    });
    return { reached, cancel: () => cancel() };
  }

  private wake(rec: VmRecord): void {
    for (const w of [...this.waiters]) if (w.vmid === rec.vmid && w.statuses.includes(rec.status)) w.done(true);
  }

  private noNotification(msgId: number, what: string, opts: OpOptions): VmError {
    const reason = opts.signal?.aborted ? 'aborted' : 'timeout';
    return rmFailed(new RmFailure(reason, msgId, `${rmMessageName(msgId)} was accepted but ${what} never came`));
  }
}

/** Lower-cased once: every VM view and every VM route's state check names a status. */
const lowerCased = (names: ReadonlyMap<number, string>): ReadonlyMap<number, string> =>
  new Map([...names].map(([value, name]) => [value, name.toLowerCase()]));
const VM_STATUS_LOWER = lowerCased(VM_STATUS_NAMES);
const OS_STATUS_LOWER = lowerCased(OS_STATUS_NAMES);

/** spec §9.5 status names in lower case, as the REST API and sysfs show them. */
export function statusName(status: number): string {
  return VM_STATUS_LOWER.get(status) ?? `status_${status}`;
}

export function osStatusName(osStatus: number): string {
  return OS_STATUS_LOWER.get(osStatus) ?? `os_status_${osStatus}`;
}
