// spec §1.3: the hypercall table, declared once as data. Dispatch, statistics, metric labels and the sysfs
// `hypercalls/` directory all derive from it. Inputs are the registers after the function ID (SMCCC X1..,
// native X0..); `R0` must be 0 and `R-1` must be -1 (both checked by the dispatcher). Outputs start at X0.

export interface HypercallSpec {
  readonly n: number;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

const call = (n: number, name: string, inputs: string[], outputs: string[] = ['err']): HypercallSpec =>
  ({ n, name, inputs, outputs });
const create = (n: number, what: string) => call(n, `partition_create_${what}`, ['partition', 'cspace', 'R0'], ['err', 'new_cap']);
const bindVirq = (n: number, name: string, src: string) => call(n, name, [src, 'vic', 'virq_info', 'R0']);
const unbindVirq = (n: number, name: string, src: string) => call(n, name, [src, 'R0']);

export const HYPERCALLS = [
  call(0x00, 'hypervisor_identify', [], ['api_info', 'flags0', 'flags1', 'flags2']),
  create(0x01, 'partition'),
  create(0x02, 'cspace'),
  create(0x03, 'addrspace'),
  create(0x04, 'memextent'),
  create(0x05, 'thread'),
  create(0x06, 'doorbell'),
  create(0x07, 'msgqueue'),
  create(0x09, 'watchdog'),
  create(0x0a, 'vic'),
  create(0x0b, 'vpm_group'),
  call(0x0c, 'object_activate', ['cap', 'R0']),
  call(0x0d, 'object_activate_from', ['cspace', 'cap', 'R0']),
  call(0x0e, 'object_reset', ['cap', 'R0']),
  call(0x0f, 'object_reset_from', ['cspace', 'cap', 'R0']),
  bindVirq(0x10, 'doorbell_bind_virq', 'doorbell'),
  unbindVirq(0x11, 'doorbell_unbind_virq', 'doorbell'),
  call(0x12, 'doorbell_send', ['doorbell', 'new_flags', 'R0'], ['err', 'old_flags']),
  call(0x13, 'doorbell_receive', ['doorbell', 'clear_flags', 'R0'], ['err', 'old_flags']),
  call(0x14, 'doorbell_reset', ['doorbell', 'R0']),
  call(0x15, 'doorbell_mask', ['doorbell', 'enable_mask', 'ack_mask', 'R0']),
  bindVirq(0x17, 'msgqueue_bind_send_virq', 'msgqueue'),
  bindVirq(0x18, 'msgqueue_bind_receive_virq', 'msgqueue'),
  unbindVirq(0x19, 'msgqueue_unbind_send_virq', 'msgqueue'),
  unbindVirq(0x1a, 'msgqueue_unbind_receive_virq', 'msgqueue'),
  call(0x1b, 'msgqueue_send', ['msgqueue', 'size', 'buf_va', 'send_flags', 'R0'], ['err', 'not_full']),
  call(0x1c, 'msgqueue_receive', ['msgqueue', 'buf_va', 'buf_size', 'R0'], ['err', 'size', 'not_empty']),
  call(0x1d, 'msgqueue_flush', ['msgqueue', 'R0']),
  call(0x1f, 'msgqueue_configure_send', ['msgqueue', 'notfull_thresh', 'notfull_delay', 'R-1']),
  call(0x20, 'msgqueue_configure_receive', ['msgqueue', 'notempty_thresh', 'notempty_delay', 'R-1']),
  call(0x21, 'msgqueue_configure', ['msgqueue', 'create_info', 'R0']),
  call(0x22, 'cspace_delete_cap_from', ['cspace', 'cap', 'R0']),
  call(0x23, 'cspace_copy_cap_from', ['src_cspace', 'src_cap', 'dst_cspace', 'rights_mask', 'R0'], ['err', 'new_cap']),
  call(0x24, 'cspace_revoke_cap_from', ['cspace', 'cap', 'R0']),
  call(0x25, 'cspace_configure', ['cspace', 'max_caps', 'R0']),
  bindVirq(0x26, 'hwirq_bind_virq', 'hwirq'),
  unbindVirq(0x27, 'hwirq_unbind_virq', 'hwirq'),
  call(0x28, 'vic_configure', ['vic', 'max_vcpus', 'max_virqs', 'vic_options', 'max_msis']),
  call(0x29, 'vic_attach_vcpu', ['vic', 'vcpu', 'index', 'R0']),
  call(0x2a, 'addrspace_attach_thread', ['addrspace', 'thread', 'R0']),
  call(0x2b, 'addrspace_map', ['addrspace', 'memextent', 'vbase', 'map_attrs', 'map_flags', 'offset', 'size']),
  call(0x2c, 'addrspace_unmap', ['addrspace', 'memextent', 'vbase', 'map_flags', 'offset', 'size']),
  call(0x2d, 'addrspace_update_access', ['addrspace', 'memextent', 'vbase', 'access_attrs', 'map_flags', 'offset', 'size']),
  call(0x2e, 'addrspace_configure', ['addrspace', 'vmid', 'R0']),
  call(0x2f, 'addrspace_attach_vdma', ['addrspace', 'dma_obj', 'index', 'R0']),
  call(0x30, 'memextent_modify', ['memextent', 'modify_flags', 'offset', 'size']),
  call(0x31, 'memextent_configure', ['memextent', 'phys_base', 'size', 'attrs', 'R0']),
  call(0x32, 'memextent_configure_derive', ['memextent', 'parent', 'offset', 'size', 'attrs', 'R0']),
  call(0x34, 'vcpu_configure', ['vcpu', 'option_flags', 'R0']),
  call(0x38, 'vcpu_poweron', ['vcpu', 'entry_ipa', 'context', 'flags']),
  call(0x39, 'vcpu_poweroff', ['vcpu', 'flags']),
  call(0x3a, 'vcpu_kill', ['vcpu', 'R0']),
  call(0x3b, 'scheduler_yield', ['control', 'arg1', 'R0']),
  call(0x3c, 'vpm_group_attach_vcpu', ['vpm_group', 'vcpu', 'index', 'R0']),
  call(0x3d, 'vcpu_set_affinity', ['vcpu', 'cpu_index', 'R-1']),
  call(0x3e, 'cspace_attach_thread', ['cspace', 'thread', 'R0']),
  call(0x3f, 'trace_update_class_flags', ['set_flags', 'clear_flags', 'R0'], ['err', 'flags']),
  bindVirq(0x43, 'vpm_group_bind_virq', 'vpm_group'),
  unbindVirq(0x44, 'vpm_group_unbind_virq', 'vpm_group'),
  call(0x45, 'vpm_group_get_state', ['vpm_group', 'R0'], ['err', 'vpm_state']),
  call(0x46, 'vcpu_set_priority', ['vcpu', 'priority']),
  call(0x47, 'vcpu_set_timeslice', ['vcpu', 'timeslice_ns']),
  create(0x48, 'virtio_mmio'),
  call(0x49, 'virtio_mmio_configure', ['virtio', 'memextent', 'vqs_num', 'flags', 'device_type']),
  bindVirq(0x4a, 'virtio_mmio_backend_bind_virq', 'virtio'),
  unbindVirq(0x4b, 'virtio_mmio_backend_unbind_virq', 'virtio'),
  bindVirq(0x4c, 'virtio_mmio_frontend_bind_virq', 'virtio'),
  unbindVirq(0x4d, 'virtio_mmio_frontend_unbind_virq', 'virtio'),
  call(0x4e, 'virtio_mmio_backend_assert_virq', ['virtio', 'int_status', 'R0']),
  call(0x4f, 'virtio_mmio_backend_set_dev_features', ['virtio', 'sel', 'features', 'R0']),
  call(0x50, 'virtio_mmio_backend_set_queue_num_max', ['virtio', 'sel', 'num_max', 'R0']),
  call(0x51, 'virtio_mmio_backend_get_drv_features', ['virtio', 'sel', 'R0'], ['err', 'features']),
  call(0x52, 'virtio_mmio_backend_get_queue_info', ['virtio', 'sel', 'R0'], ['err', 'num', 'ready', 'desc', 'driver', 'device']),
  call(0x53, 'virtio_mmio_backend_get_notification', ['virtio', 'R0'], ['err', 'vqs_bitmap', 'reason']),
  call(0x54, 'virtio_mmio_backend_acknowledge_reset', ['virtio', 'R0']),
  call(0x55, 'virtio_mmio_backend_update_status', ['virtio', 'status', 'R0']),
  call(0x56, 'vic_bind_msi_source', ['vic', 'msi_source', 'R0']),
  call(0x57, 'prng_get_entropy', ['num_bytes', 'R0'], ['err', 'data0', 'data1', 'data2', 'data3']),
  call(0x59, 'cspace_revoke_caps_from', ['cspace', 'master_cap', 'R0']),
  call(0x5a, 'addrspace_lookup', ['addrspace', 'memextent', 'vbase', 'size', 'R0'], ['err', 'offset', 'size', 'map_attrs']),
  call(0x5b, 'addrspace_configure_info_area', ['addrspace', 'info_memextent', 'ipa', 'R0']),
  call(0x5c, 'vcpu_bind_virq', ['vcpu', 'vic', 'virq_info', 'virq_type', 'R0']),
  call(0x5d, 'vcpu_unbind_virq', ['vcpu', 'virq_type', 'R0']),
  call(0x5e, 'virtio_input_configure', ['virtio', 'devids', 'prop_bits', 'num_evtypes', 'num_absaxes', 'R0']),
  call(0x5f, 'virtio_input_set_data', ['virtio', 'sel', 'subsel', 'size', 'data_va', 'R0']),
  call(0x60, 'addrspace_configure_vmmio', ['addrspace', 'base', 'size', 'op', 'R0']),
  call(0x61, 'memextent_donate', ['options', 'from_cap', 'to_cap', 'offset', 'size', 'R0']),
  call(0x62, 'addrspace_attach_vdevice', ['addrspace', 'vdevice', 'index', 'base', 'size', 'flags']),
  call(0x64, 'vcpu_register_write', ['vcpu', 'reg_set', 'index', 'value', 'R0']),
  call(0x65, 'vcpu_run', ['vcpu', 'resume0', 'resume1', 'resume2', 'R0'], ['err', 'state', 'data0', 'data1', 'data2']),
  call(0x66, 'vpm_group_configure', ['vpm_group', 'flags', 'R0']),
  call(0x67, 'vgic_set_mpidr_mapping', ['vic', 'mask', 'aff0_shift', 'aff1_shift', 'aff2_shift', 'aff3_shift', 'mt']),
  call(0x68, 'vcpu_run_check', ['vcpu', 'R0'], ['err', 'state', 'data0', 'data1', 'data2']),
] as const satisfies readonly HypercallSpec[];

export type HypercallName = (typeof HYPERCALLS)[number]['name'];

/** Call number by name, e.g. `HC.msgqueue_send === 0x1b`. */
export const HC = Object.fromEntries(HYPERCALLS.map((c) => [c.name, c.n])) as Record<HypercallName, number>;

/** Highest call number plus one: the size of the dispatch table. */
export const HYPERCALL_TABLE_SIZE = 0x69;

/**
 * prng_get_entropy (spec §1.3 0x57): 1-16 bytes in whole 32-bit words (else ARGUMENT_SIZE / ARGUMENT_ALIGNMENT);
 * each vCPU may read READS_PER_WINDOW times per WINDOW_MS, then ERROR_BUSY (the hypervisor's DoS limit).
 */
export const PRNG_ENTROPY = { MAX_BYTES: 16, WORD_BYTES: 4, WINDOW_MS: 33, READS_PER_WINDOW: 4 } as const;

/** trace_update_class_flags: class bits; ERROR is internal (hypercalls cannot change it) and on at boot. */
export const TRACE_CLASS = { ERROR: 0, DEBUG: 1 } as const;
