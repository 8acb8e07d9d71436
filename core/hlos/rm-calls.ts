// Typed RM calls over an RmClient, like Linux's rsc_mgr_rpc.c: each encodes its request with messages.ts, sends it
// and decodes the reply data. Every call resolves with its value or an RmFailure, bounded by the client's deadline
// (CallOptions override it per call).
import {
  MEM_APPEND_FLAG, MEM_SHARE_FLAG, MEM_TYPE, MEMPARCEL, RM_MSG, RM_NOTIF, RM_RPC, rmErrorName, VM_AUTH,
  VM_STOP_FLAG, VM_STOP_REASON,
} from '../abi/rm.js';
import {
  EmptyPayload, isRmError, MemAcceptReply, MemAcceptRequest, MemAppendRequest, MemHandleReply,
  MemAcceptedNotification, MemparcelCreateRequest, MemReclaimRequest, MemReleasedNotification, MemReleaseRequest,
  MemSharedNotification, VmAllocateReply, VmConfigImageRequest, VmConsoleCharsNotification, VmConsoleWriteRequest,
  VmExitedNotification, VmExitRequest, VmGetHypResourcesReply, VmGetStateReply, VmGetVmidReply, VmHostGetTypeReply,
  VmidRequest, VmSetStatusRequest, VmShutdownNotification, VmStatusNotification, VmStopRequest, type AclEntry, type AttrEntry, type Codec, type CodecValue,
  type HypResource, type SglEntry,
} from '../rm/messages.js';
import { RmFailure } from './rm-failure.js';
import type { CallOptions, RmClient } from './rm-client.js';

/**
 * Bytes per VM_CONSOLE_WRITE: the RPC maximum (spec §10.1: no limit but the message size, 14616 - 4). Linux's tty
 * driver used 228 so one write fits one packet; the emulator takes the largest the RM accepts, since the RM
 * fragments anyway and each write costs a round trip (the console benchmark is per-round-trip bound).
 */
export const CONSOLE_WRITE_MAX = RM_RPC.MAX_MESSAGE - 4;

export type VmState = CodecValue<typeof VmGetStateReply>;
export type VmConfigImage = Omit<CodecValue<typeof VmConfigImageRequest>, 'auth'> & { auth?: number };
export type { HypResource };

export interface ParcelSpec {
  acl: AclEntry[];
  sgl: SglEntry[];
  attrs?: AttrEntry[];
  label?: number;
  memType?: number;
  /** Ask the RM to zero the memory (MEM_SHARE_FLAG.SANITIZE). */
  sanitize?: boolean;
}

/** The notifications a client can subscribe to by name, decoded with messages.ts (spec §9.4, §7.2). */
const NOTIFICATION_CODECS = {
  VM_STATUS: VmStatusNotification,
  VM_EXITED: VmExitedNotification,
  VM_SHUTDOWN: VmShutdownNotification,
  VM_CONSOLE_CHARS: VmConsoleCharsNotification,
  MEM_SHARED: MemSharedNotification,
  MEM_RELEASED: MemReleasedNotification,
  MEM_ACCEPTED: MemAcceptedNotification,
} as const;
export type RmNotificationName = keyof typeof NOTIFICATION_CODECS;
export type RmNotification<K extends RmNotificationName> = CodecValue<(typeof NOTIFICATION_CODECS)[K]>;

/** Replies with no data after the error word. */
const VOID = EmptyPayload;

export class RmCalls {
  /** Notifications that did not decode for their ID (dropped). */
  badNotifications = 0;

  constructor(readonly client: RmClient) {}

  /** Subscribe to a notification, decoded; returns the unsubscribe function. Byte fields are views: copy to keep. */
  on<K extends RmNotificationName>(name: K, handler: (n: RmNotification<K>) => void): () => void {
    const codec = NOTIFICATION_CODECS[name] as Codec<RmNotification<K>>;
    return this.client.onNotification(RM_NOTIF[name], (payload) => {
      const n = codec.decode(payload);
      if (isRmError(n)) this.badNotifications++;
      else handler(n);
    });
  }

  /** VM_ALLOCATE (spec §9.4): vmid 0 asks for a dynamic VMID; resolves with the VMID allocated. */
  async vmAllocate(vmid = 0, opts?: CallOptions): Promise<number | RmFailure> {
    const r = await this.request(RM_MSG.VM_ALLOCATE, VmidRequest, { vmid }, VmAllocateReply, opts);
    return r instanceof RmFailure ? r : (r.vmid ?? vmid);
  }

  vmDeallocate(vmid: number, opts?: CallOptions) {
    return this.vmidCall(RM_MSG.VM_DEALLOCATE, vmid, opts);
  }

  vmConfigImage(cfg: VmConfigImage, opts?: CallOptions) {
    return this.done(this.request(RM_MSG.VM_CONFIG_IMAGE, VmConfigImageRequest, { auth: VM_AUTH.NONE, ...cfg }, VOID, opts));
  }

  vmInit(vmid: number, opts?: CallOptions) {
    return this.vmidCall(RM_MSG.VM_INIT, vmid, opts);
  }

  vmStart(vmid: number, opts?: CallOptions) {
    return this.vmidCall(RM_MSG.VM_START, vmid, opts);
  }

  /** VM_STOP: by default FORCE with reason 3, as Linux sends it (spec §9.4). */
  vmStop(vmid: number, stop: { force?: boolean; stopReason?: number } = {}, opts?: CallOptions) {
    const flags = (stop.force ?? true) ? VM_STOP_FLAG.FORCE : 0;
    const value = { vmid, flags, stopReason: stop.stopReason ?? VM_STOP_REASON.FORCE_STOP };
    return this.done(this.request(RM_MSG.VM_STOP, VmStopRequest, value, VOID, opts));
  }

  vmReset(vmid: number, opts?: CallOptions) {
    return this.vmidCall(RM_MSG.VM_RESET, vmid, opts);
  }

  /** VM_GET_STATE: vm_status, os_status and app_status (spec §9.5); vmid 0 = self. */
  vmGetState(vmid: number, opts?: CallOptions): Promise<VmState | RmFailure> {
    return this.request(RM_MSG.VM_GET_STATE, VmidRequest, { vmid }, VmGetStateReply, opts);
  }

  /** VM_GET_VMID: the caller's own VMID. */
  async vmGetVmid(opts?: CallOptions): Promise<number | RmFailure> {
    const r = await this.request(RM_MSG.VM_GET_VMID, EmptyPayload, {}, VmGetVmidReply, opts);
    return r instanceof RmFailure ? r : r.vmid & 0xffff; // Linux keeps the low 16 bits
  }

  async vmGetHypResources(vmid: number, opts?: CallOptions): Promise<HypResource[] | RmFailure> {
    const r = await this.request(RM_MSG.VM_GET_HYP_RESOURCES, VmidRequest, { vmid }, VmGetHypResourcesReply, opts);
    return r instanceof RmFailure ? r : r.entries;
  }

  async vmHostGetType(opts?: CallOptions): Promise<number | RmFailure> {
    const r = await this.request(RM_MSG.VM_HOST_GET_TYPE, EmptyPayload, {}, VmHostGetTypeReply, opts);
    return r instanceof RmFailure ? r : r.hostType;
  }

  /** VM_SET_STATUS (secondary VMs): the guest's own os_status and app_status. */
  vmSetStatus(osStatus: number, appStatus = 0, opts?: CallOptions) {
    return this.done(this.request(RM_MSG.VM_SET_STATUS, VmSetStatusRequest, { osStatus, appStatus }, VOID, opts));
  }

  /** VM_EXIT: the guest stops itself (exit_code per VM_EXIT_CODE). */
  vmExit(exitCode: number, exitFlags = 0, opts?: CallOptions) {
    return this.done(this.request(RM_MSG.VM_EXIT, VmExitRequest, { exitFlags, exitCode }, VOID, opts));
  }

  consoleOpen(vmid: number, opts?: CallOptions) {
    return this.vmidCall(RM_MSG.VM_CONSOLE_OPEN, vmid, opts);
  }

  consoleClose(vmid: number, opts?: CallOptions) {
    return this.vmidCall(RM_MSG.VM_CONSOLE_CLOSE, vmid, opts);
  }

  consoleFlush(vmid: number, opts?: CallOptions) {
    return this.vmidCall(RM_MSG.VM_CONSOLE_FLUSH, vmid, opts);
  }

  /**
   * VM_CONSOLE_WRITE of any number of bytes, in CONSOLE_WRITE_MAX chunks sent one after the other (spec §10.1).
   * Resolves with the bytes written: all of them, or an RmFailure at the first chunk that failed.
   */
  async consoleWrite(vmid: number, bytes: Uint8Array, opts?: CallOptions): Promise<number | RmFailure> {
    let at = 0;
    do {
      const chunk = bytes.subarray(at, at + CONSOLE_WRITE_MAX);
      const r = await this.request(RM_MSG.VM_CONSOLE_WRITE, VmConsoleWriteRequest, { vmid, bytes: chunk }, VOID, opts);
      if (r instanceof RmFailure) return r;
      at += CONSOLE_WRITE_MAX;
    } while (at < bytes.length);
    return bytes.length;
  }

  /** MEM_LEND (spec §7.2): the owner loses access while lent; resolves with the parcel handle. */
  memLend(parcel: ParcelSpec, opts?: CallOptions) {
    return this.createParcel(RM_MSG.MEM_LEND, parcel, opts);
  }

  /** MEM_SHARE: the owner keeps access. */
  memShare(parcel: ParcelSpec, opts?: CallOptions) {
    return this.createParcel(RM_MSG.MEM_SHARE, parcel, opts);
  }

  /** MEM_APPEND: more SGL entries for a parcel created with the APPEND flag; `end` on the last one. */
  memAppend(handle: number, sgl: SglEntry[], end: boolean, opts?: CallOptions) {
    const value = { handle, flags: end ? MEM_APPEND_FLAG.END : 0, sgl };
    return this.done(this.request(RM_MSG.MEM_APPEND, MemAppendRequest, value, VOID, opts));
  }

  /** MEM_RECLAIM: the owner takes a parcel back once every borrower released it. */
  memReclaim(handle: number, flags = 0, opts?: CallOptions) {
    return this.done(this.request(RM_MSG.MEM_RECLAIM, MemReclaimRequest, { handle, flags }, VOID, opts));
  }

  /** MEM_ACCEPT (borrower side); resolves with the SGL where the parcel is mapped. */
  memAccept(value: CodecValue<typeof MemAcceptRequest>, opts?: CallOptions) {
    return this.request(RM_MSG.MEM_ACCEPT, MemAcceptRequest, value, MemAcceptReply, opts);
  }

  /** MEM_RELEASE (borrower side). */
  memRelease(handle: number, flags = 0, opts?: CallOptions) {
    return this.done(this.request(RM_MSG.MEM_RELEASE, MemReleaseRequest, { handle, flags }, VOID, opts));
  }

  /**
   * MEM_LEND/MEM_SHARE with any number of SGL entries, as Linux does (spec §7.2): the first 512 in the request with
   * the APPEND flag, the rest in MEM_APPEND chunks, END on the last; if an append fails the parcel is reclaimed.
   */
  private async createParcel(msgId: number, p: ParcelSpec, opts?: CallOptions): Promise<number | RmFailure> {
    const max = MEMPARCEL.MAX_LIST_ENTRIES;
    const more = p.sgl.length > max;
    const value = {
      memType: p.memType ?? MEM_TYPE.NORMAL,
      flags: (p.sanitize ? MEM_SHARE_FLAG.SANITIZE : 0) | (more ? MEM_SHARE_FLAG.APPEND : 0),
      label: p.label ?? 0,
      acl: p.acl,
      sgl: p.sgl.slice(0, max),
      attrs: p.attrs ?? [],
    };
    const r = await this.request(msgId, MemparcelCreateRequest, value, MemHandleReply, opts);
    if (r instanceof RmFailure) return r;
    for (let at = max; at < p.sgl.length; at += max) {
      const appended = await this.memAppend(r.handle, p.sgl.slice(at, at + max), at + max >= p.sgl.length, opts);
      if (appended instanceof RmFailure) {
        await this.memReclaim(r.handle, 0, opts);
        return appended;
      }
    }
    return r.handle;
  }

  private vmidCall(msgId: number, vmid: number, opts?: CallOptions): Promise<void | RmFailure> {
    return this.done(this.request(msgId, VmidRequest, { vmid }, VOID, opts));
  }

  private async done(p: Promise<object | RmFailure>): Promise<void | RmFailure> {
    const r = await p;
    return r instanceof RmFailure ? r : undefined;
  }

  /** Encode, call, decode; an unencodable value is `refused`, undecodable reply data `bad_reply`. */
  private async request<Q, R>(
    msgId: number, requestCodec: Codec<Q>, value: Q, replyCodec: Codec<R>, opts?: CallOptions,
  ): Promise<R | RmFailure> {
    const payload = requestCodec.encode(value);
    if (isRmError(payload)) return this.client.refuse(msgId, `the request does not encode: ${rmErrorName(payload)}`);
    const data = await this.client.call(msgId, payload, opts);
    if (data instanceof RmFailure) return data;
    const reply = replyCodec.decode(data);
    if (isRmError(reply)) return new RmFailure('bad_reply', msgId, `${data.length} bytes of reply data do not decode`);
    return reply;
  }
}
