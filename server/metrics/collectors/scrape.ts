// One scrape's view of the hypervisor: the VMs, message queues and doorbells that exist when the scrape starts, with
// their label strings built once for all the families that name them, and which VM holds each end of a queue or a
// doorbell. Collectors yield between objects, so an object destroyed meanwhile is still read once (its counters
// stay valid); one created meanwhile waits for the next scrape.
import { right } from '../../../core/abi/objects.js';
import { VMID } from '../../../core/abi/vmid.js';
import type { HypObject } from '../../../core/hyp/object.js';
import { Doorbell } from '../../../core/ipc/doorbell.js';
import { Msgqueue } from '../../../core/ipc/msgqueue.js';
import type { Vm } from '../../../core/vm/vm.js';
import { labelValue } from '../exposition.js';
import type { MetricFamily } from '../families.js';
import type { TelemetrySources } from '../sources.js';

/** The VMIDs holding the two ends of a queue or doorbell, as label values ('' when no VM holds that end). */
export interface Ends {
  readonly sender: string;
  readonly receiver: string;
}

const SEND = { msgqueue: right('msgqueue', 'send'), doorbell: right('doorbell', 'send') } as const;
const RECEIVE = { msgqueue: right('msgqueue', 'receive'), doorbell: right('doorbell', 'receive') } as const;
const NO_ENDS: Ends = { sender: '', receiver: '' };

/** A VM as the scrape lists it: in the hypervisor, or so far only in the RM's records (`vm` null). */
export interface ScrapeVm {
  readonly vmid: number;
  readonly name: string;
  readonly vm: Vm | null;
}

export class Scrape {
  /** The hypervisor's VMs and the RM's records, by VMID. */
  readonly vms: readonly ScrapeVm[];
  /** `vmid="<n>"` of each VM, by position in `vms`. */
  readonly vmLabels: readonly string[];
  readonly msgqs: readonly Msgqueue[];
  /** `msgq="<id>"` by position in `msgqs`. */
  readonly msgqLabels: readonly string[];
  readonly doorbells: readonly Doorbell[];
  readonly doorbellLabels: readonly string[];
  private endsIndex: Map<HypObject, Ends> | null = null;

  constructor(readonly sources: TelemetrySources) {
    const hyp = sources.hyp;
    const vms = new Map<number, ScrapeVm>();
    for (const vm of hyp.vms.values()) vms.set(vm.vmid, { vmid: vm.vmid, name: vm.name, vm });
    for (const r of sources.rm?.vms() ?? []) if (!vms.has(r.vmid)) vms.set(r.vmid, { vmid: r.vmid, name: r.name, vm: null });
    this.vms = [...vms.values()].sort((a, b) => a.vmid - b.vmid);
    this.vmLabels = this.vms.map((vm) => `vmid="${vm.vmid}"`);
    const msgqs: Msgqueue[] = [];
    const doorbells: Doorbell[] = [];
    for (const o of hyp.objects.values()) {
      if (o instanceof Msgqueue) msgqs.push(o);
      else if (o instanceof Doorbell) doorbells.push(o);
    }
    this.msgqs = msgqs;
    this.msgqLabels = msgqs.map((q) => `msgq="${q.id}"`);
    this.doorbells = doorbells;
    this.doorbellLabels = doorbells.map((d) => `doorbell="${d.id}"`);
  }

  /**
   * The VMs holding the send and the receive right of a queue or doorbell. A VM holding only that end's right wins
   * over one holding both, because the creator (the RM for the queues of spec §4.5) keeps full rights while it
   * hands each end to one VM; among equals the lowest VMID wins, so labels do not flap between scrapes.
   */
  ends(object: Msgqueue | Doorbell): Ends {
    this.endsIndex ??= this.indexEnds();
    return this.endsIndex.get(object) ?? NO_ENDS;
  }

  private indexEnds(): Map<HypObject, Ends> {
    const holders = new Map<HypObject, { send: Holder; receive: Holder }>();
    for (const { vm } of this.vms) {
      if (vm === null) continue;
      for (const cap of vm.cspace.caps()) {
        const type = cap.object.type;
        if ((type !== 'msgqueue' && type !== 'doorbell') || cap.revoked) continue;
        let h = holders.get(cap.object);
        if (h === undefined) holders.set(cap.object, (h = { send: new Holder(), receive: new Holder() }));
        const send = (cap.rights & SEND[type]) !== 0;
        const receive = (cap.rights & RECEIVE[type]) !== 0;
        if (send) h.send.offer(vm.vmid, !receive);
        if (receive) h.receive.offer(vm.vmid, !send);
      }
    }
    const index = new Map<HypObject, Ends>();
    for (const [object, h] of holders) index.set(object, { sender: h.send.label(), receiver: h.receive.label() });
    return index;
  }
}

/** The best holder of one end so far: an exclusive holder beats a shared one, then the lowest VMID. */
class Holder {
  private vmid: number = VMID.INVALID;
  private exclusive = false;

  offer(vmid: number, exclusive: boolean): void {
    if (this.vmid === VMID.INVALID || (exclusive && !this.exclusive) || (exclusive === this.exclusive && vmid < this.vmid)) {
      this.vmid = vmid;
      this.exclusive = exclusive;
    }
  }

  label(): string {
    return this.vmid === VMID.INVALID ? '' : String(this.vmid);
  }
}

/** The family's HELP and TYPE lines. */
export function header(w: { family(name: string, type: MetricFamily['type'], help: string): void }, f: MetricFamily): void {
  w.family(f.name, f.type, f.help);
}

/**
 * The label value of an enumerated label: the value itself when the catalogue lists it, else `fallback`
 * (UNKNOWN), so no input can grow the label set.
 */
export function bounded(f: MetricFamily, label: string, value: string, fallback = 'UNKNOWN'): string {
  const values = f.values?.[label];
  return values === undefined || values.includes(value) ? labelValue(value) : fallback;
}
