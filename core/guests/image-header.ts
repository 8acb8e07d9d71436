// The guest image header: what the HLOS writes at the start of the image range of the parcel it lends for a VM
// (VM_CONFIG_IMAGE image_offset, spec §9.4, §9.7), and what the RM's image loader reads back from the VM's memory
// at VM_INIT to start a built-in image on the VM's vCPUs. There is no CPU emulation, so an "image" names one of the
// built-in guest programs (core/guests/images.ts) instead of holding machine code.
//
// Layout (little-endian, IMAGE_HEADER_SIZE bytes, then the parameter block):
//   0  u32  magic         IMAGE_MAGIC, the bytes "GEMU"
//   4  u16  version       IMAGE_VERSION (1)
//   6  u16  header_size   IMAGE_HEADER_SIZE (56): where the parameter block starts
//   8  u8[32] name        the image name, ASCII [a-z0-9-], NUL-padded
//  40  u32  vcpus         vCPUs the image runs on (1-IMAGE_MAX_VCPUS); every vCPU of the VM runs its program
//  44  u32  entry_offset  offset of the entry point from the image start (4-byte aligned, inside the image): the
//                         vCPUs' PC at VM_START, the key of the program in the VM's program table
//  48  u32  params_size   bytes of the parameter block
//  52  u32  reserved      0
//  56  params             a JSON object, UTF-8 (e.g. {"rate":200}); the image validates its keys
// The header and its parameters fit in the image's first page; the rest of the image range is the image's own
// working memory (RM link buffers, message buffers).
import { PAGE_SIZE } from '../abi/memory.js';

export const IMAGE_MAGIC = 0x554d4547; // "GEMU" little-endian
export const IMAGE_VERSION = 1;
export const IMAGE_HEADER_SIZE = 56;
export const IMAGE_NAME_MAX = 32;
export const IMAGE_MAX_VCPUS = 64;
export const IMAGE_PARAMS_MAX = PAGE_SIZE - IMAGE_HEADER_SIZE;
const NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

export type ImageParams = Record<string, unknown>;

export interface ImageHeader {
  readonly name: string;
  readonly vcpus: number;
  readonly entryOffset: number;
  readonly params: ImageParams;
}

/** Why a header was refused: a short code and a sentence naming the field. */
export interface ImageHeaderError {
  readonly error: 'too_short' | 'bad_magic' | 'bad_version' | 'bad_header_size' | 'bad_name' | 'bad_vcpus'
    | 'bad_entry' | 'bad_params' | 'reserved_not_zero';
  readonly detail: string;
}

export const isImageHeaderError = (v: object): v is ImageHeaderError => 'error' in v && 'detail' in v;

const refuse = (error: ImageHeaderError['error'], detail: string): ImageHeaderError => ({ error, detail });

/** Why a string cannot be an image name, or null. */
export function imageNameError(name: unknown): string | null {
  if (typeof name === 'string' && name.length <= IMAGE_NAME_MAX && NAME_PATTERN.test(name)) return null;
  return `image name ${JSON.stringify(name)} is not 1-${IMAGE_NAME_MAX} characters of [a-z0-9-]`;
}

/** Check a header's fields (the writer and the reader apply the same rules). */
function check(h: ImageHeader, imageSize: number): ImageHeaderError | null {
  const nameError = imageNameError(h.name);
  if (nameError) return refuse('bad_name', nameError);
  if (!Number.isInteger(h.vcpus) || h.vcpus < 1 || h.vcpus > IMAGE_MAX_VCPUS) {
    return refuse('bad_vcpus', `vcpus ${h.vcpus} is not 1-${IMAGE_MAX_VCPUS}`);
  }
  if (!Number.isInteger(h.entryOffset) || h.entryOffset < 0 || h.entryOffset % 4 !== 0 || h.entryOffset >= imageSize) {
    return refuse('bad_entry', `entry_offset ${h.entryOffset} is not a 4-byte aligned offset inside the ${imageSize}-byte image`);
  }
  if (typeof h.params !== 'object' || h.params === null || Array.isArray(h.params)) {
    return refuse('bad_params', 'the parameter block is not a JSON object');
  }
  return null;
}

/** The bytes of a header for an image of `imageSize` bytes, or why it cannot be written. */
export function encodeImageHeader(h: ImageHeader, imageSize: number): Uint8Array | ImageHeaderError {
  const err = check(h, imageSize);
  if (err) return err;
  const params = new TextEncoder().encode(JSON.stringify(h.params));
  if (params.length > IMAGE_PARAMS_MAX) {
    return refuse('bad_params', `the parameter block is ${params.length} bytes, over ${IMAGE_PARAMS_MAX}`);
  }
  const size = IMAGE_HEADER_SIZE + params.length;
  if (size > imageSize) return refuse('too_short', `the header needs ${size} bytes, the image has ${imageSize}`);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, IMAGE_MAGIC, true);
  view.setUint16(4, IMAGE_VERSION, true);
  view.setUint16(6, IMAGE_HEADER_SIZE, true);
  out.set(new TextEncoder().encode(h.name), 8);
  view.setUint32(40, h.vcpus, true);
  view.setUint32(44, h.entryOffset, true);
  view.setUint32(48, params.length, true);
  out.set(params, IMAGE_HEADER_SIZE);
  return out;
}

/** Parse the header at the start of `bytes` (the image's first page) for an image of `imageSize` bytes. */
export function decodeImageHeader(bytes: Uint8Array, imageSize: number): ImageHeader | ImageHeaderError {
  if (bytes.length < IMAGE_HEADER_SIZE || imageSize < IMAGE_HEADER_SIZE) {
    return refuse('too_short', `an image header needs ${IMAGE_HEADER_SIZE} bytes, the image has ${Math.min(bytes.length, imageSize)}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== IMAGE_MAGIC) return refuse('bad_magic', `magic 0x${magic.toString(16)} is not 0x${IMAGE_MAGIC.toString(16)} ("GEMU")`);
  const version = view.getUint16(4, true);
  if (version !== IMAGE_VERSION) return refuse('bad_version', `image header version ${version} is not ${IMAGE_VERSION}`);
  const headerSize = view.getUint16(6, true);
  if (headerSize !== IMAGE_HEADER_SIZE) return refuse('bad_header_size', `header_size ${headerSize} is not ${IMAGE_HEADER_SIZE}`);
  if (view.getUint32(52, true) !== 0) return refuse('reserved_not_zero', 'the reserved word at offset 52 is not 0');
  const nameBytes = bytes.subarray(8, 8 + IMAGE_NAME_MAX);
  const nul = nameBytes.indexOf(0);
  const nameEnd = nul < 0 ? IMAGE_NAME_MAX : nul;
  if (nameBytes.subarray(nameEnd).some((b) => b !== 0)) return refuse('bad_name', 'the image name is not NUL-padded');
  const name = String.fromCharCode(...nameBytes.subarray(0, nameEnd));
  const paramsSize = view.getUint32(48, true);
  const end = IMAGE_HEADER_SIZE + paramsSize;
  if (paramsSize > IMAGE_PARAMS_MAX || end > bytes.length || end > imageSize) {
    return refuse('bad_params', `params_size ${paramsSize} does not fit in the image's first page`);
  }
  let params: unknown = {};
  if (paramsSize > 0) {
    try {
      params = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(IMAGE_HEADER_SIZE, end)));
    } catch {
      return refuse('bad_params', 'the parameter block is not UTF-8 JSON');
    }
  }
  const header: ImageHeader = {
    name, vcpus: view.getUint32(40, true), entryOffset: view.getUint32(44, true), params: params as ImageParams,
  };
  return check(header, imageSize) ?? header;
}
