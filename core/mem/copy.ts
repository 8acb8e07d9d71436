// Byte copies on the message-queue hot path. TypedArray#set from a view of exactly the bytes to move is a
// memmove: two 240-byte copies run at 35 M pairs/s that way against 27 M for Buffer#copy, which makes a view of
// its own on every call (Node's _copyActual), and 26 M for a word-by-word loop. Making a view costs an
// allocation, so the last one made is kept: a driver that sends the same size from the same buffer, as a
// message loop does, then copies with no allocation at all.

/** Views of ranges of one byte array, the last one kept for reuse. */
export class RangeView {
  private off = 0;
  private len = 0;
  private view: Uint8Array;

  constructor(private readonly bytes: Uint8Array) {
    this.view = bytes.subarray(0, 0);
  }

  /** `bytes[off, off + len)`, range already checked. */
  of(off: number, len: number): Uint8Array {
    if (off !== this.off || len !== this.len) {
      this.view = this.bytes.subarray(off, off + len);
      this.off = off;
      this.len = len;
    }
    return this.view;
  }
}
