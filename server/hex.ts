// Hex text as every answer prints it (core/hex.ts), and hex path parameters as the values the core takes.
export { hex32, hex64, words } from '../core/hex.js';

/** A schema-validated hex string (`^0x[0-9a-fA-F]{1,16}$`) as a bigint. */
export const parseHex = (s: string): bigint => BigInt(s);
