// Calls in flight, by RM RPC sequence number.
//
// A Map would do, but V8 reallocates a Map's table (a runtime call and a fresh table) whenever a delete leaves it
// less than half full, and a client's calls drain to none after nearly every reply: with a Map, that was about 2% of
// the CPU of a REST request that asks the RM (perf). Sequence numbers are handed out in order, so the calls in flight
// sit in a window of them: a ring indexed by the low bits of the sequence number holds them, and doubles when two
// collide. It never shrinks, and it never passes 65536 slots, where every 16-bit sequence number has its own slot.
const INITIAL_SLOTS = 16;

export class SeqTable<T extends { readonly seq: number }> {
  private slots: (T | undefined)[] = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(seq: number): T | undefined {
    const entry = this.slots[seq & (this.slots.length - 1)];
    return entry !== undefined && entry.seq === seq ? entry : undefined;
  }

  has(seq: number): boolean {
    return this.get(seq) !== undefined;
  }

  /** Adds an entry whose sequence number is not in the table (the caller allocates them unique). */
  add(entry: T): void {
    while (this.slots[entry.seq & (this.slots.length - 1)] !== undefined) this.grow();
    this.slots[entry.seq & (this.slots.length - 1)] = entry;
    this.count++;
  }

  delete(seq: number): boolean {
    const i = seq & (this.slots.length - 1);
    const entry = this.slots[i];
    if (entry === undefined || entry.seq !== seq) return false;
    this.slots[i] = undefined;
    this.count--;
    return true;
  }

  /** The entries, as a new array (callers finish calls while going through it). */
  values(): T[] {
    return this.slots.filter((entry): entry is T => entry !== undefined);
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Array<T | undefined>(old.length * 2).fill(undefined);
    for (const entry of old) if (entry !== undefined) this.slots[entry.seq & (this.slots.length - 1)] = entry;
  }
}
