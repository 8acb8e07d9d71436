// spec §2: hypervisor_identify outputs (api_info, flags0, flags1, flags2).

/** api_info fields (spec §2.1). */
export const API_INFO = {
  VERSION_MASK: 0x3fff, // bits 13:0
  BIG_ENDIAN_BIT: 14,
  IS_64BIT_BIT: 15,
  VARIANT_SHIFT: 56, // bits 63:56
} as const;

export const GUNYAH_API_VERSION = 1;

/** spec §2.1 and §15.2: 0x51 is the open-source build ("QUALCOMM" in api.tc), 0x48 the other. */
export const HYP_VARIANT = { UNKNOWN: 0x00, GUNYAH: 0x48, QUALCOMM: 0x51 } as const;

/** flags0 feature bits (spec §2.2), with the api.tc name of each. */
export const HYP_FEATURE = {
  partition_cspace: 0,
  doorbell: 1,
  msgqueue: 2,
  vic: 3,
  vpm: 4,
  vcpu: 5,
  memextent: 6,
  trace_ctrl: 7,
  watchdog: 8,
  virtio_mmio: 9,
  prng: 10,
  vcpu_run: 11,
} as const;
export type HypFeature = keyof typeof HYP_FEATURE;

/** flags0 bits 31:28: the scheduler variant. */
export const SCHEDULER_VARIANT = { SHIFT: 28, TRIVIAL: 0, FPRR: 1 } as const;

/**
 * The words the seed's sysfs `features` node prints, by feature bit (spec §11). v1-v4 Linux only ever printed
 * bits 0 and 2; the ABI file documented the other words without emitting them.
 */
export const SYSFS_FEATURE_WORD: Partial<Record<HypFeature, string>> = {
  partition_cspace: 'cspace',
  msgqueue: 'message-queue',
  doorbell: 'doorbell',
  vic: 'vic',
  vpm: 'vpm',
  vcpu: 'vcpu',
  memextent: 'memextent',
  trace_ctrl: 'trace',
};

/**
 * The features whose words the seed's driver actually printed in the sysfs `features` node (v1-v4, spec §11): bit 0
 * then bit 2, each when flags0 reports it. The other SYSFS_FEATURE_WORD entries were documented, never emitted.
 */
export const SYSFS_PRINTED_FEATURES: readonly HypFeature[] = ['partition_cspace', 'msgqueue'];
