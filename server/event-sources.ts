// Every source of the event stream, one entry each. To add one: list the event types it publishes and subscribe
// to its service, returning the unsubscribe function (or null when the service is absent).
import type { HlosEvents, VmView } from '../core/hlos/hlos.js';
import type { HypEvents } from '../core/hyp/hypervisor.js';
import type { EventSourceSpec, Publish } from './events.js';

/** A hypervisor event republished under `type` with the data `map` picks. */
function fromHypervisor<K extends keyof HypEvents>(
  event: K,
  types: readonly string[],
  map: (payload: HypEvents[K], publish: Publish) => void,
): EventSourceSpec {
  return {
    types,
    subscribe: ({ hyp }, publish) => hyp.events.on(event, (payload) => map(payload, publish)),
  };
}

/** An HLOS event republished as `type` (no subscription without the HLOS). */
function fromHlos<K extends keyof HlosEvents>(event: K, type: string, map: (payload: HlosEvents[K]) => Record<string, unknown>): EventSourceSpec {
  return {
    types: [type],
    subscribe: ({ hlos }, publish) => (hlos ? hlos.events.on(event, (payload) => publish(type, map(payload))) : null),
  };
}

const vmState = (v: VmView) => ({ vmid: v.vmid, name: v.name, status: v.status, os_status: v.os_status });

export const EVENT_SOURCES: readonly EventSourceSpec[] = [
  fromHypervisor('vm-created', ['vm-created'], (vm, publish) => publish('vm-created', { vmid: vm.vmid, name: vm.name })),
  fromHypervisor('vm-destroyed', ['vm-destroyed'], (vm, publish) => publish('vm-destroyed', { vmid: vm.vmid, name: vm.name })),
  // spec §4.3: a queue became full, or a full queue drained (the send vIRQ's "space available").
  fromHypervisor('msgq-transition', ['msgq-full', 'msgq-drain'], ({ msgq, what }, publish) =>
    publish(`msgq-${what}`, { msgq: msgq.id, depth: msgq.depth, count: msgq.count })),
  // spec §9.5: VM_STATUS notifications and the HLOS's own transitions; VM_EXITED with its exit type.
  fromHlos('vm-status', 'vm-status', vmState),
  fromHlos('vm-exited', 'vm-exited', (v) => ({ ...vmState(v), exit_type: v.exitType })),
];
