// Building a VM (spec §9.4, §9.7; R-MGNT vm_creation_handle_config / _init): VM_CONFIG_IMAGE names where the
// image and devicetree lie in a parcel lent to the VM; VM_INIT builds the VM with the vCPUs the image asks for,
// its RM link and the parcels lent to it, and hands the image to the registered image loader.
import { RM_ERROR, RM_MSG, VM_AUTH, VM_STATUS } from '../../abi/rm.js';
import { VMID } from '../../abi/vmid.js';
import type { Parcel } from '../../mem/parcels.js';
import { isRmError, VmConfigImageRequest, VmidRequest } from '../messages.js';
import type { ResourceManager, RpcRequest, Service, ServiceResult } from '../resource-manager.js';
import type { RmVm } from '../rm-vm.js';
import { RmHypercallError } from '../guest-interface.js';
import { createVdevices } from '../vdevices.js';
import { stateChangeValid } from '../vm-state.js';
import { parcelIpa, readParcel } from './memparcel.js';

/**
 * What the loader gets of the image: its first 64 KiB at most. Images name built-in programs in a header that
 * fits in one page, and reading a whole large parcel would back every page of it.
 */
export const IMAGE_BYTES_MAX = 64 << 10;

/** A live parcel lent or shared to the VM (R-MP memparcel_lookup_by_target_vmid). */
function parcelFor(rm: ResourceManager, vmid: number, handle: number): Parcel | undefined {
  const parcel = rm.parcels.get(handle);
  return parcel?.live === true && parcel.rightsOf(vmid) !== undefined ? parcel : undefined;
}

/** `offset + size` lies inside a parcel of `total` bytes (u64 arithmetic, no overflow). */
const within = (offset: bigint, size: bigint, total: number): boolean => offset + size <= BigInt(total);

/**
 * HLOS only (DENIED); owner only (DENIED); the VM must be able to enter AUTH, i.e. be in LOAD or RESET
 * (VM_STATE). The parcel must be lent to the VM (MEM_INVALID) and hold both ranges, and the auth type must be
 * known (ARGUMENT_INVALID); such a failure leaves the VM in INIT_FAILED, as R-MGNT does. Success: INIT (no
 * authentication, or Android's in-image one) or AUTH (platform authentication, VM_AUTH_IMAGE).
 */
function configImage({ rm, client, payload }: RpcRequest): ServiceResult {
  if (client.vmid !== VMID.HLOS) return RM_ERROR.DENIED;
  const req = VmConfigImageRequest.decode(payload);
  if (isRmError(req)) return req;
  const rvm = rm.lookup(req.vmid);
  if (rvm === undefined) return RM_ERROR.VMID_INVALID;
  if (rvm.owner !== client.vmid) return RM_ERROR.DENIED;
  if (!stateChangeValid(rvm.status, VM_STATUS.AUTH)) return RM_ERROR.VM_STATE;
  const parcel = parcelFor(rm, rvm.vmid, req.memHandle);
  let err: number = RM_ERROR.OK;
  if (parcel === undefined) err = RM_ERROR.MEM_INVALID;
  else if (!within(req.imageOffset, req.imageSize, parcel.size) || !within(req.dtbOffset, req.dtbSize, parcel.size)) {
    err = RM_ERROR.ARGUMENT_INVALID;
  } else if (!(Object.values(VM_AUTH) as number[]).includes(req.auth)) err = RM_ERROR.ARGUMENT_INVALID;
  if (err !== RM_ERROR.OK) {
    rm.setStatus(rvm, VM_STATUS.INIT_FAILED);
    return err;
  }
  rvm.image = {
    auth: req.auth, handle: req.memHandle, imageOffset: req.imageOffset, imageSize: req.imageSize,
    dtbOffset: req.dtbOffset, dtbSize: req.dtbSize,
  };
  rm.setStatus(rvm, req.auth === VM_AUTH.QCOM_PIL_ELF ? VM_STATUS.AUTH : VM_STATUS.INIT);
  return RM_ERROR.OK;
}

/** Map every live parcel lent to the VM where its owner has it (the RM auto-accepts them, R-MGNT). */
function acceptLent(rm: ResourceManager, rvm: RmVm): boolean {
  for (const parcel of rm.parcels.all()) {
    if (parcel.rightsOf(rvm.vmid) === undefined || parcel.accepted.has(rvm.vmid)) continue;
    if (rm.parcels.accept(parcel, rvm.vmid, parcel.regions.map((r) => r.ipa)) !== null) return false;
  }
  return true;
}

/**
 * HLOS only, owner only (DENIED); INIT only (VM_STATE). The image's header gives the vCPU count; the VM is built
 * with them, its RM link and its vdevices with the owner, the parcels lent to it are mapped, and the loader
 * prepares the guest. An
 * image the loader refuses fails the way the real RM fails an image it cannot parse (its devicetree): INIT_FAILED
 * and RM_ERROR_MEM_INVALID (R-MGNT vm_creation_init). A VM the hypervisor cannot build is NORESOURCE. Success:
 * READY, with vCPU 0's entry at the loader's entry or else the start of the image (R-MGNT entry_offset).
 */
function init({ rm, client, payload }: RpcRequest): ServiceResult {
  if (client.vmid !== VMID.HLOS) return RM_ERROR.DENIED;
  const req = VmidRequest.decode(payload);
  if (isRmError(req)) return req;
  const rvm = rm.lookup(req.vmid);
  if (rvm === undefined) return RM_ERROR.VMID_INVALID;
  if (rvm.owner !== client.vmid) return RM_ERROR.DENIED;
  if (rvm.status !== VM_STATUS.INIT || rvm.image === null) return RM_ERROR.VM_STATE;
  const fail = (err: number): number => {
    rm.unbuild(rvm);
    rm.setStatus(rvm, VM_STATUS.INIT_FAILED);
    return err;
  };
  const parcel = parcelFor(rm, rvm.vmid, rvm.image.handle);
  if (parcel === undefined) return fail(RM_ERROR.MEM_INVALID);
  const offset = Number(rvm.image.imageOffset);
  const image = readParcel(parcel, offset, Math.min(Number(rvm.image.imageSize), IMAGE_BYTES_MAX));
  const vcpus = rm.imageLoader.vcpus(image);
  if (typeof vcpus !== 'number') return fail(RM_ERROR.MEM_INVALID);
  if (rm.build(rvm, { vcpus }) !== null) return fail(RM_ERROR.NORESOURCE);
  const owner = rm.lookup(rvm.owner)!;
  const vdevices = createVdevices(rm.gi, rm.caps, rvm, owner);
  if (vdevices instanceof RmHypercallError) return fail(RM_ERROR.NORESOURCE);
  rvm.vdevices = vdevices;
  if (!acceptLent(rm, rvm)) return fail(RM_ERROR.MEM_INVALID);
  const imageIpa = parcelIpa(parcel, parcel.accepted.get(rvm.vmid)!, offset);
  const loaded = rm.imageLoader.load(rvm.vm!, image, imageIpa);
  if (!loaded.ok) return fail(RM_ERROR.MEM_INVALID);
  rvm.imageName = loaded.name ?? '';
  rvm.entry = loaded.entry ?? BigInt(imageIpa);
  rm.setStatus(rvm, VM_STATUS.READY);
  return RM_ERROR.OK;
}

export const vmCreationServices: ReadonlyMap<number, Service> = new Map([
  [RM_MSG.VM_CONFIG_IMAGE, configImage],
  [RM_MSG.VM_INIT, init],
]);
