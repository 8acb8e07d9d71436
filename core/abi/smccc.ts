// spec §1.1-§1.2: SMCCC function-ID encoding and the services Gunyah answers.

export const SMCCC = {
  FAST_BIT: 31,
  SMC64_BIT: 30,
  OWNER_SHIFT: 24,
  OWNER_MASK: 0x3f,
  RES0_MASK: 0x00fe0000, // bits 23:17
  FUNCTION_MASK: 0xffff,
  OWNER_ARCH: 0,
  OWNER_STANDARD_HYP: 5,
  OWNER_VENDOR_HYP: 6,
  /** SMCCC_UNKNOWN_FUNCTION64 (and NOT_SUPPORTED): -1 in X0. */
  UNKNOWN_FUNCTION: -1,
} as const;

/** Vendor-hyp 16-bit function field: class in bits 15:14, number in 13:0. */
export const VENDOR_HYP_CLASS = { SHIFT: 14, NUMBER_MASK: 0x3fff, PLATFORM: 0, HYPERCALL: 2, SERVICE: 3 } as const;

/** Hypercall function IDs: fast, SMC64, owner VENDOR_HYP, class HYPERCALL. */
export const HYPERCALL_FUNCTION_ID_BASE = 0xc6008000;
export const hypercallFunctionId = (n: number): number => (HYPERCALL_FUNCTION_ID_BASE | n) >>> 0;

/** Native convention: `hvc #imm` with imm = 0x6000 + n (spec §1.1). */
export const NATIVE_HVC = { BASE: 0x6000, LAST: 0x61ff } as const;

/** Service numbers within class SERVICE (0x3F00 | k). */
export const SERVICE = { CALL_COUNT: 0x3f00, CALL_UID: 0x3f01, REVISION: 0x3f03 } as const;

/** The SMCCC calls Gunyah answers beyond its hypercalls, by function ID (spec §1.2 table). */
export const SMCCC_CALL = {
  VENDOR_HYP_CALL_COUNT: 0x8600ff00,
  VENDOR_HYP_CALL_UID: 0x8600ff01,
  VENDOR_HYP_REVISION: 0x8600ff03,
  STANDARD_HYP_CALL_UID: 0x8500ff01,
  STANDARD_HYP_REVISION: 0x8500ff03,
  SMCCC_VERSION: 0x80000000,
  SMCCC_ARCH_FEATURES: 0x80000001,
} as const;
export type SmcccCallName = keyof typeof SMCCC_CALL;

/** SMCCC 1.3 (spec §1.2). */
export const SMCCC_VERSION_VALUE = 0x10003;
/** Standard-hyp REVISION: 1.0. */
export const STANDARD_HYP_REVISION = { MAJOR: 1, MINOR: 0 } as const;

/**
 * CALL_UID register layouts (spec §1.2, §15.1). `uuid`: the public hypervisor's answer, the UUID
 * c1d58fcd-a453-5fdb-9265-ce36673d5f14 packed little-endian per word, which Linux v11+ checks. `seed-v2`: the
 * word order the v2-v4 drivers compared raw.
 */
export const CALL_UID_LAYOUTS = {
  uuid: [0xcd8fd5c1, 0xdb5f53a4, 0x36ce6592, 0x145f3d67],
  'seed-v2': [0x673d5f14, 0x9265ce36, 0xa4535fdb, 0xc1d58fcd],
} as const;
export type CallUidLayout = keyof typeof CALL_UID_LAYOUTS;
/** The Qualcomm UID that v2-v4 Linux also accepted (raw words). */
export const QC_HYP_UID_SEED_V2 = [0x19bd54bd, 0x0b37571b, 0x946f609b, 0x54539de6] as const;
