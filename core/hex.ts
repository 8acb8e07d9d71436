// Hex text for 64- and 32-bit values, the way every answer, snapshot and register dump prints them (0x and fixed
// width, lower case), and the 32-bit words the core takes 64-bit values in.

/** Two hex digits for each byte value. Formatting by table costs a few nanoseconds where Number#toString(16) costs
 * about 0.1 us, spent on its double-to-radix conversion; every VM view prints two of them. */
const BYTE_HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Eight hex digits of a 32-bit word. */
const hexWord = (w: number): string =>
  BYTE_HEX[w >>> 24]! + BYTE_HEX[(w >>> 16) & 0xff]! + BYTE_HEX[(w >>> 8) & 0xff]! + BYTE_HEX[w & 0xff]!;

/** A 64-bit value (a capid, a register) as its low and high 32-bit words. */
export const words = (v: bigint): [number, number] => [Number(v & 0xffffffffn), Number(v >> 32n)];

/** The value modulo 2^64. A non-negative safe integer (an address or a size, as VM views hold them) formats without
 * a BigInt. */
export function hex64(v: bigint | number): string {
  if (typeof v === 'number' && v >= 0 && Number.isSafeInteger(v)) return `0x${hexWord(Math.floor(v / 2 ** 32))}${hexWord(v >>> 0)}`;
  const [lo, hi] = words(BigInt.asUintN(64, BigInt(v)));
  return `0x${hexWord(hi)}${hexWord(lo)}`;
}

/** The value modulo 2^32. */
export const hex32 = (v: number): string => `0x${hexWord(v >>> 0)}`;
