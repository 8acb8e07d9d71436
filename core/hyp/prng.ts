// A small seeded generator (xorshift128+): capid randomisation is reproducible with a fixed seed, and
// prng_get_entropy draws from the same source when a seed is given (tests), else from node:crypto.
import { randomBytes } from 'node:crypto';

export class Prng {
  private s0: bigint;
  private s1: bigint;

  constructor(seed?: number | bigint) {
    const init = seed === undefined ? randomBytes(16).readBigUInt64LE(0) : BigInt(seed);
    this.s0 = BigInt.asUintN(64, init ^ 0x9e3779b97f4a7c15n) || 1n;
    this.s1 = BigInt.asUintN(64, init * 0xbf58476d1ce4e5b9n + 0x94d049bb133111ebn) || 2n;
  }

  u64(): bigint {
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x = BigInt.asUintN(64, x ^ (x << 23n));
    this.s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return BigInt.asUintN(64, this.s1 + y);
  }

  u32(): number {
    return Number(this.u64() >> 32n);
  }

  fill(out: Uint8Array): void {
    for (let i = 0; i < out.length; i++) out[i] = this.u32() & 0xff;
  }
}
