// Register and capability values on the command line: decimal, 0x hex or a negative decimal (two's complement),
// sent to the API as the 0x hex text it takes.
import { InvalidArgumentError } from 'commander';
import { hex64 } from '../../server/hex.js';

const MAX64 = (1n << 64n) - 1n;

/** A commander parser: `10`, `0xa` and `-1` as 64-bit hex text (`0x000000000000000a`). */
export function hex64Arg(value: string): string {
  if (!/^(-?\d+|0x[0-9a-f]{1,16})$/i.test(value)) throw new InvalidArgumentError('expected a number: decimal or 0x hex.');
  const n = BigInt(value);
  if (n > MAX64 || n < -(1n << 63n)) throw new InvalidArgumentError('does not fit in 64 bits.');
  return hex64(n);
}
