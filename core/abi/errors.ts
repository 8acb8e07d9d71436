// spec §3.1: the hypervisor error enumeration (signed 64-bit in X0). Names as in the hypervisor's types.tc.
export const GH_ERROR = {
  OK: 0,
  UNIMPLEMENTED: -1,
  RETRY: -2,
  ARGUMENT_INVALID: 1,
  ARGUMENT_SIZE: 2,
  ARGUMENT_ALIGNMENT: 3,
  NOMEM: 10,
  NORESOURCES: 11,
  ADDR_OVERFLOW: 20,
  ADDR_UNDERFLOW: 21,
  ADDR_INVALID: 22,
  DENIED: 30,
  BUSY: 31,
  IDLE: 32,
  OBJECT_STATE: 33,
  OBJECT_CONFIG: 34,
  OBJECT_CONFIGURED: 35,
  FAILURE: 36,
  VIRQ_BOUND: 40,
  VIRQ_NOT_BOUND: 41,
  CSPACE_CAP_NULL: 50,
  CSPACE_CAP_REVOKED: 51,
  CSPACE_WRONG_OBJECT_TYPE: 52,
  CSPACE_INSUFFICIENT_RIGHTS: 53,
  CSPACE_FULL: 54,
  MSGQUEUE_EMPTY: 60,
  MSGQUEUE_FULL: 61,
  STRING_TRUNCATED: 90,
  STRING_REACHED_END: 91,
  STRING_INVALID_FORMAT: 92,
  STRING_MISSING_PLACEHOLDER: 93,
  STRING_MISSING_ARGUMENT: 94,
  ALLOCATOR_RANGE_OVERLAPPING: 100,
  ALLOCATOR_MEM_INUSE: 101,
  MEMDB_EMPTY: 110,
  MEMDB_NOT_OWNER: 111,
  MEMEXTENT_MAPPINGS_FULL: 120,
  MEMEXTENT_TYPE: 121,
  EXISTING_MAPPING: 200,
} as const;

export type GhErrorName = keyof typeof GH_ERROR;
export type GhError = (typeof GH_ERROR)[GhErrorName];

const NAME_BY_CODE = new Map<number, GhErrorName>(
  (Object.keys(GH_ERROR) as GhErrorName[]).map((name) => [GH_ERROR[name], name]),
);

/** The spec's name for an error code: `OK` or `ERROR_<NAME>`; unknown codes print as a number. */
export function ghErrorName(code: number): string {
  const name = NAME_BY_CODE.get(code);
  if (name === undefined) return `ERROR_${code}`;
  return name === 'OK' ? 'OK' : `ERROR_${name}`;
}

/** Every error code in declaration order; statistics index results by position in this list. */
export const GH_ERROR_CODES: readonly number[] = Object.values(GH_ERROR);

const ERRNO = {
  EPERM: 1, EIO: 5, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EBUSY: 16, EINVAL: 22, EOPNOTSUPP: 95,
} as const;

/**
 * spec §3.2: the Linux v15-v17 `gunyah_error_remap` (the newest driver generation), as a negative errno.
 * Earlier generations differ only for the msgq/virq group (-EPERM, -EBUSY) and RETRY (-EINVAL, -EOPNOTSUPP).
 */
export function ghErrorToErrno(code: number): number {
  switch (code) {
    case GH_ERROR.OK: return 0;
    case GH_ERROR.NOMEM: return -ERRNO.ENOMEM;
    case GH_ERROR.DENIED:
    case GH_ERROR.CSPACE_CAP_NULL:
    case GH_ERROR.CSPACE_CAP_REVOKED:
    case GH_ERROR.CSPACE_WRONG_OBJECT_TYPE:
    case GH_ERROR.CSPACE_INSUFFICIENT_RIGHTS: return -ERRNO.EACCES;
    case GH_ERROR.CSPACE_FULL:
    case GH_ERROR.BUSY:
    case GH_ERROR.IDLE: return -ERRNO.EBUSY;
    case GH_ERROR.VIRQ_BOUND:
    case GH_ERROR.VIRQ_NOT_BOUND:
    case GH_ERROR.MSGQUEUE_FULL:
    case GH_ERROR.MSGQUEUE_EMPTY: return -ERRNO.EIO;
    case GH_ERROR.UNIMPLEMENTED: return -ERRNO.EOPNOTSUPP;
    case GH_ERROR.RETRY: return -ERRNO.EAGAIN;
    default: return -ERRNO.EINVAL;
  }
}
