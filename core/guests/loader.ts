// The image loader the RM calls at VM_INIT (core/rm/image-loader.ts): it reads the image header the HLOS wrote at
// the start of the image range, refuses a bad header or an unknown image (VM_INIT then fails as the RM fails an
// image it cannot parse), and registers the named built-in program at the image's entry point, where VM_START
// powers vCPU 0 on. It also applies the devicetree's trigger type to the VM's RM link interrupts (edge rising,
// spec §4.5), as boot firmware configures the interrupt controller before the guest runs.
import type { ImageLoader, ImageLoadResult } from '../rm/image-loader.js';
import type { RmLinkInfo } from '../rm/port.js';
import type { Vm } from '../vm/vm.js';
import { decodeImageHeader, isImageHeaderError, type ImageHeader, type ImageHeaderError } from './image-header.js';
import type { ImageDefinition } from './image-types.js';
import { consoleEchoImage } from './images/console-echo.js';
import { doorbellPingImage } from './images/doorbell-ping.js';
import { idleImage } from './images/idle.js';
import { msgqEchoImage } from './images/msgq-echo.js';
import { trafficImage } from './images/traffic.js';

export const BUILT_IN_IMAGES: ReadonlyMap<string, ImageDefinition<any>> = new Map(
  [idleImage, consoleEchoImage, msgqEchoImage, doorbellPingImage, trafficImage].map((d) => [d.name, d]),
);

export interface LoaderEnvironment {
  /** The VM's RM link (spec §4.5), as its devicetree declares it. */
  linkOf(vmid: number): RmLinkInfo | null;
}

/** Why the loader refused an image, for logs and tests: the last refusal per VMID. */
export type LoaderRefusals = Map<number, string>;

export function createImageLoader(
  env: LoaderEnvironment,
  images: ReadonlyMap<string, ImageDefinition<any>> = BUILT_IN_IMAGES,
): ImageLoader & { readonly refusals: LoaderRefusals } {
  const refusals: LoaderRefusals = new Map();
  const refuse = (vmid: number, reason: string): { ok: false; reason: string } => {
    refusals.set(vmid, reason);
    return { ok: false, reason };
  };
  // The RM hands over the image's first bytes (IMAGE_BYTES_MAX at most): the header and entry point lie there.
  const header = (image: Uint8Array): ImageHeader | ImageHeaderError => decodeImageHeader(image, image.length);

  return {
    refusals,
    vcpus(image) {
      const h = header(image);
      return isImageHeaderError(h) ? { reason: h.detail } : h.vcpus;
    },
    load(vm: Vm, image: Uint8Array, imageIpa: number): ImageLoadResult {
      const h = header(image);
      if (isImageHeaderError(h)) return refuse(vm.vmid, `bad image header: ${h.detail}`);
      const def = images.get(h.name);
      if (def === undefined) return refuse(vm.vmid, `unknown image "${h.name}" (built in: ${[...images.keys()].join(', ')})`);
      const params = def.params(h.params);
      if (typeof params === 'object' && params !== null && 'error' in params) {
        return refuse(vm.vmid, `image ${h.name}: ${(params as { error: string }).error}`);
      }
      const link = env.linkOf(vm.vmid);
      if (link === null) return refuse(vm.vmid, 'the VM has no RM link');
      vm.vic.setEdgeTriggered(link.txVirq, true);
      vm.vic.setEdgeTriggered(link.rxVirq, true);
      const entry = imageIpa + h.entryOffset;
      vm.programs.set(entry, def.program({ header: h, params, link, imageIpa, imageSize: image.length }));
      refusals.delete(vm.vmid);
      return { ok: true, entry: BigInt(entry), name: h.name };
    },
  };
}
