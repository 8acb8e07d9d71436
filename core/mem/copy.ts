// Byte copies on the message-queue hot path. TypedArray#set from a view of exactly the bytes to move is a
// memmove: two 240-byte copies run at 35 M pairs/s that way against 27 M for Buffer#copy, which makes a view of
// its own on every call (Node's _copyActual), and 26 M for a word-by-word loop. Making a view costs an
// allocation, so the last two made are kept: a driver that sends the same size from the same buffer, as a
// message loop does, then copies with no allocation at all, and so does an RM link's page, whose TX and RX
// buffers are read in turn.

/** Views of ranges of one byte array, the two most recently used kept for reuse. */
export class RangeView {
  private off = 0;
  private len = 0;
  private view: Uint8Array;
  private olderOff = 0;
  private olderLen = 0;
  private older: Uint8Array;

  constructor(private readonly bytes: Uint8Array) {
    this.view = bytes.subarray(0, 0);
    this.older = this.view;
  }

  /** `bytes[off, off + len)`, range already checked. */
  of(off: number, len: number): Uint8Array {
    if (off === this.off && len === this.len) return this.view;
    const view = off === this.olderOff && len === this.olderLen ? this.older : this.bytes.subarray(off, off + len);
    this.olderOff = this.off;
    this.olderLen = this.len;
    this.older = this.view;
    this.off = off;
    this.len = len;
    this.view = view;
    return view;
  }
}
