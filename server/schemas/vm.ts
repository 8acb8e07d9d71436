// The VM resource (product brief, "REST API"): ready for the VM lifecycle routes that go through the HLOS driver.
import { OS_STATUS, VM_STATUS } from '../../core/abi/rm.js';
import { VM_NAME_MAX } from '../../core/abi/vmid.js';
import { hex64Schema } from './common.js';
import { VM_STATE_NAMES } from './operation.js';

/** The built-in guest images (product brief, "The emulated system"). */
export const GUEST_IMAGES = ['idle', 'console-echo', 'msgq-echo', 'doorbell-ping', 'traffic'] as const;

const OS_STATUS_NAMES = Object.keys(OS_STATUS).map((s) => s.toLowerCase());
const statusValues = (values: Record<string, number>) => Object.entries(values).map(([n, v]) => `${v} ${n.toLowerCase()}`).join(', ');

const name = { type: 'string', minLength: 1, maxLength: VM_NAME_MAX, description: `The VM's name (at most ${VM_NAME_MAX} bytes, spec §13.1).` } as const;

export const Vm = {
  $id: 'Vm',
  type: 'object',
  description: 'A virtual machine.',
  required: ['vmid', 'name', 'type', 'status', 'os_status', 'image', 'vcpus', 'memory'],
  properties: {
    vmid: { type: 'integer', description: 'The VMID (spec §13.1).' },
    name,
    type: { type: 'string', enum: ['rm', 'primary', 'secondary'] },
    status: { type: 'string', enum: VM_STATE_NAMES, description: 'vm_status (spec §9.5), lower case.' },
    os_status: { type: 'string', enum: OS_STATUS_NAMES, description: 'os_status (spec §9.5), lower case.' },
    image: { type: ['string', 'null'], description: 'The guest image the VM runs; null for the RM and the primary VM.' },
    vcpus: { type: 'integer', description: 'Number of vCPUs.' },
    memory: {
      type: 'object',
      required: ['base', 'size'],
      properties: { base: hex64Schema('Guest-physical base address of the VM\'s RAM.'), size: hex64Schema('RAM size in bytes.') },
    },
  },
} as const;

export const VmCreate = {
  $id: 'VmCreate',
  type: 'object',
  description: 'What POST /v1/vms needs to create a secondary VM.',
  required: ['name', 'image', 'vcpus'],
  additionalProperties: false,
  properties: {
    name,
    image: { type: 'string', enum: GUEST_IMAGES, description: 'The guest image to run.' },
    vcpus: { type: 'integer', minimum: 1, description: 'Number of vCPUs.' },
    params: {
      type: 'object',
      description: 'The image\'s parameters, e.g. {"rate": 200} for traffic (messages and doorbell rings per second).',
      additionalProperties: { anyOf: [{ type: 'number' }, { type: 'string' }, { type: 'boolean' }] },
      maxProperties: 16,
    },
  },
} as const;

export const VmState = {
  $id: 'VmState',
  type: 'object',
  description: 'A VM\'s state as the Resource Manager answers VM_GET_STATE (spec §9.4, §9.5): each status as its spec '
    + 'value and its name in lower case.',
  required: ['vmid', 'vm_status', 'vm_status_value', 'os_status', 'os_status_value', 'app_status'],
  properties: {
    vmid: { type: 'integer', description: 'The VMID asked about.' },
    vm_status: { type: 'string', enum: VM_STATE_NAMES, description: 'vm_status (spec §9.5), lower case.' },
    vm_status_value: { type: 'integer', minimum: 0, maximum: 0xff, description: `vm_status as the RM sends it: ${statusValues(VM_STATUS)}.` },
    os_status: { type: 'string', enum: OS_STATUS_NAMES, description: 'os_status (spec §9.5), lower case.' },
    os_status_value: { type: 'integer', minimum: 0, maximum: 0xff, description: `os_status as the RM sends it: ${statusValues(OS_STATUS)}.` },
    app_status: { type: 'integer', minimum: 0, maximum: 0xffff, description: 'app_status: what the guest last reported with VM_SET_STATUS.' },
  },
} as const;
