// spec §7.2 (R-MP memparcel.c): memory parcels, the hypervisor half. The Resource Manager decodes MEM_LEND,
// MEM_SHARE, MEM_DONATE, MEM_APPEND, MEM_ACCEPT, MEM_RELEASE and MEM_RECLAIM and calls this API; it enforces the
// parcel's rules on the VMs' address spaces:
//   LEND   the owner loses all access while the parcel exists;
//   SHARE  the owner keeps access, reduced to its own ACL rights;
//   DONATE the owner loses access, and on accept the pages become the receiver's for good.
// Borrowers see exactly their ACL rights: a write through a mapping without W is ADDR_INVALID, as is any access
// by a lender to lent memory. Pages are shared Buffers, so a borrower and a sharing owner see each other's writes.
// The real RM builds a memory extent per SGL entry; the effect on the VMs is the same, so this works on the
// address spaces' pages directly. Refusals carry the RM error the real RM answers with.
import { PAGE_SIZE, PGTABLE_ACCESS } from '../abi/memory.js';
import { MEM_ACL_RIGHT, MEM_ACL_RIGHTS_ACCEPTED, MEM_TRANS_TYPE, MEM_TYPE, MEMPARCEL, RM_ERROR, type RmError } from '../abi/rm.js';
import type { Hypervisor } from '../hyp/hypervisor.js';
import { Mapping, type GuestMemory } from './guest-memory.js';
import { ADDRESS_LIMIT_PAGES } from './phys.js';

export interface ParcelAclEntry {
  readonly vmid: number;
  /** MEM_ACL_RIGHT bits: R 4, W 2, X 1 (the same bits as PGTABLE_ACCESS). */
  readonly rights: number;
}

/** One SGL entry: an IPA range of the owner (u64 fields may come as bigint straight from the RPC decoder). */
export interface ParcelRange {
  readonly ipa: number | bigint;
  readonly size: number | bigint;
}

export interface ParcelRequest {
  /** The lender's VMID (the RM's requesting client). */
  readonly owner: number;
  /** MEM_TRANS_TYPE: DONATE 0, LEND 1, SHARE 2. */
  readonly transaction: number;
  /** MEM_TYPE: NORMAL 0 (default), IO 1. */
  readonly memType?: number;
  readonly label?: number;
  readonly acl: readonly ParcelAclEntry[];
  readonly sgl: readonly ParcelRange[];
  /** MEM_SHARE_FLAG SANITIZE: zero the memory now, before anyone else can see it. */
  readonly sanitize?: boolean;
}

export type ParcelRefusalCode =
  | 'acl-empty' | 'sgl-empty' | 'too-many-entries' | 'acl-duplicate' | 'acl-vmid' | 'acl-rights' | 'io-exec'
  | 'owner-in-acl' | 'owner-not-in-acl' | 'donate-acl' | 'donate-rights' | 'donate-range' | 'transaction'
  | 'owner-unknown' | 'too-many-parcels' | 'range-invalid' | 'range-overlap' | 'range-unmapped'
  | 'range-not-owned' | 'range-in-use' | 'parcel-gone' | 'parcel-accepted' | 'not-in-acl' | 'not-owner'
  | 'owner-accept' | 'already-accepted' | 'not-accepted' | 'vm-unknown' | 'placement' | 'ipa-in-use'
  | 'io-sanitize' | 'sanitize-needs-write';

/** The RM error each refusal is answered with (R-MP memparcel_construct, memparcel_do_accept, ...). */
export const PARCEL_REFUSAL_RM_ERROR: Readonly<Record<ParcelRefusalCode, RmError>> = {
  'acl-empty': RM_ERROR.ARGUMENT_INVALID,
  'sgl-empty': RM_ERROR.ARGUMENT_INVALID,
  'too-many-entries': RM_ERROR.ARGUMENT_INVALID,
  'acl-duplicate': RM_ERROR.ARGUMENT_INVALID,
  'acl-vmid': RM_ERROR.ARGUMENT_INVALID,
  'acl-rights': RM_ERROR.ARGUMENT_INVALID,
  'io-exec': RM_ERROR.ARGUMENT_INVALID,
  'owner-in-acl': RM_ERROR.ARGUMENT_INVALID,
  'owner-not-in-acl': RM_ERROR.ARGUMENT_INVALID,
  'donate-acl': RM_ERROR.ARGUMENT_INVALID,
  'donate-rights': RM_ERROR.DENIED,
  'donate-range': RM_ERROR.DENIED,
  transaction: RM_ERROR.UNIMPLEMENTED,
  'owner-unknown': RM_ERROR.VMID_INVALID,
  'too-many-parcels': RM_ERROR.DENIED,
  // The real RM cannot build a memory extent over these ranges, and answers MEM_INUSE.
  'range-invalid': RM_ERROR.MEM_INUSE,
  'range-overlap': RM_ERROR.MEM_INUSE,
  'range-in-use': RM_ERROR.MEM_INUSE,
  'range-unmapped': RM_ERROR.MEM_INVALID,
  'range-not-owned': RM_ERROR.MEM_INVALID,
  'parcel-gone': RM_ERROR.HANDLE_INVALID,
  'parcel-accepted': RM_ERROR.MEM_INUSE,
  'not-in-acl': RM_ERROR.VMID_INVALID,
  'not-owner': RM_ERROR.DENIED,
  'owner-accept': RM_ERROR.DENIED,
  'already-accepted': RM_ERROR.MEM_INUSE,
  'not-accepted': RM_ERROR.MEM_RELEASED,
  'vm-unknown': RM_ERROR.VMID_INVALID,
  placement: RM_ERROR.ARGUMENT_INVALID,
  'ipa-in-use': RM_ERROR.NORESOURCE,
  'io-sanitize': RM_ERROR.ARGUMENT_INVALID,
  'sanitize-needs-write': RM_ERROR.ARGUMENT_INVALID,
};

/** Why a parcel operation was refused; nothing changed. */
export class ParcelRefusal {
  readonly rmError: RmError;
  constructor(readonly code: ParcelRefusalCode, readonly detail: string) {
    this.rmError = PARCEL_REFUSAL_RM_ERROR[code];
  }
}

/** One lent/shared page: the owner's mapping and the access it had before. */
interface LentPage {
  readonly mapping: Mapping;
  readonly access: number;
}

/** One SGL entry of a parcel: the owner's IPA range and its pages. */
export interface ParcelRegion {
  readonly ipa: number;
  readonly size: number;
}

export class Parcel {
  readonly regions: ParcelRegion[] = [];
  /** Borrowers that accepted, with the IPA of each region in their address space. */
  readonly accepted = new Map<number, number[]>();
  /** Zero the memory on reclaim: asked by MEM_RECLAIM, or earlier by a borrower's accept or release. */
  sanitizeOnReclaim = false;
  /** False once reclaimed, or once a donation completed. */
  live = true;
  /** @internal the owner's pages, region by region */
  readonly pages: LentPage[][] = [];

  constructor(
    readonly handle: number,
    readonly owner: number,
    readonly transaction: number,
    readonly memType: number,
    readonly label: number,
    readonly acl: readonly ParcelAclEntry[],
    readonly sanitized: boolean,
  ) {}

  /** Total bytes. */
  get size(): number {
    return this.regions.reduce((n, r) => n + r.size, 0);
  }

  rightsOf(vmid: number): number | undefined {
    return this.acl.find((e) => e.vmid === vmid)?.rights;
  }
}

const refuse = (code: ParcelRefusalCode, detail: string) => new ParcelRefusal(code, detail);

/** The parcels of every VM: what the RM's memparcel module keeps, with the hypervisor effects applied. */
export class Memparcels {
  private readonly byHandle = new Map<number, Parcel>();
  /** Per owner VMID: page number -> the live parcel holding it (MEM_INUSE for a second parcel). */
  private readonly held = new Map<number, Map<number, Parcel>>();
  private nextHandle = 0;

  constructor(private readonly hyp: Hypervisor) {}

  get(handle: number): Parcel | undefined {
    return this.byHandle.get(handle);
  }

  all(): IterableIterator<Parcel> {
    return this.byHandle.values();
  }

  /**
   * MEM_LEND / MEM_SHARE / MEM_DONATE: validate the ACL and the SGL against the owner's address space, then take
   * the owner's access away (LEND, DONATE) or reduce it to its ACL rights (SHARE).
   */
  create(req: ParcelRequest): Parcel | ParcelRefusal {
    const memType = req.memType ?? MEM_TYPE.NORMAL;
    const bad = this.checkAcl(req, memType);
    if (bad !== null) return bad;
    const owner = this.hyp.vms.get(req.owner);
    if (owner === undefined) return refuse('owner-unknown', `no VM ${req.owner}`);
    if (this.countOwned(req.owner) >= MEMPARCEL.MAX_PER_VM) {
      return refuse('too-many-parcels', `VM ${req.owner} already has ${MEMPARCEL.MAX_PER_VM} parcels`);
    }
    const parcel = new Parcel(
      this.nextHandle, req.owner, req.transaction, memType, req.label ?? 0, req.acl.map((e) => ({ ...e })),
      req.sanitize === true,
    );
    const err = this.addRegions(parcel, owner.memory, req.sgl);
    if (err !== null) return err;
    this.nextHandle = (this.nextHandle + 1) % MEMPARCEL.HANDLE_INVALID;
    this.byHandle.set(parcel.handle, parcel);
    return parcel;
  }

  /** MEM_APPEND: more SGL entries for a parcel nobody has accepted yet. */
  append(parcel: Parcel, sgl: readonly ParcelRange[]): ParcelRefusal | null {
    if (!parcel.live) return refuse('parcel-gone', `parcel ${parcel.handle} is gone`);
    if (parcel.accepted.size > 0) return refuse('parcel-accepted', `parcel ${parcel.handle} is accepted already`);
    if (parcel.transaction === MEM_TRANS_TYPE.DONATE) return refuse('donate-range', 'a donation has one range');
    return this.addRegions(parcel, this.hyp.vms.get(parcel.owner)!.memory, sgl);
  }

  /**
   * MEM_ACCEPT: map the parcel into `vmid`'s address space with its ACL rights. `at` is the IPA of each region in
   * the borrower, or one base IPA for the regions back to back (MAP_CONTIGUOUS); the range must be unmapped.
   * `sanitize` (ACCEPT flag SANITIZE) asks for the memory to be zeroed when the owner reclaims it. Accepting a
   * donation completes it: the pages become the receiver's and the parcel ends.
   */
  accept(parcel: Parcel, vmid: number, at: number | readonly number[], opts: { sanitize?: boolean } = {}): ParcelRefusal | null {
    if (!parcel.live) return refuse('parcel-gone', `parcel ${parcel.handle} is gone`);
    const rights = parcel.rightsOf(vmid);
    if (rights === undefined) return refuse('not-in-acl', `VM ${vmid} is not in the ACL of parcel ${parcel.handle}`);
    const bad = this.checkSanitize(parcel, rights, opts.sanitize);
    if (bad !== null) return bad;
    const borrower = this.hyp.vms.get(vmid);
    if (borrower === undefined) return refuse('vm-unknown', `no VM ${vmid}`);
    if (vmid === parcel.owner) return refuse('owner-accept', 'the owner cannot accept its own parcel');
    if (parcel.accepted.has(vmid)) return refuse('already-accepted', `VM ${vmid} accepted parcel ${parcel.handle} already`);
    const ipas = this.placement(parcel, borrower.memory, at);
    if (ipas instanceof ParcelRefusal) return ipas;
    if (opts.sanitize === true) parcel.sanitizeOnReclaim = true;
    const donation = parcel.transaction === MEM_TRANS_TYPE.DONATE;
    parcel.pages.forEach((pages, r) => {
      const base = ipas[r]! / PAGE_SIZE;
      // A completed donation is the receiver's own memory, not a borrowed mapping.
      pages.forEach((p, i) => borrower.memory.set(base + i, new Mapping(rights, p.mapping.page, donation ? null : parcel)));
    });
    if (donation) this.completeDonation(parcel);
    else parcel.accepted.set(vmid, ipas);
    return null;
  }

  /** MEM_RELEASE: the borrower gives the parcel back; its mappings go. `sanitize` zeroes it on reclaim. */
  release(parcel: Parcel, vmid: number, opts: { sanitize?: boolean } = {}): ParcelRefusal | null {
    if (!parcel.live) return refuse('parcel-gone', `parcel ${parcel.handle} is gone`);
    const rights = parcel.rightsOf(vmid);
    if (rights === undefined) return refuse('not-in-acl', `VM ${vmid} is not in the ACL of parcel ${parcel.handle}`);
    if (vmid === parcel.owner) return refuse('not-owner', 'the owner reclaims, it does not release');
    const ipas = parcel.accepted.get(vmid);
    if (ipas === undefined) return refuse('not-accepted', `VM ${vmid} has not accepted parcel ${parcel.handle}`);
    const bad = this.checkSanitize(parcel, rights, opts.sanitize);
    if (bad !== null) return bad;
    if (opts.sanitize === true) parcel.sanitizeOnReclaim = true;
    const memory = this.hyp.vms.get(vmid)?.memory;
    parcel.pages.forEach((pages, r) => {
      const base = ipas[r]! / PAGE_SIZE;
      for (let i = 0; i < pages.length; i++) memory?.remove(base + i, parcel);
    });
    parcel.accepted.delete(vmid);
    return null;
  }

  /**
   * MEM_RECLAIM by the owner: refused while any borrower still has it accepted (MEM_INUSE); zeroes the memory if
   * asked now or earlier, gives the owner back the access it had, and ends the parcel.
   */
  reclaim(parcel: Parcel, vmid: number, opts: { sanitize?: boolean } = {}): ParcelRefusal | null {
    if (!parcel.live) return refuse('parcel-gone', `parcel ${parcel.handle} is gone`);
    if (vmid !== parcel.owner) return refuse('not-owner', `VM ${vmid} does not own parcel ${parcel.handle}`);
    if (parcel.accepted.size > 0) {
      return refuse('parcel-accepted', `parcel ${parcel.handle} is accepted by VM ${[...parcel.accepted.keys()].join(', ')}`);
    }
    if (opts.sanitize === true && parcel.memType === MEM_TYPE.IO) return refuse('io-sanitize', 'IO memory cannot be sanitized');
    if (opts.sanitize === true || parcel.sanitizeOnReclaim) for (const pages of parcel.pages) zero(pages);
    const memory = this.hyp.vms.get(parcel.owner)?.memory;
    parcel.regions.forEach((region, r) => {
      const base = region.ipa / PAGE_SIZE;
      // Give access back only where the owner's mapping is still the one lent (an extent may have moved it since).
      parcel.pages[r]!.forEach((p, i) => {
        if (memory?.peek(base + i) === p.mapping) p.mapping.access = p.access;
      });
    });
    this.end(parcel);
    return null;
  }

  private checkAcl(req: ParcelRequest, memType: number): ParcelRefusal | null {
    const { acl, sgl, transaction } = req;
    if (transaction !== MEM_TRANS_TYPE.LEND && transaction !== MEM_TRANS_TYPE.SHARE && transaction !== MEM_TRANS_TYPE.DONATE) {
      return refuse('transaction', `unknown transaction type ${transaction}`);
    }
    if (acl.length === 0) return refuse('acl-empty', 'the ACL is empty');
    if (sgl.length === 0) return refuse('sgl-empty', 'the SGL is empty');
    if (acl.length > MEMPARCEL.MAX_LIST_ENTRIES || sgl.length > MEMPARCEL.MAX_LIST_ENTRIES) {
      return refuse('too-many-entries', `at most ${MEMPARCEL.MAX_LIST_ENTRIES} entries per list`);
    }
    if (transaction === MEM_TRANS_TYPE.DONATE) {
      if (acl.length > 1) return refuse('donate-acl', 'memory is donated to a single VM');
      if (sgl.length > 1 || memType !== MEM_TYPE.NORMAL) return refuse('donate-range', 'a donation is one range of normal memory');
    }
    if (memType !== MEM_TYPE.NORMAL && memType !== MEM_TYPE.IO) return refuse('range-invalid', `unknown memory type ${memType}`);
    if (req.sanitize === true && memType === MEM_TYPE.IO) return refuse('io-sanitize', 'IO memory cannot be sanitized');
    const seen = new Set<number>();
    for (const { vmid, rights } of acl) {
      if (seen.has(vmid)) return refuse('acl-duplicate', `VM ${vmid} appears twice in the ACL`);
      seen.add(vmid);
      if (!(Number.isInteger(vmid) && vmid > 0 && vmid < 0xfffe)) return refuse('acl-vmid', `VMID ${vmid} cannot hold memory`);
      if (!(MEM_ACL_RIGHTS_ACCEPTED as readonly number[]).includes(rights)) return refuse('acl-rights', `rights ${rights} for VM ${vmid}`);
      if (memType === MEM_TYPE.IO && (rights & MEM_ACL_RIGHT.X) !== 0) return refuse('io-exec', 'IO memory is never executable');
      if (transaction === MEM_TRANS_TYPE.DONATE && rights !== PGTABLE_ACCESS.RWX) return refuse('donate-rights', 'a donation gives RWX');
    }
    const ownerListed = seen.has(req.owner);
    if (transaction === MEM_TRANS_TYPE.SHARE && !ownerListed) return refuse('owner-not-in-acl', 'a share lists its owner');
    if (transaction !== MEM_TRANS_TYPE.SHARE && ownerListed) return refuse('owner-in-acl', 'only a share lists its owner');
    return null;
  }

  /** Check the ranges against the owner's address space, then apply the owner's loss of access. */
  private addRegions(parcel: Parcel, memory: GuestMemory, sgl: readonly ParcelRange[]): ParcelRefusal | null {
    const held = this.held.get(parcel.owner);
    const ranges: { first: number; pages: number }[] = [];
    for (const entry of sgl) {
      const range = pageRange(entry);
      if (range === null) return refuse('range-invalid', `range ${entry.ipa}+${entry.size} is not page aligned, empty or too high`);
      const taken = [...ranges, ...parcel.regions.map((r) => ({ first: r.ipa / PAGE_SIZE, pages: r.size / PAGE_SIZE }))];
      if (taken.some((r) => r.first < range.first + range.pages && range.first < r.first + r.pages)) {
        return refuse('range-overlap', `range ${entry.ipa}+${entry.size} overlaps another of the parcel`);
      }
      for (let p = range.first; p < range.first + range.pages; p++) {
        const other = held?.get(p);
        if (other !== undefined) return refuse('range-in-use', `page ${hex(p * PAGE_SIZE)} is in parcel ${other.handle}`);
        const m = memory.peek(p);
        if (m?.source instanceof Parcel) return refuse('range-not-owned', `page ${hex(p * PAGE_SIZE)} is borrowed`);
        if (m === undefined ? !memory.isMapped(p) : m.access === PGTABLE_ACCESS.NONE) {
          return refuse('range-unmapped', `page ${hex(p * PAGE_SIZE)} is not mapped in VM ${parcel.owner}`);
        }
      }
      ranges.push(range);
    }
    const ownerRights = parcel.rightsOf(parcel.owner) ?? PGTABLE_ACCESS.NONE;
    const pagesHeld = this.held.get(parcel.owner) ?? new Map<number, Parcel>();
    this.held.set(parcel.owner, pagesHeld);
    for (const { first, pages: count } of ranges) {
      const pages: LentPage[] = [];
      for (let p = first; p < first + count; p++) {
        const mapping = memory.mapping(p)!;
        pages.push({ mapping, access: mapping.access });
        // SHARE keeps the owner's access, within its own ACL rights; LEND and DONATE take it all.
        mapping.access &= ownerRights;
        pagesHeld.set(p, parcel);
      }
      if (parcel.sanitized) zero(pages);
      parcel.regions.push({ ipa: first * PAGE_SIZE, size: count * PAGE_SIZE });
      parcel.pages.push(pages);
    }
    return null;
  }

  private checkSanitize(parcel: Parcel, rights: number, sanitize: boolean | undefined): ParcelRefusal | null {
    if (sanitize !== true) return null;
    if (parcel.memType === MEM_TYPE.IO) return refuse('io-sanitize', 'IO memory cannot be sanitized');
    if ((rights & MEM_ACL_RIGHT.W) === 0) return refuse('sanitize-needs-write', 'sanitizing needs write access');
    return null;
  }

  /** Borrower IPAs for each region: given one by one, or back to back from one base; unmapped and in range. */
  private placement(parcel: Parcel, memory: GuestMemory, at: number | readonly number[]): number[] | ParcelRefusal {
    let ipas: number[];
    if (typeof at === 'number') {
      let next = at;
      ipas = parcel.regions.map((r) => (next += r.size) - r.size);
    } else {
      if (at.length !== parcel.regions.length) {
        return refuse('placement', `${at.length} IPAs for ${parcel.regions.length} regions`);
      }
      ipas = [...at];
    }
    for (let r = 0; r < ipas.length; r++) {
      const range = pageRange({ ipa: ipas[r]!, size: parcel.regions[r]!.size });
      if (range === null) return refuse('placement', `IPA ${ipas[r]} is not page aligned or too high`);
      for (let p = range.first; p < range.first + range.pages; p++) {
        if (memory.isMapped(p)) return refuse('ipa-in-use', `IPA ${hex(p * PAGE_SIZE)} is mapped already`);
      }
    }
    return ipas;
  }

  /** An accepted donation: the owner's pages leave its address space for good. */
  private completeDonation(parcel: Parcel): void {
    const memory = this.hyp.vms.get(parcel.owner)?.memory;
    parcel.regions.forEach((region, r) => {
      const base = region.ipa / PAGE_SIZE;
      parcel.pages[r]!.forEach((p, i) => {
        if (memory?.peek(base + i) === p.mapping) memory.remove(base + i);
      });
    });
    this.end(parcel);
  }

  private end(parcel: Parcel): void {
    parcel.live = false;
    this.byHandle.delete(parcel.handle);
    const held = this.held.get(parcel.owner);
    if (held === undefined) return;
    for (const region of parcel.regions) {
      for (let p = region.ipa / PAGE_SIZE, end = p + region.size / PAGE_SIZE; p < end; p++) held.delete(p);
    }
  }

  private countOwned(owner: number): number {
    let n = 0;
    for (const p of this.byHandle.values()) if (p.owner === owner) n++;
    return n;
  }
}

/** A page-aligned, non-empty range below the IPA limit, as page numbers; null otherwise. */
function pageRange(entry: ParcelRange): { first: number; pages: number } | null {
  const ipa = Number(entry.ipa);
  const size = Number(entry.size);
  if (!Number.isSafeInteger(ipa) || !Number.isSafeInteger(size) || ipa < 0 || size <= 0) return null;
  if (ipa % PAGE_SIZE !== 0 || size % PAGE_SIZE !== 0) return null;
  const first = ipa / PAGE_SIZE;
  const pages = size / PAGE_SIZE;
  return first + pages <= ADDRESS_LIMIT_PAGES ? { first, pages } : null;
}

function zero(pages: readonly LentPage[]): void {
  for (const p of pages) p.mapping.page.fill(0);
}

const hex = (n: number): string => `0x${n.toString(16)}`;
