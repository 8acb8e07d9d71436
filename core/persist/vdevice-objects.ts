// The hypervisor objects behind a VM's vdevices (core/rm/vdevices.ts), found through the capabilities the HLOS holds
// to them (its VM_GET_HYP_RESOURCES entries, spec §9.6), and named by a key that survives a restart: the VM, the
// direction and the label. Capids and object ids are not stable: a fresh daemon hands out others.
import { HYP_RESOURCE_TYPE } from '../abi/rm.js';
import { VMID } from '../abi/vmid.js';
import type { HypResource } from '../hlos/rm-calls.js';
import type { Hypervisor } from '../hyp/hypervisor.js';
import type { HypObject } from '../hyp/object.js';
import type { Doorbell } from '../ipc/doorbell.js';
import type { Msgqueue } from '../ipc/msgqueue.js';
import type { Direction, VdeviceKey } from './format.js';

export interface VdeviceObjects {
  readonly msgqs: readonly { readonly key: VdeviceKey; readonly q: Msgqueue }[];
  readonly doorbells: readonly { readonly key: VdeviceKey; readonly db: Doorbell }[];
}

/** The HLOS's end of each resource: it sends on owner-to-vm queues and rings owner-to-vm doorbells. */
const MSGQ_DIRECTION = new Map<number, Direction>([
  [HYP_RESOURCE_TYPE.MSG_QUEUE_SEND, 'owner-to-vm'],
  [HYP_RESOURCE_TYPE.MSG_QUEUE_RECV, 'vm-to-owner'],
]);
const DOORBELL_DIRECTION = new Map<number, Direction>([
  [HYP_RESOURCE_TYPE.DOORBELL_SRC, 'owner-to-vm'],
  [HYP_RESOURCE_TYPE.DOORBELL, 'vm-to-owner'],
]);

/**
 * The queues and doorbells between VM `vmid` and the HLOS, from the HLOS's resource entries for that VM. An entry
 * whose capability no longer names a live object of its type is left out (the VM is being torn down).
 */
export function vdeviceObjects(hyp: Hypervisor, vmid: number, hlosResources: readonly HypResource[]): VdeviceObjects {
  const cspace = hyp.vms.get(VMID.HLOS)?.cspace;
  const msgqs: { key: VdeviceKey; q: Msgqueue }[] = [];
  const doorbells: { key: VdeviceKey; db: Doorbell }[] = [];
  if (cspace === undefined) return { msgqs, doorbells };
  const find = <T extends HypObject>(capid: bigint, type: 'msgqueue' | 'doorbell'): T | null => {
    const o = cspace.lookup<T>(Number(capid & 0xffff_ffffn), Number(capid >> 32n), type, 0);
    return typeof o === 'number' ? null : o;
  };
  for (const r of hlosResources) {
    if (r.partnerVmid !== vmid) continue;
    const key = (direction: Direction): VdeviceKey => ({ vmid, direction, label: r.resourceLabel });
    const qDirection = MSGQ_DIRECTION.get(r.type);
    const dbDirection = DOORBELL_DIRECTION.get(r.type);
    if (qDirection !== undefined) {
      const q = find<Msgqueue>(r.capid, 'msgqueue');
      if (q !== null) msgqs.push({ key: key(qDirection), q });
    } else if (dbDirection !== undefined) {
      const db = find<Doorbell>(r.capid, 'doorbell');
      if (db !== null) doorbells.push({ key: key(dbDirection), db });
    }
  }
  return { msgqs, doorbells };
}

export const sameKey = (a: VdeviceKey, b: VdeviceKey): boolean =>
  a.vmid === b.vmid && a.direction === b.direction && a.label === b.label;
