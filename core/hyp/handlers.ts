// Every module's hypercall handlers, merged in one visible place. A call with no handler answers as an
// unknown call (ERROR_UNIMPLEMENTED), as the real hypervisor does for modules not built in.
import { doorbellCalls } from '../ipc/doorbell-calls.js';
import { msgqueueCalls } from '../ipc/msgqueue-calls.js';
import { memCalls } from '../mem/mem-calls.js';
import { vcpuCalls } from '../vm/vcpu-calls.js';
import { vicCalls } from '../vm/vic-calls.js';
import type { HandlerTable } from './handler.js';
import { identifyCalls } from './identify.js';
import { miscCalls } from './misc-calls.js';
import { objectCalls } from './object-calls.js';

export const HANDLERS: HandlerTable = {
  ...identifyCalls,
  ...objectCalls,
  ...msgqueueCalls,
  ...memCalls,
  ...doorbellCalls,
  ...vicCalls,
  ...vcpuCalls,
  ...miscCalls,
};
