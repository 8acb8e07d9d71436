// What the collectors read, as small typed views. The hypervisor (its VMs, vCPUs and objects) is read directly; the
// RM, the HLOS driver, the consoles and the event stream are reached through these interfaces, which their objects
// satisfy (RpcStats) or a small adapter does (rm-source.ts), so a layer that is not running leaves its families
// empty. Every method is a read of a counter the owner keeps anyway: no allocation on
// their hot paths, nothing kept here.
import type { Hypervisor } from '../../core/hyp/hypervisor.js';

/** The RM's own view of one VM it manages (spec §9.5). */
export interface RmVmView {
  /** vm_status, numbered as VM_STATUS. */
  readonly status: number;
  /** os_status, numbered as OS_STATUS. */
  readonly osStatus: number;
  /** VM_STOP received since the VM was last started. */
  readonly stopRequested: boolean;
  /** The guest image the VM was configured with ('' for none). */
  readonly image: string;
}

/** The Resource Manager's counters (core/rm). Names are the catalogue's label values. */
export interface RmTelemetry {
  /** Every VM the RM has a record of, built in the hypervisor or not yet (allocated, or failed to initialise). */
  vms(): Iterable<{ readonly vmid: number; readonly name: string }>;
  /** Requests answered, by message name (RM_MSG key or UNKNOWN) and result (RM_OK, RM_ERROR_<NAME>); non-zero. */
  requests(): Iterable<readonly [message: string, result: string, count: number]>;
  /** Requests received from one VM, all messages. */
  vmRequests(vmid: number): number;
  /** Notifications sent, by notification name (RM_NOTIF key). */
  notifications(notification: string): number;
  /** Notifications held for one VM while its RM queue is full (spec §9.1). */
  pendingNotifications(vmid: number): number;
  /** The RM's record of a VM, or undefined for VMs it does not manage (itself). */
  vm(vmid: number): RmVmView | undefined;
}

/** The HLOS RM driver's counters (core/hlos/rpc-stats.ts RpcStats satisfies this). */
export interface RmClientTelemetry {
  /** Row labels: message names in RM_MSG order, then UNKNOWN. */
  readonly messages: readonly string[];
  /** Histogram bounds in seconds. */
  readonly buckets: readonly number[];
  /** Timeouts by row. */
  readonly timeouts: ArrayLike<number>;
  /** durationBuckets[row * (buckets.length + 1) + b]: replies in bucket b, not cumulative, +Inf last. */
  readonly durationBuckets: ArrayLike<number>;
  readonly durationSum: ArrayLike<number>;
  readonly durationCount: ArrayLike<number>;
}

/** Console bytes per VM as the RM moves them (spec §10.1; rm-source.ts). */
export interface ConsoleTraffic {
  /** Bytes the VM wrote and the RM delivered towards its owner. */
  bytesOut(vmid: number): number;
  /** Bytes the owner wrote and the RM delivered into the VM. */
  bytesIn(vmid: number): number;
}

/** The console streaming layer's readers per VM (core/hlos/console-hub.ts ConsoleHub satisfies this). */
export interface ConsoleReaders {
  /** Output bytes skipped by slow HTTP readers, summed over readers. */
  droppedBytes(vmid: number): number;
  /** HTTP and WebSocket readers now. */
  readers(vmid: number): number;
}

/** The event stream's publication counts (server/events.ts EventHub satisfies this). */
export interface EventTelemetry {
  /** Every event type the stream publishes: a closed set, each with a series from the start. */
  readonly types: readonly string[];
  /** Events published so far, by type. */
  readonly published: ReadonlyMap<string, number>;
}

/** Everything /metrics reads. The optional views may be set later, as the daemon brings the layers up. */
export interface TelemetrySources {
  readonly hyp: Hypervisor;
  rm?: RmTelemetry | undefined;
  hlosRpc?: RmClientTelemetry | undefined;
  consoleTraffic?: ConsoleTraffic | undefined;
  consoleReaders?: ConsoleReaders | undefined;
  events?: EventTelemetry | undefined;
}
