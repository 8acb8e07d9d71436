// Hex text for 64- and 32-bit values, the way every answer prints them (0x and fixed width, lower case), and the
// 32-bit words the core takes 64-bit values in.

/** A non-negative safe integer (an address or a size, as VM views hold them) formats without a BigInt. */
export const hex64 = (v: bigint | number): string =>
  `0x${(typeof v === 'number' && v >= 0 && Number.isSafeInteger(v) ? v : BigInt.asUintN(64, BigInt(v))).toString(16).padStart(16, '0')}`;

export const hex32 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;

/** A schema-validated hex string (`^0x[0-9a-fA-F]{1,16}$`) as a bigint. */
export const parseHex = (s: string): bigint => BigInt(s);

/** A 64-bit value (a capid) as the low and high words the core's lookups take. */
export const words = (v: bigint): [number, number] => [Number(v & 0xffffffffn), Number(v >> 32n)];
