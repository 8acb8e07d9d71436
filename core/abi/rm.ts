// spec §9-§10 and §7.2: the Resource Manager's RPC protocol, messages and types.
import { hex32 } from '../hex.js';

/** spec §9.2: 8-byte header; byte0 = api_version 1 | header_words 2 << 4. */
export const RM_RPC = {
  API_VERSION: 1,
  HEADER_WORDS: 2,
  HEADER_BYTE0: 0x21,
  HEADER_SIZE: 8,
  MESSAGE_SIZE: 240,
  PAYLOAD_SIZE: 232,
  MAX_FRAGMENTS: 62,
  /** 63 x 232 bytes. */
  MAX_MESSAGE: 14616,
  QUEUE_DEPTH: 8,
  /** spec §9.1: queued notifications per client while its queue is full. */
  MAX_PENDING_NOTIFICATIONS: 256,
} as const;

export const RM_MSG_TYPE = { CONTINUATION: 0, REQUEST: 1, REPLY: 2, NOTIFICATION: 3 } as const;

/** Request message IDs (spec §9.4). */
export const RM_MSG = {
  MEM_DONATE: 0x51000010,
  MEM_ACCEPT: 0x51000011,
  MEM_LEND: 0x51000012,
  MEM_SHARE: 0x51000013,
  MEM_RELEASE: 0x51000014,
  MEM_RECLAIM: 0x51000015,
  MEM_NOTIFY: 0x51000017,
  MEM_APPEND: 0x51000018,
  MEM_QCOM_LOOKUP_SGL: 0x5100001a,
  FW_MILESTONE: 0x51000020,
  FW_SET_VM_FIRMWARE: 0x51000021,
  VM_ALLOCATE: 0x56000001,
  VM_DEALLOCATE: 0x56000002,
  VM_START: 0x56000004,
  VM_STOP: 0x56000005,
  VM_RESET: 0x56000006,
  VM_CONFIG_IMAGE: 0x56000009,
  VM_AUTH_IMAGE: 0x5600000a,
  VM_INIT: 0x5600000b,
  VM_GET_ID: 0x56000010,
  VM_LOOKUP_URI: 0x56000011,
  VM_LOOKUP_GUID: 0x56000012,
  VM_LOOKUP_NAME: 0x56000013,
  VM_GET_OWNER: 0x56000015,
  VM_GET_STATE: 0x56000017,
  VM_GET_CRASH_MSG: 0x56000019,
  VM_GET_HYP_RESOURCES: 0x56000020,
  VM_GET_HYP_CAPIDS: 0x56000021,
  VM_GET_HYP_IRQS: 0x56000022,
  VM_GET_VMID: 0x56000024,
  VM_GET_PEERS: 0x56000025,
  VM_SET_TIME_BASE: 0x56000030,
  VM_SET_BOOT_CONTEXT: 0x56000031,
  VM_SET_FIRMWARE_MEM: 0x56000032,
  VM_SET_DEMAND_PAGING: 0x56000033,
  VM_SET_ADDRESS_LAYOUT: 0x56000034,
  VM_IRQ_ACCEPT: 0x56000050,
  VM_IRQ_LEND: 0x56000051,
  VM_IRQ_RELEASE: 0x56000052,
  VM_IRQ_RECLAIM: 0x56000053,
  VM_IRQ_NOTIFY: 0x56000054,
  VM_IRQ_UNMAP: 0x56000055,
  VM_SET_STATUS: 0x56000080,
  VM_CONSOLE_OPEN: 0x56000081,
  VM_CONSOLE_CLOSE: 0x56000082,
  VM_CONSOLE_WRITE: 0x56000083,
  VM_CONSOLE_FLUSH: 0x56000084,
  VM_EXIT: 0x56000085,
  VM_SET_CRASH_MSG: 0x56000086,
  VM_HOST_GET_TYPE: 0x560000a0,
  IPA_RESERVE: 0x560000b0,
  IPA_UNRESERVE: 0x560000b1,
} as const;
export type RmMessageName = keyof typeof RM_MSG;

/** Notification IDs (RM -> client). */
export const RM_NOTIF = {
  MEM_SHARED: 0x51100011,
  MEM_RELEASED: 0x51100012,
  MEM_ACCEPTED: 0x51100013,
  MEM_RECALL: 0x51100014,
  VM_EXITED: 0x56100001,
  VM_SHUTDOWN: 0x56100002,
  VM_STATUS: 0x56100008,
  VM_IRQ_LENT: 0x56100011,
  VM_IRQ_RELEASED: 0x56100012,
  VM_IRQ_ACCEPTED: 0x56100013,
  VM_CONSOLE_CHARS: 0x56100080,
} as const;
export type RmNotificationName = keyof typeof RM_NOTIF;

const invert = <T extends Record<string, number>>(o: T) =>
  new Map<number, keyof T & string>(Object.entries(o).map(([k, v]) => [v, k as keyof T & string]));
const MSG_NAMES = invert(RM_MSG);
const NOTIF_NAMES = invert(RM_NOTIF);
/** Name of a request or notification ID; unknown IDs print in hex. */
export const rmMessageName = (id: number): string =>
  MSG_NAMES.get(id) ?? NOTIF_NAMES.get(id) ?? hex32(id);

/** RM error codes (spec §3.3), u32 in every reply. */
export const RM_ERROR = {
  OK: 0x0,
  UNIMPLEMENTED: 0xffffffff,
  NOMEM: 0x1,
  NORESOURCE: 0x2,
  DENIED: 0x3,
  MSG_INVALID: 0x4,
  BUSY: 0x5,
  ARGUMENT_INVALID: 0x6,
  HANDLE_INVALID: 0x7,
  VALIDATE_FAILED: 0x8,
  MAP_FAILED: 0x9,
  MEM_INVALID: 0xa,
  MEM_INUSE: 0xb,
  MEM_RELEASED: 0xc,
  VMID_INVALID: 0xd,
  LOOKUP_FAILED: 0xe,
  IRQ_INVALID: 0xf,
  IRQ_INUSE: 0x10,
  IRQ_RELEASED: 0x11,
  IN_USE: 0x12,
  IRQ_NOT_MAPPED: 0x13,
  VM_STATE: 0x14,
} as const;
export type RmErrorName = keyof typeof RM_ERROR;
export type RmError = (typeof RM_ERROR)[RmErrorName];
const RM_ERROR_NAMES = invert(RM_ERROR);
/** `RM_OK` or `RM_ERROR_<NAME>` as R-TYPES spells them. */
export const rmErrorName = (code: number): string => {
  const name = RM_ERROR_NAMES.get(code >>> 0);
  if (name === undefined) return `RM_ERROR_0x${(code >>> 0).toString(16)}`;
  return name === 'OK' ? 'RM_OK' : `RM_ERROR_${name}`;
};

/** vm_status (spec §9.5). */
export const VM_STATUS = {
  NO_STATE: 0, INIT: 1, READY: 2, RUNNING: 3, PAUSED: 4, LOAD: 5, AUTH: 6, INIT_FAILED: 8, EXITED: 9,
  RESETTING: 10, RESET: 11,
} as const;
export type VmStatus = (typeof VM_STATUS)[keyof typeof VM_STATUS];
export const VM_STATUS_NAMES = invert(VM_STATUS);

export const OS_STATUS = { NONE: 0, EARLY_BOOT: 1, BOOT: 2, INIT: 3, RUN: 4, SHUTDOWN: 5, HALTED: 6, CRASHED: 7 } as const;
export type OsStatus = (typeof OS_STATUS)[keyof typeof OS_STATUS];
export const OS_STATUS_NAMES = invert(OS_STATUS);

export const EXIT_TYPE = {
  VM_EXIT: 0, PLATFORM_OFF: 1, PLATFORM_RESET: 2, PSCI_SYSTEM_RESET2: 3, WATCHDOG_BITE: 4, SOFTWARE_ERROR: 5,
  ASYNC_HW_ERROR: 6, VM_STOP_FORCED: 7,
} as const;

/** VM_EXIT request: exit_flags bit0 RESTART; exit codes (2 UNKNOWN is rejected). */
export const VM_EXIT_FLAG = { RESTART: 1 } as const;
export const VM_EXIT_CODE = { NORMAL: 0, SW_ERROR: 1, UNKNOWN: 2, BUS_ERROR: 3, DEVICE_ERROR: 4 } as const;

/** VM_STOP flags: bit0 FORCE. Linux sends FORCE with stop reason 3. */
export const VM_STOP_FLAG = { FORCE: 1 } as const;
/** VM_STOP stop_reason Linux sends with FORCE (GUNYAH_RM_VM_STOP_REASON_FORCE_STOP). */
export const VM_STOP_REASON = { FORCE_STOP: 3 } as const;

/** VM_CONFIG_IMAGE auth types. */
export const VM_AUTH = { NONE: 0, QCOM_PIL_ELF: 1, QCOM_ANDROID_PVM: 2 } as const;

/** VM_HOST_GET_TYPE reply: AArch64 (0x64), Gunyah+RM (1 << 8), version 1 (<< 24). */
export const RM_HOST_TYPE = 0x01000164;

/** VM_GET_HYP_RESOURCES entry types (spec §9.6). */
export const HYP_RESOURCE_TYPE = {
  DOORBELL_SRC: 0, DOORBELL: 1, MSG_QUEUE_SEND: 2, MSG_QUEUE_RECV: 3, VIRTUAL_CPU: 4, VIRTUAL_PM: 5,
  VIRTIO_MMIO: 6, VRTC: 7, WATCHDOG: 8, MEM_EXTENT: 9, ADDR_SPACE: 10,
} as const;
/**
 * 44 bytes: the §9.6 offsets end at size u64 @ 36, as in R-MSG `rm_hyp_resource_resp` and Linux
 * `struct gunyah_rm_hyp_resource` (packed); the "40 bytes" in spec §9.6's title is a miscount.
 */
export const HYP_RESOURCE_ENTRY_SIZE = 44;

/** Memory parcels (spec §7.2). */
export const MEM_TRANS_TYPE = { DONATE: 0, LEND: 1, SHARE: 2 } as const;
export const MEM_TYPE = { NORMAL: 0, IO: 1 } as const;
export const MEM_ACL_RIGHT = { X: 1, W: 2, R: 4 } as const;
/** The RM accepts only R, RX, RW and RWX. */
export const MEM_ACL_RIGHTS_ACCEPTED = [4, 5, 6, 7] as const;
export const MEM_ATTR = { NORMAL: 0, DEVICE: 1, UNCACHED: 2, CACHED: 3 } as const;
export const MEM_SHARE_FLAG = { SANITIZE: 1, APPEND: 2 } as const;
export const MEM_APPEND_FLAG = { END: 1 } as const;
export const MEM_ACCEPT_FLAG = {
  VALIDATE_SANITIZED: 1, VALIDATE_ACL_ATTR: 2, VALIDATE_LABEL: 4, MAP_OTHER: 8, MAP_CONTIGUOUS: 16,
  SANITIZE: 32, DONE: 128,
} as const;
export const MEM_ACCEPT_REPLY_FLAG = { INCOMPLETE: 1 } as const;
export const MEM_RELEASE_FLAG = { SANITIZE: 1 } as const;
export const MEM_NOTIFY_FLAG = { SHARED: 1, RELEASED: 2, ACCEPTED: 4, RECALL: 8 } as const;
export const MEMPARCEL = {
  ACL_ENTRY_SIZE: 4,
  SGL_ENTRY_SIZE: 16,
  ATTR_ENTRY_SIZE: 4,
  MAX_LIST_ENTRIES: 512,
  MAX_PER_VM: 64,
  HANDLE_INVALID: 0xffffffff,
} as const;
