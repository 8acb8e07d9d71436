// Little-endian fields of RM payloads read and written byte by byte. A DataView would need the array's
// ArrayBuffer, and asking a small (on-heap) typed array for it makes V8 move its bytes off the heap first:
// 0.4-0.6 us per message, several times per RM round trip.

export const getU16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);

export const getU32 = (b: Uint8Array, o: number): number =>
  (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

export const getU64 = (b: Uint8Array, o: number): bigint => (BigInt(getU32(b, o + 4)) << 32n) | BigInt(getU32(b, o));

export function setU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
}

export function setU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

export function setU64(b: Uint8Array, o: number, v: bigint): void {
  setU32(b, o, Number(v & 0xffffffffn));
  setU32(b, o + 4, Number(v >> 32n));
}
