// Human output: aligned tables and "key: value" blocks. `--json` output bypasses this module entirely.

export type Cell = string | number | boolean | null | undefined;

const text = (cell: Cell): string => (cell === null || cell === undefined || cell === '' ? '-' : String(cell));

const NUMBER = /^-?\d+(\.\d+)?$/;

/** Columns padded to their widest cell, two spaces apart; columns of numbers (and "-" for none) are right-aligned. */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = rows.map((row) => row.map(text));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const numeric = headers.map((_, i) =>
    cells.some((row) => NUMBER.test(row[i]!)) && cells.every((row) => NUMBER.test(row[i]!) || row[i] === '-'));
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n');
}

/** One "key: value" line per entry, keys padded so the values line up. */
export function fields(entries: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(...entries.map(([key]) => key.length)) + 1;
  return entries.map(([key, value]) => `${`${key}:`.padEnd(width)} ${text(value)}`).join('\n');
}

/** Bytes as `hexdump -C` prints them, addresses counted from `base`. */
export function hexdump(bytes: Uint8Array, base: bigint): string {
  const lines: string[] = [];
  for (let offset = 0; offset < bytes.length; offset += 16) {
    const row = bytes.subarray(offset, offset + 16);
    const hex = [...row].map((b) => b.toString(16).padStart(2, '0'));
    const left = hex.slice(0, 8).join(' ');
    const right = hex.slice(8).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    const address = (base + BigInt(offset)).toString(16).padStart(16, '0');
    lines.push(`${address}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
  }
  return lines.join('\n');
}

/** A per-second rate, one decimal below 10 and whole numbers above. */
export function rate(perSecond: number | null): string {
  if (perSecond === null) return '-';
  return perSecond < 10 ? perSecond.toFixed(1) : Math.round(perSecond).toString();
}
