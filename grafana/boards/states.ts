// Value mappings of the state gauges (spec §9.5 for VMs; the catalogue's encoding for vCPUs), shared by the boards.

import { OS_STATUS, VM_STATUS } from '../../core/abi/rm.js';
import { VCPU_STATE } from '../../server/metrics/families.js';
import { stateMappings } from '../panels.js';

export const VM_STATUS_MAPPINGS = stateMappings(VM_STATUS, {
  RUNNING: 'green',
  PAUSED: 'yellow',
  INIT_FAILED: 'red',
  EXITED: 'red',
  RESETTING: 'orange',
  RESET: 'orange',
});

export const OS_STATUS_MAPPINGS = stateMappings(OS_STATUS, {
  RUN: 'green',
  SHUTDOWN: 'orange',
  HALTED: 'orange',
  CRASHED: 'red',
});

export const VCPU_STATE_MAPPINGS = stateMappings(VCPU_STATE, {
  powered_off: 'text',
  ready: 'yellow',
  running: 'green',
  expects_wakeup: 'blue',
  blocked: 'orange',
  fault: 'red',
});
