// What the control plane serves: the services the daemon hands to buildApp, and the decorators routes reach them
// through (`app.hyp`, `app.agent`, `app.events`). Layers that arrive later (HLOS facade, sysfs tree, metrics
// registry) add an optional member here and a decorator in app.ts.
import type { ConsoleHub } from '../core/hlos/console-hub.js';
import type { Hlos } from '../core/hlos/hlos.js';
import type { Hypervisor } from '../core/hyp/hypervisor.js';
import type { DirNode } from '../fs/tree.js';
import type { EventHub } from './events.js';
import type { MetricsRegistry } from './metrics/registry.js';
import type { VmAgent } from './vm-agent.js';

export interface Services {
  readonly hyp: Hypervisor;
  /**
   * The HLOS facade (VM views and lifecycle over RM RPC). Without it (a bare hypervisor), a VM the hypervisor
   * knows counts as being in a state where its objects exist, and no VM status events are published.
   */
  readonly hlos?: Hlos;
  /** The consoles of the HLOS's VMs (ring buffers, readers, input); without it the console routes are absent. */
  readonly consoles?: ConsoleHub;
  /** The sysfs tree, mirrored at /v1/sysfs/<path>. */
  readonly sysfs?: DirNode;
  /** The metrics registry served at /metrics. */
  readonly metrics?: MetricsRegistry;
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
