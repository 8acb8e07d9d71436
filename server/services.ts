// What the control plane serves: the services the daemon hands to buildApp, and the decorators routes reach them
// through (`app.hyp`, `app.agent`, `app.events`). Layers that arrive later (HLOS facade, sysfs tree, metrics
// registry) add an optional member here and a decorator in app.ts.
import type { Hypervisor } from '../core/hyp/hypervisor.js';
import type { EventHub } from './events.js';
import type { VmStateName } from './schemas/operation.js';
import type { VmAgent } from './vm-agent.js';

export interface Services {
  readonly hyp: Hypervisor;
  /**
   * The RM's view of a VM's status (spec §9.5), or undefined for an unknown VMID. Without it, a VM the
   * hypervisor knows counts as being in a state where its objects exist.
   */
  readonly vmStatus?: (vmid: number) => VmStateName | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    hyp: Hypervisor;
    agent: VmAgent;
    events: EventHub;
    services: Services;
    /** Aborted when the server starts closing. */
    closing: AbortSignal;
  }
}
