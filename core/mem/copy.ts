// Byte copies on the message-queue hot path. Buffer#copy of a sub-range allocates a view per call (Node's
// _copyActual), which for a 240-byte message costs three times the copy itself; a BigInt64Array view kept
// beside the bytes lets 8-byte-aligned ranges move as words with no allocation (V8 copies BigInt64 elements
// without making BigInts), and bit for bit, unlike Float64 elements, whose NaNs an engine may rewrite.

/** A Buffer with a word view of the same bytes, or null when the Buffer is not 8-byte aligned. */
export function wordsOf(bytes: Buffer): BigInt64Array | null {
  return bytes.byteOffset % 8 === 0 ? new BigInt64Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 3) : null;
}

/**
 * Copy `len` bytes from `src` at `srcOff` to `dst` at `dstOff` (ranges already checked). Both word views may be
 * null; when both are present and both offsets are 8-byte aligned, whole words go word by word and the tail
 * bytes one by one.
 */
export function copyBytes(
  dst: Uint8Array, dstWords: BigInt64Array | null, dstOff: number,
  src: Uint8Array, srcWords: BigInt64Array | null, srcOff: number, len: number,
): void {
  if (dstWords !== null && srcWords !== null && ((dstOff | srcOff) & 7) === 0) {
    const words = len >>> 3;
    const d = dstOff >>> 3, s = srcOff >>> 3;
    let i = 0;
    for (; i + 4 <= words; i += 4) { // unrolled: half the loop overhead of the one-word loop below
      dstWords[d + i] = srcWords[s + i]!;
      dstWords[d + i + 1] = srcWords[s + i + 1]!;
      dstWords[d + i + 2] = srcWords[s + i + 2]!;
      dstWords[d + i + 3] = srcWords[s + i + 3]!;
    }
    for (; i < words; i++) dstWords[d + i] = srcWords[s + i]!;
    for (let b = words << 3; b < len; b++) dst[dstOff + b] = src[srcOff + b]!;
  } else if (src instanceof Buffer) {
    src.copy(dst, dstOff, srcOff, srcOff + len);
  } else {
    dst.set(src.subarray(srcOff, srcOff + len), dstOff);
  }
}
