// A counter table as sysfs shows it: one directory per row (every row, always listed), holding `total` and one
// file per column whose count is non-zero, named as the column (`OK`, `ERROR_MSGQUEUE_FULL`, `RM_OK`...). One
// value per file, and `grep -r . <table>` prints `<row>/<column>:<count>` lines.
import { dir, dynamicDir, value, type DirNode } from '../tree.js';

export interface CounterTable {
  readonly rows: readonly (string | null)[];
  readonly columns: readonly string[];
  /** The count of a row and column index now. */
  count(row: number, column: number): number;
}

function indexOf(names: readonly (string | null)[]): Map<string, number> {
  const index = new Map<string, number>();
  names.forEach((name, i) => name !== null && index.set(name, i));
  return index;
}

export function counterTableDir(table: CounterTable): DirNode {
  const rowIndex = indexOf(table.rows);
  const columnIndex = indexOf(table.columns);
  const total = (row: number): number => table.columns.reduce((n, _, c) => n + table.count(row, c), 0);
  const rowDir = (row: number): DirNode => {
    const totalNode = value(() => total(row));
    return dynamicDir(
      function* () {
        yield 'total';
        for (let c = 0; c < table.columns.length; c++) if (table.count(row, c) > 0) yield table.columns[c]!;
      },
      (name) => {
        if (name === 'total') return totalNode;
        const c = columnIndex.get(name);
        return c === undefined || table.count(row, c) === 0 ? undefined : value(() => table.count(row, c));
      },
    );
  };
  return dynamicDir(
    () => rowIndex.keys(),
    (name) => {
      const row = rowIndex.get(name);
      return row === undefined ? undefined : rowDir(row);
    },
  );
}

/** A fixed set of named counters, one file each. */
export function countersDir(names: readonly string[], count: (index: number) => number): DirNode {
  return dir(Object.fromEntries(names.map((name, i) => [name, value(() => count(i))])));
}
