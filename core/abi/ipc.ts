// spec §4 and §5: message-queue and doorbell constants.

/** msgqueue_configure create_info (spec §4.2): depth bits 15:0, max_msg_size bits 31:16, 63:32 zero. */
export const MSGQ_CREATE_INFO = { DEPTH_MASK: 0xffff, MAX_SIZE_SHIFT: 16, MAX_SIZE_MASK: 0xffff } as const;

/** Exclusive hypervisor limits (spec §4.1): depth < 256, max_msg_size < 1024. */
export const MSGQUEUE_MAX_QUEUE_DEPTH = 256;
export const MSGQUEUE_MAX_MAX_MSG_SIZE = 1024;

/** msgqueue_send flags: bit0 push; other bits must be zero. */
export const MSGQ_SEND_FLAG = { PUSH: 1 } as const;

/** Threshold sentinels of configure_send/receive: -1 leaves a value, -2 (receive) means depth. */
export const MSGQ_THRESHOLD = { UNCHANGED: -1, DEPTH: -2 } as const;
/** The only delay value the public hypervisor accepts. */
export const MSGQ_DELAY_NONE = -1;

/** Doorbell reset values (spec §5): enable_mask all ones, ack_mask zero. */
export const DOORBELL_ENABLE_MASK_DEFAULT = 0xffffffffffffffffn;
