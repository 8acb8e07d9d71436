// A set of integer keys that remembers arrival order, for the interrupts pending on a vIC.
//
// A Set keeps arrival order too, but V8 reallocates a Set's table (a runtime call and a fresh table) whenever a
// delete leaves it less than half full, so a Set that empties on nearly every interrupt reallocates on nearly every
// interrupt: with a vIC's pending lines held in one, that was about 2% of the CPU of a REST request that asks the RM
// (perf). Here the order is a plain array, which V8 does not shrink at these sizes, and membership a map whose values
// only flip, so once warm neither allocates.
export class ArrivalSet {
  private readonly order: number[] = [];
  /** Keys ever added, true while present: flipping a value, unlike deleting a key, never reallocates the table. */
  private readonly present = new Map<number, boolean>();

  get size(): number {
    return this.order.length;
  }

  has(key: number): boolean {
    return this.present.get(key) === true;
  }

  /** Adds key as the newest; false when it is already present (its place is kept). */
  add(key: number): boolean {
    if (this.present.get(key) === true) return false;
    this.present.set(key, true);
    this.order.push(key);
    return true;
  }

  /** Removes key; false when it was not present. */
  delete(key: number): boolean {
    if (this.present.get(key) !== true) return false;
    this.present.set(key, false);
    const order = this.order;
    const last = order.length - 1;
    for (let i = order.indexOf(key); i < last; i++) order[i] = order[i + 1]!;
    order.pop();
    return true;
  }

  /** Removes key and its memory (for a line that goes away for good, so the map holds only lines in use). */
  forget(key: number): void {
    this.delete(key);
    this.present.delete(key);
  }

  /** The keys, oldest first (a live view: do not add or delete while iterating it). */
  keys(): readonly number[] {
    return this.order;
  }
}
