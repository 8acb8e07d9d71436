// The JSON shapes of the resources the API answers with: one named schema each in the OpenAPI components.
import { OBJECT_STATE_NAMES, OBJECT_TYPES, RIGHTS } from '../../core/abi/objects.js';
import { capabilityTypeName } from '../views.js';
import { hex32Schema, hex64Schema } from './common.js';

const vmids = (what: string) => ({ type: 'array', items: { type: 'integer' }, description: what });
const rightNamesAll = [...new Set(Object.values(RIGHTS).flatMap((r) => Object.keys(r))), 'activate'];
const rights = {
  type: 'array',
  items: { type: 'string', enum: rightNamesAll },
  description: 'The rights of the capability, named as spec §1.4 names them for its object type; ACTIVATE last.',
};
const objectState = { type: 'string', enum: [...OBJECT_STATE_NAMES], description: 'The object\'s lifecycle state (spec §1.4).' };
const virq = {
  type: 'object',
  required: ['bound'],
  properties: {
    bound: { type: 'boolean' },
    virq: { type: 'integer', description: 'The vIRQ number, when bound.' },
    vmid: { type: 'integer', description: 'The VM whose vIC it is bound to.' },
  },
};

export const Capability = {
  $id: 'Capability',
  type: 'object',
  description: 'A capability in a VM\'s cspace and the object it names.',
  required: ['capid', 'type', 'rights', 'rights_mask', 'object_id', 'object_state', 'revoked'],
  properties: {
    capid: hex64Schema('The capability ID in the VM\'s cspace.'),
    type: { type: 'string', enum: OBJECT_TYPES.map(capabilityTypeName), description: 'The object type as spec §1.4 names it (a thread is a vcpu).' },
    rights,
    rights_mask: hex32Schema('The rights as a mask (bit 31: ACTIVATE).'),
    object_id: { type: 'integer', description: 'The object\'s emulator-wide id (as sysfs and metric labels name it).' },
    object_state: objectState,
    revoked: { type: 'boolean' },
    vmid: { type: 'integer', description: 'cspace, addrspace, vic, vcpu: the VM the object belongs to.' },
    vcpu_index: { type: 'integer', description: 'vcpu: its index in its VM.' },
    send_vmids: vmids('msgqueue, doorbell: the VMs holding a capability with the SEND right (the sending ends).'),
    receive_vmids: vmids('msgqueue, doorbell: the VMs holding a capability with the RECEIVE right (the receiving ends).'),
  },
} as const;

export const Msgqueue = {
  $id: 'Msgqueue',
  type: 'object',
  description: 'A message queue as seen through one VM\'s capability (spec §4).',
  required: [
    'capid', 'object_id', 'rights', 'state', 'depth', 'max_msg_size', 'count', 'notfull_threshold',
    'notempty_threshold', 'send_vmids', 'receive_vmids', 'send_virq', 'receive_virq', 'counters',
  ],
  properties: {
    capid: hex64Schema('The capability ID in the VM\'s cspace.'),
    object_id: { type: 'integer' },
    rights,
    state: objectState,
    depth: { type: 'integer', description: 'Messages the queue holds (0 until configured).' },
    max_msg_size: { type: 'integer', description: 'Largest message in bytes; a bigger send answers 413 ERROR_ARGUMENT_SIZE.' },
    count: { type: 'integer', description: 'Messages waiting now.' },
    notfull_threshold: { type: 'integer', description: 'The send vIRQ is pending while count <= this (spec §4.3).' },
    notempty_threshold: { type: 'integer', description: 'The receive vIRQ is pending while count >= this (spec §4.3).' },
    send_vmids: vmids('VMs holding the SEND right.'),
    receive_vmids: vmids('VMs holding the RECEIVE right.'),
    send_virq: virq,
    receive_virq: virq,
    counters: {
      type: 'object',
      required: ['sent', 'received', 'bytes_sent', 'bytes_received', 'full_events', 'full_rejects', 'flushes'],
      properties: {
        sent: { type: 'integer' },
        received: { type: 'integer' },
        bytes_sent: { type: 'integer' },
        bytes_received: { type: 'integer' },
        full_events: { type: 'integer', description: 'Times the queue became full.' },
        full_rejects: { type: 'integer', description: 'Sends refused with ERROR_MSGQUEUE_FULL.' },
        flushes: { type: 'integer' },
      },
    },
  },
} as const;

export const Doorbell = {
  $id: 'Doorbell',
  type: 'object',
  description: 'A doorbell as seen through one VM\'s capability (spec §5).',
  required: ['capid', 'object_id', 'rights', 'state', 'flags', 'enable_mask', 'ack_mask', 'send_vmids', 'receive_vmids', 'virq', 'counters'],
  properties: {
    capid: hex64Schema('The capability ID in the VM\'s cspace.'),
    object_id: { type: 'integer' },
    rights,
    state: objectState,
    flags: hex64Schema('The flags set now.'),
    enable_mask: hex64Schema('Flags that assert the vIRQ (all ones after reset).'),
    ack_mask: hex64Schema('Flags cleared when the vIRQ is asserted (zero after reset).'),
    send_vmids: vmids('VMs holding the SEND right.'),
    receive_vmids: vmids('VMs holding the RECEIVE right.'),
    virq,
    counters: {
      type: 'object',
      required: ['sends', 'receives', 'asserts'],
      properties: {
        sends: { type: 'integer' },
        receives: { type: 'integer' },
        asserts: { type: 'integer', description: 'Level asserts of the vIRQ (sends and masks that found enabled flags set).' },
      },
    },
  },
} as const;
