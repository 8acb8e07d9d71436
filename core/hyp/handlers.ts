// Every module's hypercall handlers, merged in one visible place. A call with no handler answers as an
// unknown call (ERROR_UNIMPLEMENTED), as the real hypervisor does for modules not built in.
import { msgqueueCalls } from '../ipc/msgqueue-calls.js';
import type { HandlerTable } from './handler.js';
import { identifyCalls } from './identify.js';
import { objectCalls } from './object-calls.js';

export const HANDLERS: HandlerTable = {
  ...identifyCalls,
  ...objectCalls,
  ...msgqueueCalls,
};
