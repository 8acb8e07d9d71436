// spec §1.4: object types, object states, capability rights and the invalid capid.

export const OBJECT_TYPES = [
  'partition', 'cspace', 'addrspace', 'memextent', 'thread', 'doorbell', 'msgqueue', 'vic', 'hwirq',
  'vpm_group', 'watchdog', 'virtio_mmio',
] as const;
export type ObjectType = (typeof OBJECT_TYPES)[number];

/** spec §1.4 names the thread object "vCPU"; every other type keeps its own name (as REST and sysfs print it). */
export const objectTypeName = (type: ObjectType): string => (type === 'thread' ? 'vcpu' : type);

/** Object lifecycle (spec §1.4): `*_configure` only in INIT; object_activate INIT -> ACTIVE. */
export const OBJECT_STATE = { NONE: 0, INIT: 1, ACTIVE: 2, FAILED: 3, DESTROYING: 4 } as const;
export type ObjectState = (typeof OBJECT_STATE)[keyof typeof OBJECT_STATE];
export const OBJECT_STATE_NAMES = ['none', 'init', 'active', 'failed', 'destroying'] as const;

/** bit 31 of every rights word: generic ACTIVATE. */
export const RIGHT_ACTIVATE = 0x80000000;

/** Per-type rights bits (spec §1.4 table). */
export const RIGHTS = {
  partition: { object_create: 0, donate: 1 },
  cspace: { cap_create: 0, cap_delete: 1, cap_copy: 2, attach: 3, cap_revoke: 4 },
  addrspace: { attach: 0, map: 1, lookup: 2, add_vmmio_range: 3 },
  memextent: { map: 0, derive: 1, attach: 2, lookup: 3, donate: 4 },
  thread: {
    power: 0, affinity: 1, priority: 2, timeslice: 3, yield_to: 4, bind_virq: 5, state: 6, lifecycle: 7,
    write_context: 8, disable: 9,
  },
  doorbell: { send: 0, receive: 1, bind: 2 },
  msgqueue: { send: 0, receive: 1, bind_send: 2, bind_receive: 3 },
  vic: { bind_source: 0, attach_vcpu: 1 },
  hwirq: { bind_vic: 0 },
  vpm_group: { attach_vcpu: 0, bind_virq: 1, query: 2 },
  watchdog: { attach_vcpu: 0, bind_virq: 1 },
  virtio_mmio: { bind_backend_virq: 0, bind_frontend_virq: 1, assert_virq: 2, config: 3 },
} as const satisfies Record<ObjectType, Record<string, number>>;

/** The rights mask of one named right, e.g. `right('msgqueue', 'send') === 1`. */
export function right<T extends ObjectType>(type: T, name: keyof (typeof RIGHTS)[T]): number {
  return (1 << (RIGHTS[type][name] as number)) >>> 0;
}

/** Every right of a type, ACTIVATE included (what the creator of an object receives). */
export function allRights(type: ObjectType): number {
  let mask = RIGHT_ACTIVATE;
  for (const bit of Object.values(RIGHTS[type]) as number[]) mask |= 1 << bit;
  return mask >>> 0;
}

/** The names of the rights in a mask, ACTIVATE last. */
export function rightNames(type: ObjectType, mask: number): string[] {
  const names = Object.entries(RIGHTS[type] as Record<string, number>)
    .filter(([, bit]) => (mask >>> bit) & 1)
    .map(([name]) => name);
  if (mask & RIGHT_ACTIVATE) names.push('activate');
  return names;
}

/** CSPACE_CAP_INVALID = 0xFFFF_FFFF_FFFF_FFFF (spec §1.4, §13.1). */
export const CAPID_INVALID = 0xffffffffffffffffn;

/** Two-level cspace encoding (spec §1.4): the top 32 bits of the random base stay below this. */
export const CSPACE_BASE_HI_LIMIT = 0xffffff00;
/** 16-bit slot values: upper index bits 15:8, lower 7:0. */
export const CSPACE_MAX_SLOTS = 0x10000;
