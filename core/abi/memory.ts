// spec §7.1: memory extents and address spaces.

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

/** pgtable_access (bits 2:0 of several attrs). */
export const PGTABLE_ACCESS = { NONE: 0, X: 1, W: 2, R: 4, RX: 5, RW: 6, RWX: 7 } as const;

/** memextent_attrs: access 2:0, memtype 9:8, type 17:16, list-append bit 31; bits 30:18, 15:10, 7:3 reserved (H-MEM). */
export const MEMEXTENT_ATTRS = {
  ACCESS_MASK: 0x7, MEMTYPE_SHIFT: 8, MEMTYPE_MASK: 0x3, TYPE_SHIFT: 16, TYPE_MASK: 0x3, APPEND_BIT: 31,
  RES0_MASK: 0x7ffcfcf8,
} as const;
export const MEMEXTENT_MEMTYPE = { ANY: 0, DEVICE: 1, UNCACHED: 2, CACHED: 3 } as const;
export const MEMEXTENT_TYPE = { BASIC: 0, SPARSE: 1 } as const;

/**
 * map_attrs: user access 2:0, kernel access 6:4, memtype 23:16; bits 31:24, 15:7, 3 reserved. access_attrs
 * (addrspace_update_access) has the two access fields only; bits 31:7, 3 reserved (H-MEM memextent.tc).
 */
export const MAP_ATTRS = {
  USER_ACCESS_MASK: 0x7, KERNEL_ACCESS_SHIFT: 4, MEMTYPE_SHIFT: 16, MEMTYPE_MASK: 0xff,
  RES0_MASK: 0xff00ff88, ACCESS_ATTRS_RES0_MASK: 0xffffff88,
} as const;

/** pgtable_vm_memtype (arm64 stage-2 MemAttr): the memtype field of map_attrs (spec §7.1). */
export const PGTABLE_VM_MEMTYPE = {
  DEVICE_NGNRNE: 0, DEVICE_NGNRE: 1, DEVICE_NGRE: 2, DEVICE_GRE: 3, NORMAL_NC: 5, NORMAL_ONC_IWT: 6,
  NORMAL_ONC_IWB: 7, NORMAL_OWT_INC: 9, NORMAL_WT: 10, NORMAL_OWT_IWB: 11, NORMAL_OWB_INC: 13,
  NORMAL_OWB_IWT: 14, NORMAL_WB: 15,
} as const;

/**
 * addrspace map_flags. The public hypervisor reserves bits 30:1; Linux v15+ also sends PRIVATE and VMMIO
 * (spec §7.1), so only bits 30:3 are refused.
 */
export const MAP_FLAG = { PARTIAL: 1, PRIVATE: 2, VMMIO: 4, NOSYNC: 0x80000000, RES0_MASK: 0x7ffffff8 } as const;

/** memextent_modify flags and memextent_donate options: type 7:0, NOSYNC 31, bits 30:8 reserved. */
export const MEMEXTENT_OPTION = { TYPE_MASK: 0xff, NOSYNC: 0x80000000, RES0_MASK: 0x7fffff00 } as const;

/** memextent_modify ops (bits 7:0) and NOSYNC (bit 31). */
export const MEMEXTENT_MODIFY_OP = { UNMAP_ALL: 0, ZERO_RANGE: 1, CACHE_CLEAN_RANGE: 2, CACHE_FLUSH_RANGE: 3, SYNC_ALL: 255 } as const;

/** memextent_donate types (bits 7:0) and NOSYNC (bit 31). */
export const DONATE_TYPE = { TO_CHILD: 0, TO_PARENT: 1, TO_SIBLING: 2, TO_PROTECTED: 3, FROM_PROTECTED: 4 } as const;

/** addrspace_configure_vmmio op. */
export const VMMIO_OP = { ADD_RANGE: 0, REMOVE_RANGE: 1 } as const;
/** At most this many VMMIO ranges per address space (H-MEM addrspace.tc ADDRSPACE_MAX_VMMIO_RANGES). */
export const ADDRSPACE_MAX_VMMIO_RANGES = 128;

/** Maximum mappings per extent (spec §7.1 errors). */
export const MEMEXTENT_MAX_MAPPINGS = 4;

/** prng_get_entropy: 1-16 bytes. */
export const PRNG_MAX_BYTES = 16;
