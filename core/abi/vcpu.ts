// spec §6: vCPU configuration, power, scheduling and vcpu_run.

/** vcpu_run / vcpu_run_check states (spec §6.2). */
export const VCPU_RUN_STATE = {
  READY: 0,
  EXPECTS_WAKEUP: 1,
  POWERED_OFF: 2,
  BLOCKED: 3,
  ADDRSPACE_VMMIO_READ: 4,
  ADDRSPACE_VMMIO_WRITE: 5,
  FAULT: 6,
  ADDRSPACE_PAGE_FAULT: 7,
  PSCI_SYSTEM_RESET: 0x100,
} as const;

/** EXPECTS_WAKEUP data1: what the vCPU sleeps in. */
export const VCPU_WAKEUP_FROM = { UNSPECIFIED: 0, WFI: 1, PSCI_CPU_SUSPEND: 2, PSCI_SYSTEM_SUSPEND: 3 } as const;

/** vcpu_poweron flags (spec §6.1). */
export const VCPU_POWERON_FLAG = { PRESERVE_ENTRY_POINT: 1, PRESERVE_CONTEXT: 2 } as const;
/** vcpu_poweroff flags: bit0 last vCPU. POWERED_OFF data0 bit0: "exited". */
export const VCPU_POWEROFF_FLAG = { LAST_VCPU: 1 } as const;
/** vcpu_run POWERED_OFF data0 (spec §6.2): bit0 set when the vCPU exited (was killed) rather than powered off. */
export const VCPU_RUN_POWEROFF_FLAG = { EXITED: 1 } as const;
/** vcpu_run EXPECTS_WAKEUP data0: the sleep state, 0 for WFI (else a PSCI CPU_SUSPEND power_state). */
export const VCPU_SLEEP_STATE_WFI = 0;

/** vcpu_configure option flags, source numbering (spec §6.1, §15.8). */
export const VCPU_OPTION = {
  PINNED: 0, RAS_ERROR_HANDLER: 1, AMU_COUNTING_DISABLED: 2, SVE_ALLOWED: 3, DEBUG_ALLOWED: 4, TRACE_ALLOWED: 5,
  CRITICAL: 8, VCPU_RUN_SCHEDULED: 9, HLOS_VM: 63,
} as const;

/** vcpu_bind_virq types. Binding VCPU_RUN_WAKEUP makes the vCPU proxy-scheduled. */
export const VCPU_VIRQ_TYPE = { HALT: 0, VCPU_RUN_WAKEUP: 1 } as const;

/** vcpu_register_write register sets and index limits. */
export const VCPU_REG_SET = { X: 0, PC: 1, SP_EL: 2 } as const;
export const VCPU_REG_INDEX_MAX = { 0: 30, 1: 0, 2: 1 } as const;

/** FPRR scheduler (spec §6.1, §13.4). */
export const SCHEDULER = {
  PRIORITY_MIN: 0,
  PRIORITY_MAX: 63,
  PRIORITY_DEFAULT: 32,
  TIMESLICE_MIN_NS: 1_000_000,
  TIMESLICE_MAX_NS: 100_000_000,
  TIMESLICE_DEFAULT_NS: 5_000_000,
} as const;

/** scheduler_yield control: bits 15:0 hint, bit 31 implementation defined (rejected), bits 30:16 ignored. */
export const YIELD_HINT = { MASK: 0xffff, GENERIC: 0, YIELD_TO: 1, LOWER_PRIORITY: 2 } as const;
export const YIELD_CONTROL_IMPL_DEF = 0x80000000;

/** vpm_group_get_state. */
export const VPM_STATE = { NO_STATE: 0, RUNNING: 1, CPUS_SUSPENDED: 2, SYSTEM_SUSPENDED: 3 } as const;

/** CPU index meaning "no affinity" in vcpu_set_affinity. */
export const CPU_INDEX_INVALID = -1;
