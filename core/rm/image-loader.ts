// The hook through which VM_INIT starts a guest image (the emulator has no CPU emulation: an image is a header
// naming a built-in guest program, which the guest layer registers here). The RM reads the image bytes from the
// memory parcel VM_CONFIG_IMAGE named (the first IMAGE_BYTES_MAX of them), asks the loader how many vCPUs the
// header wants, builds the VM with them, its RM link and the parcels lent to it mapped where their owner has them,
// then hands the VM, the bytes and the image's IPA in the VM to `load`.
import type { Vm } from '../vm/vm.js';

export type ImageLoadResult = { ok: true; entry?: bigint; name?: string } | { ok: false; reason: string };

export interface ImageLoader {
  /** The vCPUs the image header asks for (1 or more), or why the header is refused. */
  vcpus(image: Uint8Array): number | { reason: string };
  /**
   * Prepare the VM's guest programs (its vCPUs exist, powered off; its RM link is `rm.linkOf(vm.vmid)`; the image
   * starts at `imageIpa` in its memory). `entry` is the IPA where VM_START powers vCPU 0 on (default `imageIpa`);
   * `name` is the image's name for listings.
   */
  load(vm: Vm, image: Uint8Array, imageIpa: number): ImageLoadResult;
}

/** A bare load function: the VM gets one vCPU. */
export type ImageLoadFunction = (vm: Vm, image: Uint8Array, imageIpa: number) => ImageLoadResult;

export function asImageLoader(loader: ImageLoader | ImageLoadFunction): ImageLoader {
  return typeof loader === 'function' ? { vcpus: () => 1, load: loader } : loader;
}

/** Until a loader is registered every image is refused. */
export const NO_IMAGE_LOADER: ImageLoader = {
  vcpus: () => ({ reason: 'no image loader is registered' }),
  load: () => ({ ok: false, reason: 'no image loader is registered' }),
};
