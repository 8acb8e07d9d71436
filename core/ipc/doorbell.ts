// spec §5: a doorbell is a 64-bit flags word with a 64-bit enable mask (default all ones), a 64-bit ack mask
// (default 0) and at most one bound vIRQ. doorbell_send is a hot path (traffic rings doorbells at a steady rate),
// so each 64-bit word is kept as two uint32 halves and a ring allocates nothing; the bigint forms are for the
// control plane and tests. The logic never touches registers; doorbell-calls.ts holds the thin handlers.
import { GH_ERROR, type GhError } from '../abi/errors.js';
import { HypObject } from '../hyp/object.js';
import { VirqSource } from '../vm/vic.js';

const ALL = 0xffffffff;
const lo = (v: bigint): number => Number(BigInt.asUintN(64, v) & 0xffffffffn);
const hi = (v: bigint): number => Number(BigInt.asUintN(64, v) >> 32n);
const join = (l: number, h: number): bigint => (BigInt(h) << 32n) | BigInt(l);

export class Doorbell extends HypObject {
  readonly type = 'doorbell' as const;
  private flagsLo = 0;
  private flagsHi = 0;
  private enableLo = ALL;
  private enableHi = ALL;
  private ackLo = 0;
  private ackHi = 0;

  /** The bound vIRQ; level-style: pending while (flags & enable_mask) != 0 (the hypervisor's virq_check_pending). */
  readonly virq = new VirqSource(() => this.enabledFlagsSet());

  /** Flags before the last send or receive: the old_flags result (low and high words). */
  oldLo = 0;
  oldHi = 0;

  // Statistics (read by sysfs, REST and /metrics).
  sends = 0;
  receives = 0;
  /** Level asserts: sends and masks that found enabled flags set (edge-only asserts are not counted). */
  asserts = 0;

  get flags(): bigint {
    return join(this.flagsLo, this.flagsHi);
  }

  get enableMask(): bigint {
    return join(this.enableLo, this.enableHi);
  }

  get ackMask(): bigint {
    return join(this.ackLo, this.ackHi);
  }

  private enabledFlagsSet(): boolean {
    return ((this.flagsLo & this.enableLo) | (this.flagsHi & this.enableHi)) !== 0;
  }

  /**
   * doorbell_send (SEND right): flags |= new_flags. With enabled flags set, the ack-masked flags are cleared and
   * the vIRQ is asserted (level); otherwise the assert is edge-only (it fires only on an edge-triggered line).
   */
  send(newLo: number, newHi: number): void {
    this.oldLo = this.flagsLo;
    this.oldHi = this.flagsHi;
    this.flagsLo = (this.flagsLo | newLo) >>> 0;
    this.flagsHi = (this.flagsHi | newHi) >>> 0;
    this.sends++;
    if (this.enabledFlagsSet()) {
      this.flagsLo = (this.flagsLo & ~this.ackLo) >>> 0;
      this.flagsHi = (this.flagsHi & ~this.ackHi) >>> 0;
      this.asserts++;
      this.virq.assert();
    } else {
      this.virq.assert(true);
    }
  }

  /**
   * doorbell_receive (RECEIVE right): clear_flags must be non-zero; flags &= ~clear_flags. The line is not lowered
   * here: a level vIRQ de-asserts lazily, when end of interrupt finds no enabled flag set.
   */
  receive(clearLo: number, clearHi: number): GhError {
    if ((clearLo | clearHi) === 0) return GH_ERROR.ARGUMENT_INVALID;
    this.oldLo = this.flagsLo;
    this.oldHi = this.flagsHi;
    this.flagsLo = (this.flagsLo & ~clearLo) >>> 0;
    this.flagsHi = (this.flagsHi & ~clearHi) >>> 0;
    this.receives++;
    return GH_ERROR.OK;
  }

  /** doorbell_reset (RECEIVE right): clear the vIRQ, flags = 0, ack_mask = 0, enable_mask = all ones. */
  resetFlags(): void {
    this.virq.clear();
    this.flagsLo = this.flagsHi = 0;
    this.ackLo = this.ackHi = 0;
    this.enableLo = this.enableHi = ALL;
  }

  /**
   * doorbell_mask (RECEIVE right). was = flags & old enable != 0, now = flags & new enable != 0:
   * was and not now -> clear the vIRQ; not was and now -> flags &= ~ack, assert; was and now -> flags &= ~ack.
   */
  mask(enableLo: number, enableHi: number, ackLo: number, ackHi: number): void {
    const was = this.enabledFlagsSet();
    this.enableLo = enableLo >>> 0;
    this.enableHi = enableHi >>> 0;
    this.ackLo = ackLo >>> 0;
    this.ackHi = ackHi >>> 0;
    const now = this.enabledFlagsSet();
    if (was && !now) {
      this.virq.clear();
      return;
    }
    if (!now) return;
    this.flagsLo = (this.flagsLo & ~this.ackLo) >>> 0;
    this.flagsHi = (this.flagsHi & ~this.ackHi) >>> 0;
    if (!was) {
      this.asserts++;
      this.virq.assert();
    }
  }

  /** doorbell_send with a bigint; returns the old flags. */
  sendFlags(flags: bigint): bigint {
    this.send(lo(flags), hi(flags));
    return join(this.oldLo, this.oldHi);
  }

  /** doorbell_receive with a bigint; returns the old flags or ARGUMENT_INVALID for 0. */
  receiveFlags(clearFlags: bigint): bigint | GhError {
    const err = this.receive(lo(clearFlags), hi(clearFlags));
    return err === GH_ERROR.OK ? join(this.oldLo, this.oldHi) : err;
  }

  /** doorbell_mask with bigints. */
  setMasks(enableMask: bigint, ackMask: bigint): void {
    this.mask(lo(enableMask), hi(enableMask), lo(ackMask), hi(ackMask));
  }

  /** object_reset and destruction: unbind and return to the creation state (the hypervisor's deactivate). */
  protected override onReset(): void {
    this.virq.unbind();
    this.resetFlags();
  }

  protected override onDestroy(): void {
    this.onReset();
  }
}
