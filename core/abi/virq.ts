// spec §1.4 and §8.1: vIRQ info encoding and the vGICv3 interrupt number ranges.

/** Virtual IRQ Info (u64): bits 23:0 vIRQ number, 31:24 target vCPU index, 63:32 zero. */
export const VIRQ_INFO = { NUMBER_MASK: 0xffffff, VCPU_SHIFT: 24, VCPU_MASK: 0xff } as const;

export const encodeVirqInfo = (virq: number, vcpuIndex = 0): number =>
  ((virq & VIRQ_INFO.NUMBER_MASK) | ((vcpuIndex & VIRQ_INFO.VCPU_MASK) << VIRQ_INFO.VCPU_SHIFT)) >>> 0;

/** vGICv3 numbering: SGI/PPI per vCPU, SPI, extended PPI, extended SPI. */
export const VIRQ_RANGE = {
  PRIVATE: { first: 0, last: 31 },
  SPI: { first: 32, last: 1019 },
  EPPI: { first: 1056, last: 1119 },
  ESPI: { first: 4096, last: 5119 },
} as const;

/** Arm generic timer PPIs (SBSA INTIDs): the EL1 virtual timer a guest arms for timed waits. */
export const ARCH_TIMER_VIRQ = { EL1_VIRTUAL: 27 } as const;

/** GIC devicetree interrupt cell encoding the RM uses (spec §8.1). */
export const GIC_DT = { SPI: 0, PPI: 1, ESPI: 2, EPPI: 3, EDGE_RISING: 1, LEVEL_HIGH: 4 } as const;

/** vic_configure vic_options (spec §8.1, §15.5): bit0 max_msis valid, bit1 disable default address; 63:2 zero. */
export const VIC_OPTION = { MAX_MSIS_VALID: 1, DISABLE_DEFAULT_ADDR: 2 } as const;
