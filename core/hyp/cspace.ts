// spec §1.4 (H-CS): a two-level capability space. A 16-bit slot value is encoded as
// capid = (slot * mult) XOR base, with a random non-zero 16-bit mult and a random 64-bit base whose top 32 bits
// are below 0xFFFFFF00; since slot * mult < 2^32 the top word of every capid is the base's top word.
import { GH_ERROR, type GhError } from '../abi/errors.js';
import { CSPACE_BASE_HI_LIMIT, CSPACE_MAX_SLOTS, OBJECT_STATE, type ObjectType } from '../abi/objects.js';
import { HypObject } from './object.js';
import type { Prng } from './prng.js';

export interface Cap {
  readonly object: HypObject;
  readonly rights: number;
  revoked: boolean;
  /** Caps copied from this one: cspace_revoke_caps_from revokes them. */
  readonly children: Cap[];
  readonly slot: number;
  readonly cspace: CSpace;
}

/** What a lookup wants: the object type and the rights it needs. */
export type LookupResult<T extends HypObject> = T | GhError;

export const DEFAULT_MAX_CAPS = 4096;

export class CSpace extends HypObject {
  readonly type = 'cspace' as const;
  /** The VM whose threads use this cspace (-1 for none yet). */
  vmid = -1;
  private readonly slots: (Cap | undefined)[] = [];
  private readonly mult: number;
  private readonly multInverse: number;
  private readonly baseLo: number;
  readonly baseHi: number;
  maxCaps = DEFAULT_MAX_CAPS;
  private used = 0;
  private nextFree = 0;

  /** @param prng null disables randomisation: mult = 1, base = 0, capids are slot numbers. */
  constructor(id: number, prng: Prng | null) {
    super(id);
    if (prng) {
      this.mult = 1 + (prng.u32() % 0xffff);
      this.baseLo = prng.u32();
      this.baseHi = prng.u32() % CSPACE_BASE_HI_LIMIT;
    } else {
      this.mult = 1;
      this.baseLo = 0;
      this.baseHi = 0;
    }
    this.multInverse = 1 / this.mult;
  }

  get count(): number {
    return this.used;
  }

  /** The capid of a slot, low and high words. */
  capidLo(slot: number): number {
    return ((slot * this.mult) ^ this.baseLo) >>> 0;
  }

  capid(slot: number): bigint {
    return (BigInt(this.baseHi) << 32n) | BigInt(this.capidLo(slot));
  }

  /** Decode a capid to a slot, or -1 (spec §1.4: decoding failure is ERROR_ARGUMENT_INVALID). */
  slotOf(lo: number, hi: number): number {
    if (hi !== this.baseHi) return -1;
    const v = (lo ^ this.baseLo) >>> 0;
    // Multiply by the reciprocal instead of dividing (several times cheaper); rounding makes it exact for every
    // v < 2^32, and the product check rejects a v that is not a multiple of mult.
    const slot = Math.round(v * this.multInverse);
    return slot * this.mult === v && slot < CSPACE_MAX_SLOTS ? slot : -1;
  }

  /**
   * Look a capability up for one object type and right (H-CS cspace_lookup_object): ARGUMENT_INVALID for an
   * undecodable capid, CAP_NULL for an empty slot, CAP_REVOKED, WRONG_OBJECT_TYPE, INSUFFICIENT_RIGHTS, and
   * OBJECT_STATE when `activeOnly` and the object is not ACTIVE.
   */
  lookup<T extends HypObject>(lo: number, hi: number, type: ObjectType | null, rights: number, activeOnly = true): LookupResult<T> {
    const cap = this.capAt(lo, hi);
    if (typeof cap === 'number') return cap;
    if (type !== null && cap.object.type !== type) return GH_ERROR.CSPACE_WRONG_OBJECT_TYPE;
    if ((~cap.rights & rights) !== 0) return GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS;
    if (activeOnly && cap.object.state !== OBJECT_STATE.ACTIVE) return GH_ERROR.OBJECT_STATE;
    return cap.object as T;
  }

  /** The capability record itself (for copy, delete and revoke). */
  capAt(lo: number, hi: number): Cap | GhError {
    const slot = this.slotOf(lo, hi);
    if (slot < 0) return GH_ERROR.ARGUMENT_INVALID;
    const cap = this.slots[slot];
    if (cap === undefined) return GH_ERROR.CSPACE_CAP_NULL;
    if (cap.revoked) return GH_ERROR.CSPACE_CAP_REVOKED;
    return cap;
  }

  /** Insert a capability; returns its slot or CSPACE_FULL. */
  insert(object: HypObject, rights: number, parent?: Cap): Cap | GhError {
    if (this.used >= this.maxCaps) return GH_ERROR.CSPACE_FULL;
    while (this.slots[this.nextFree] !== undefined) this.nextFree++;
    const slot = this.nextFree++;
    const cap: Cap = { object, rights: rights >>> 0, revoked: false, children: [], slot, cspace: this };
    this.slots[slot] = cap;
    this.used++;
    object.refs++;
    object.heldBy.add(cap);
    parent?.children.push(cap);
    return cap;
  }

  /** cspace_delete_cap_from: frees the slot (a revoked cap can be deleted too). */
  delete(lo: number, hi: number): GhError {
    const slot = this.slotOf(lo, hi);
    if (slot < 0) return GH_ERROR.ARGUMENT_INVALID;
    const cap = this.slots[slot];
    if (cap === undefined) return GH_ERROR.CSPACE_CAP_NULL;
    this.remove(cap);
    return GH_ERROR.OK;
  }

  remove(cap: Cap): void {
    if (this.slots[cap.slot] !== cap) return;
    this.slots[cap.slot] = undefined;
    this.used--;
    if (cap.slot < this.nextFree) this.nextFree = cap.slot;
    cap.object.heldBy.delete(cap);
    if (--cap.object.refs === 0) cap.object.destroy();
  }

  /** Every live capability, for sysfs, REST and tests. */
  *caps(): IterableIterator<Cap> {
    for (const cap of this.slots) if (cap !== undefined) yield cap;
  }

  /** The first capability to an object with the given rights, if any. */
  findCap(object: HypObject): Cap | undefined {
    for (const cap of this.slots) if (cap?.object === object && !cap.revoked) return cap;
    return undefined;
  }

  /** cspace_configure: max_caps up to 65536, only while INIT (0 is stored, and activation then refuses it). */
  configure(maxCaps: number): GhError {
    const err = this.configurable();
    if (err !== GH_ERROR.OK) return err;
    if (!(maxCaps >= 0 && maxCaps <= CSPACE_MAX_SLOTS)) return GH_ERROR.ARGUMENT_INVALID;
    this.maxCaps = maxCaps;
    return GH_ERROR.OK;
  }

  protected override onActivate(): GhError {
    return this.maxCaps === 0 ? GH_ERROR.OBJECT_CONFIG : GH_ERROR.OK;
  }
}

/** Revoke every capability derived from `cap` (cspace_revoke_caps_from). */
export function revokeChildren(cap: Cap): void {
  for (const child of cap.children) {
    child.revoked = true;
    revokeChildren(child);
  }
  cap.children.length = 0;
}
