// spec §13.1: VMIDs and identifiers.
export const VMID = {
  HYP: 0x00,
  /** VMID 0 in requests means "self". */
  SELF: 0x00,
  HLOS: 0x03,
  RM: 0xff,
  ANY: 0xfffe,
  INVALID: 0xffff,
} as const;

/** Fixed secondary VMIDs are below this; dynamic ones are 0x80-0xBF (lowest free first). */
export const FIXED_VMID_LIMIT = 64;
export const DYNAMIC_VMID = { FIRST: 0x80, LAST: 0xbf } as const;

export const VM_NAME_MAX = 80;
export const VM_URI_MAX = 80;
export const VM_CRASH_MSG_MAX = 192;
