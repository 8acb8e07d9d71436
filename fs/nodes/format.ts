// How the sysfs nodes spell names and values, and how they read what is written. Hex is the REST API's spelling
// (server/hex.ts: 0x and fixed width, lower case), so a capid or a mask reads the same everywhere.
import { type FsError, invalid } from '../tree.js';

export { hex32, hex64 } from '../../server/hex.js';

const DECIMAL_NAME = /^(0|[1-9][0-9]*)$/;

/** A child name that is a canonical decimal number ("3", never "03" or "+3"), or undefined. */
export function decimalName(name: string): number | undefined {
  if (!DECIMAL_NAME.test(name)) return undefined;
  const n = Number(name);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** VMIDs as one line: decimal, ascending, separated by spaces (empty when there are none). */
export function vmidList(vmids: readonly number[]): string {
  return `${vmids.join(' ')}\n`;
}

/** What one write() carried, without the newline `echo` adds (sysfs stores accept one trailing newline). */
export function written(text: string): string {
  return text.endsWith('\n') ? text.slice(0, -1) : text;
}

const HEX_U64 = /^0[xX][0-9a-fA-F]{1,16}$/;
const DECIMAL_U64 = /^[0-9]{1,20}$/;
const U64_LIMIT = 1n << 64n;

/** A written 64-bit value: 0x-prefixed hex or decimal; EINVAL naming what was wrong otherwise. */
export function parseU64(text: string, what: string): bigint | FsError {
  const s = written(text);
  if (!HEX_U64.test(s) && !DECIMAL_U64.test(s)) {
    return invalid(`${what} must be a 64-bit number, 0x-prefixed hex or decimal; got ${JSON.stringify(s)}`);
  }
  const v = BigInt(s);
  return v < U64_LIMIT ? v : invalid(`${what} ${s} does not fit in 64 bits`);
}
