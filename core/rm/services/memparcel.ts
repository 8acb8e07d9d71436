// Memory parcels (spec §7.2, R-MP memparcel.c / memparcel_msg.h): MEM_LEND, MEM_SHARE, MEM_DONATE, MEM_APPEND,
// MEM_ACCEPT, MEM_RELEASE, MEM_RECLAIM and MEM_NOTIFY, decoded here and applied to the VMs' address spaces by
// core/mem/parcels.ts, whose refusals carry the RM error to answer. ACL VMs learn of a parcel with MEM_SHARED once
// it is complete; its owner learns of accepts and releases with MEM_ACCEPTED and MEM_RELEASED.
import { PAGE_SIZE } from '../../abi/memory.js';
import {
  MEM_ACCEPT_FLAG, MEM_APPEND_FLAG, MEM_NOTIFY_FLAG, MEM_RELEASE_FLAG, MEM_SHARE_FLAG, MEM_TRANS_TYPE, RM_ERROR,
  RM_MSG, RM_NOTIF,
} from '../../abi/rm.js';
import { ParcelRefusal, type Parcel } from '../../mem/parcels.js';
import {
  isRmError, MemAcceptedNotification, MemAcceptReply, MemAcceptRequest, MemAppendRequest, MemHandleReply,
  MemNotifyRequest, MemparcelCreateRequest, MemReclaimRequest, MemReleasedNotification, MemReleaseRequest,
  MemSharedNotification, type SglEntry,
} from '../messages.js';
import type { ResourceManager, RpcRequest, Service, ServiceResult } from '../resource-manager.js';

/** The parcel's regions as SGL entries (u64 fields). */
const sglOf = (parcel: Parcel): SglEntry[] => parcel.regions.map((r) => ({ ipa: BigInt(r.ipa), size: BigInt(r.size) }));

/** MEM_SHARED to each VM of the ACL but the owner (spec §7.2 notifications). */
function announce(rm: ResourceManager, parcel: Parcel, to: readonly number[] = parcel.acl.map((e) => e.vmid)): void {
  const payload = MemSharedNotification.encode({
    handle: parcel.handle, memType: parcel.memType, transType: parcel.transaction, flags: 0, ownerVmid: parcel.owner,
    label: parcel.label, memInfoTag: 0, acl: parcel.acl.map((e) => ({ vmid: e.vmid, rights: e.rights })),
    sgl: sglOf(parcel), attrs: [],
  }) as Uint8Array;
  for (const vmid of to) if (vmid !== parcel.owner) rm.notify(vmid, RM_NOTIF.MEM_SHARED, payload);
}

/** MEM_ACCEPTED / MEM_RELEASED to the owner: {handle, vmid of the borrower, mem_info_tag}. */
function tellOwner(rm: ResourceManager, parcel: Parcel, msgId: number, borrower: number): void {
  const payload = MemAcceptedNotification.encode({ handle: parcel.handle, vmid: borrower, memInfoTag: 0 });
  rm.notify(parcel.owner, msgId, payload as Uint8Array);
}

/** The bytes [offset, offset + length) of a parcel, read from its pages (the RM maps the parcel to read it). */
export function readParcel(parcel: Parcel, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  let base = 0;
  for (let r = 0; r < parcel.regions.length && done < length; r++) {
    const size = parcel.regions[r]!.size;
    for (let at = offset + done - base; done < length && at >= 0 && at < size; ) {
      const page = parcel.pages[r]![Math.floor(at / PAGE_SIZE)]!.mapping.page;
      const inPage = at % PAGE_SIZE;
      const n = Math.min(length - done, PAGE_SIZE - inPage);
      out.set(page.subarray(inPage, inPage + n), done);
      done += n;
      at += n;
    }
    base += size;
  }
  return out;
}

/** The IPA where `offset` of the parcel lies in a VM that accepted it at `ipas` (one per region). */
export function parcelIpa(parcel: Parcel, ipas: readonly number[], offset: number): number {
  let base = 0;
  for (let r = 0; r < parcel.regions.length; r++) {
    const size = parcel.regions[r]!.size;
    if (offset < base + size) return ipas[r]! + (offset - base);
    base += size;
  }
  return ipas[ipas.length - 1]! + parcel.regions[ipas.length - 1]!.size;
}

function create(transaction: number): Service {
  return ({ rm, client, payload }: RpcRequest): ServiceResult => {
    const req = MemparcelCreateRequest.decode(payload);
    if (isRmError(req)) return req;
    const parcel = rm.parcels.create({
      owner: client.vmid, transaction, memType: req.memType, label: req.label, acl: req.acl, sgl: req.sgl,
      sanitize: (req.flags & MEM_SHARE_FLAG.SANITIZE) !== 0,
    });
    if (parcel instanceof ParcelRefusal) return parcel.rmError;
    // More SGL entries follow with MEM_APPEND: the parcel is announced once the last one is in.
    if ((req.flags & MEM_SHARE_FLAG.APPEND) !== 0) rm.parcelsInProgress.add(parcel.handle);
    else announce(rm, parcel);
    return MemHandleReply.encode({ handle: parcel.handle }) as Uint8Array;
  };
}

/** The owner's parcel by handle, or HANDLE_INVALID (R-MP looks parcels up by owner). */
function owned(rm: ResourceManager, vmid: number, handle: number): Parcel | number {
  const parcel = rm.parcels.get(handle);
  return parcel === undefined || parcel.owner !== vmid ? RM_ERROR.HANDLE_INVALID : parcel;
}

/** A parcel the client owns or is in the ACL of, or HANDLE_INVALID. */
function visible(rm: ResourceManager, vmid: number, handle: number): Parcel | number {
  const parcel = rm.parcels.get(handle);
  const known = parcel !== undefined && (parcel.owner === vmid || parcel.rightsOf(vmid) !== undefined);
  return known ? parcel : RM_ERROR.HANDLE_INVALID;
}

/** Only a parcel created with the APPEND flag takes more entries (ARGUMENT_INVALID otherwise); END completes it. */
function append({ rm, client, payload }: RpcRequest): ServiceResult {
  const req = MemAppendRequest.decode(payload);
  if (isRmError(req)) return req;
  const parcel = owned(rm, client.vmid, req.handle);
  if (typeof parcel === 'number') return parcel;
  if (!rm.parcelsInProgress.has(parcel.handle)) return RM_ERROR.ARGUMENT_INVALID;
  const refused = rm.parcels.append(parcel, req.sgl);
  if (refused !== null) return refused.rmError;
  if ((req.flags & MEM_APPEND_FLAG.END) !== 0) {
    rm.parcelsInProgress.delete(parcel.handle);
    announce(rm, parcel);
  }
  return RM_ERROR.OK;
}

/** The borrower IPA of each region: the SGL's, one contiguous base, or (empty SGL) where the owner has them. */
function placement(parcel: Parcel, sgl: readonly SglEntry[], contiguous: boolean): number[] | null {
  if (sgl.length === 0) return parcel.regions.map((r) => r.ipa);
  if (contiguous && sgl.length === 1 && Number(sgl[0]!.size) === parcel.size) {
    let next = Number(sgl[0]!.ipa);
    return parcel.regions.map((r) => (next += r.size) - r.size);
  }
  if (sgl.length !== parcel.regions.length) return null;
  if (sgl.some((e, r) => Number(e.size) !== parcel.regions[r]!.size)) return null;
  return sgl.map((e) => Number(e.ipa));
}

const sameAcl = (parcel: Parcel, acl: readonly { vmid: number; rights: number }[]): boolean =>
  acl.length === parcel.acl.length && acl.every((e) => parcel.rightsOf(e.vmid) === e.rights);

/**
 * The client maps a parcel it is in the ACL of (spec §7.2 MEM_ACCEPT). Type and transaction must match
 * (ARGUMENT_INVALID); the VALIDATE_* flags compare ACL, label and sanitization (VALIDATE_FAILED). Only the
 * requester maps (MAP_OTHER is DENIED). The reply lists where each region landed; the owner gets MEM_ACCEPTED.
 */
function accept({ rm, client, payload }: RpcRequest): ServiceResult {
  const req = MemAcceptRequest.decode(payload);
  if (isRmError(req)) return req;
  const parcel = visible(rm, client.vmid, req.handle);
  if (typeof parcel === 'number') return parcel;
  if (rm.parcelsInProgress.has(parcel.handle)) return RM_ERROR.ARGUMENT_INVALID; // still being appended to
  if (req.memType !== parcel.memType || req.transType !== parcel.transaction) return RM_ERROR.ARGUMENT_INVALID;
  const f = req.flags;
  if ((f & MEM_ACCEPT_FLAG.MAP_OTHER) !== 0) return RM_ERROR.DENIED;
  if ((f & MEM_ACCEPT_FLAG.VALIDATE_ACL_ATTR) !== 0 && !sameAcl(parcel, req.acl)) return RM_ERROR.VALIDATE_FAILED;
  if ((f & MEM_ACCEPT_FLAG.VALIDATE_LABEL) !== 0 && req.label !== parcel.label) return RM_ERROR.VALIDATE_FAILED;
  if ((f & MEM_ACCEPT_FLAG.VALIDATE_SANITIZED) !== 0 && !parcel.sanitized) return RM_ERROR.VALIDATE_FAILED;
  const ipas = placement(parcel, req.sgl, (f & MEM_ACCEPT_FLAG.MAP_CONTIGUOUS) !== 0);
  if (ipas === null) return RM_ERROR.ARGUMENT_INVALID;
  const sgl = ipas.map((ipa, r) => ({ ipa: BigInt(ipa), size: BigInt(parcel.regions[r]!.size) }));
  const refused = rm.parcels.accept(parcel, client.vmid, ipas, { sanitize: (f & MEM_ACCEPT_FLAG.SANITIZE) !== 0 });
  if (refused !== null) return refused.rmError;
  tellOwner(rm, parcel, RM_NOTIF.MEM_ACCEPTED, client.vmid);
  return MemAcceptReply.encode({ flags: 0, sgl }) as Uint8Array;
}

/** A borrower unmaps a parcel it accepted; the owner gets MEM_RELEASED. */
function release({ rm, client, payload }: RpcRequest): ServiceResult {
  const req = MemReleaseRequest.decode(payload);
  if (isRmError(req)) return req;
  const parcel = visible(rm, client.vmid, req.handle);
  if (typeof parcel === 'number') return parcel;
  const refused = rm.parcels.release(parcel, client.vmid, { sanitize: (req.flags & MEM_RELEASE_FLAG.SANITIZE) !== 0 });
  if (refused !== null) return refused.rmError;
  tellOwner(rm, parcel, RM_NOTIF.MEM_RELEASED, client.vmid);
  return RM_ERROR.OK;
}

/** The owner takes its memory back: MEM_INUSE while a borrower still has it accepted. */
function reclaim({ rm, client, payload }: RpcRequest): ServiceResult {
  const req = MemReclaimRequest.decode(payload);
  if (isRmError(req)) return req;
  const parcel = owned(rm, client.vmid, req.handle);
  if (typeof parcel === 'number') return parcel;
  const refused = rm.parcels.reclaim(parcel, client.vmid, { sanitize: (req.flags & MEM_RELEASE_FLAG.SANITIZE) !== 0 });
  if (refused !== null) return refused.rmError;
  rm.parcelsInProgress.delete(parcel.handle);
  return RM_ERROR.OK;
}

/**
 * MEM_NOTIFY (spec §7.2): exactly one flag. SHARED (owner): MEM_SHARED to the listed ACL VMs; RECALL (owner):
 * MEM_RECALL to the borrowers; RELEASED / ACCEPTED (a borrower): the matching notification to the owner.
 */
function notify({ rm, client, payload }: RpcRequest): ServiceResult {
  const req = MemNotifyRequest.decode(payload);
  if (isRmError(req)) return req;
  const parcel = visible(rm, client.vmid, req.handle);
  if (typeof parcel === 'number') return parcel;
  const isOwner = parcel.owner === client.vmid;
  switch (req.flags) {
    case MEM_NOTIFY_FLAG.SHARED: {
      const to = req.vmids.map((e) => e.vmid);
      if (!isOwner) return RM_ERROR.DENIED;
      if (to.length === 0 || to.some((v) => parcel.rightsOf(v) === undefined)) return RM_ERROR.ARGUMENT_INVALID;
      announce(rm, parcel, to);
      return RM_ERROR.OK;
    }
    case MEM_NOTIFY_FLAG.RECALL: {
      if (!isOwner) return RM_ERROR.DENIED;
      const recall = new Uint8Array(8);
      const view = new DataView(recall.buffer);
      view.setUint32(0, parcel.handle, true);
      view.setUint32(4, req.memInfoTag, true);
      for (const vmid of parcel.accepted.keys()) rm.notify(vmid, RM_NOTIF.MEM_RECALL, recall);
      return RM_ERROR.OK;
    }
    case MEM_NOTIFY_FLAG.RELEASED:
    case MEM_NOTIFY_FLAG.ACCEPTED: {
      if (isOwner) return RM_ERROR.DENIED;
      const msgId = req.flags === MEM_NOTIFY_FLAG.RELEASED ? RM_NOTIF.MEM_RELEASED : RM_NOTIF.MEM_ACCEPTED;
      const note = MemReleasedNotification.encode({ handle: parcel.handle, vmid: client.vmid, memInfoTag: req.memInfoTag });
      rm.notify(parcel.owner, msgId, note as Uint8Array);
      return RM_ERROR.OK;
    }
    default:
      return RM_ERROR.ARGUMENT_INVALID;
  }
}

export const memparcelServices: ReadonlyMap<number, Service> = new Map([
  [RM_MSG.MEM_LEND, create(MEM_TRANS_TYPE.LEND)],
  [RM_MSG.MEM_SHARE, create(MEM_TRANS_TYPE.SHARE)],
  [RM_MSG.MEM_DONATE, create(MEM_TRANS_TYPE.DONATE)],
  [RM_MSG.MEM_APPEND, append],
  [RM_MSG.MEM_ACCEPT, accept],
  [RM_MSG.MEM_RELEASE, release],
  [RM_MSG.MEM_RECLAIM, reclaim],
  [RM_MSG.MEM_NOTIFY, notify],
]);
