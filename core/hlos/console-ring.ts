// A console's output log (spec §10): the last `capacity` bytes a VM wrote, addressed by absolute byte offsets that
// only ever grow (QEMU's ringbuf chardev, with offsets). Bytes stay bytes: nothing is decoded, so a multi-byte
// UTF-8 character split across two VM_CONSOLE_CHARS notifications is whole again in the log.
//
//   append(bytes)          the oldest bytes fall out once the log holds `capacity`
//   copy(from, max)        a copy of up to `max` bytes from absolute offset `from` (clamped to what is held)
//   clear()                forget everything held; offsets carry on from `end`
//
// The storage grows by doubling up to `capacity`, so hundreds of quiet VMs cost little memory.

/** Bytes the storage starts with. */
const INITIAL_STORAGE = 4096;

export class ConsoleRing {
  /** Absolute offset of the oldest byte held. */
  start = 0;
  /** Absolute offset one past the newest byte: the total ever appended. */
  end = 0;
  private buf: Buffer;

  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
    this.buf = Buffer.alloc(Math.min(capacity, INITIAL_STORAGE));
  }

  /** Bytes held. */
  get size(): number {
    return this.end - this.start;
  }

  /** Bytes of storage allocated (at most `capacity`). */
  get allocated(): number {
    return this.buf.length;
  }

  append(bytes: Uint8Array): void {
    const n = bytes.length;
    if (n === 0) return;
    const held = Math.min(this.capacity, this.size + n);
    if (held > this.buf.length) this.grow(held);
    const cap = this.buf.length;
    // Only the last `cap` bytes of a huge append can survive it.
    const keep = n > cap ? bytes.subarray(n - cap) : bytes;
    const pos = (this.end + n - keep.length) % cap;
    const first = Math.min(keep.length, cap - pos);
    this.buf.set(keep.subarray(0, first), pos);
    if (first < keep.length) this.buf.set(keep.subarray(first), 0);
    this.end += n;
    if (this.end - this.start > cap) this.start = this.end - cap;
  }

  /** A fresh copy of up to `max` bytes from `from`; empty when `from` is at or past `end`. */
  copy(from: number, max: number = this.capacity): Buffer {
    const at = Math.max(from, this.start);
    const len = Math.max(0, Math.min(max, this.end - at));
    const out = Buffer.allocUnsafe(len);
    if (len === 0) return out;
    const cap = this.buf.length;
    const pos = at % cap;
    const first = Math.min(len, cap - pos);
    this.buf.copy(out, 0, pos, pos + first);
    if (first < len) this.buf.copy(out, first, 0, len - first);
    return out;
  }

  clear(): void {
    this.start = this.end;
  }

  /** Larger storage for `needed` bytes: positions are offsets modulo the storage size, so the content moves. */
  private grow(needed: number): void {
    let size = this.buf.length;
    while (size < needed) size *= 2;
    size = Math.min(size, this.capacity);
    const held = this.copy(this.start);
    this.buf = Buffer.alloc(size);
    const pos = this.start % size;
    const first = Math.min(held.length, size - pos);
    held.copy(this.buf, pos, 0, first);
    if (first < held.length) held.copy(this.buf, 0, first);
  }
}
