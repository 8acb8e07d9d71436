// gunyah/vms/<vmid>/capabilities/<capid>/: the capabilities in a VM's cspace (spec §1.4), named by capid as the
// VM itself would pass it (0x and 16 hex digits), with the object each one names and the rights it carries.
// Revoked capabilities are left out: the VM can no longer use them.
import { OBJECT_STATE_NAMES, objectTypeName, rightNames } from '../../core/abi/objects.js';
import type { Cap, CSpace } from '../../core/hyp/cspace.js';
import type { Hypervisor } from '../../core/hyp/hypervisor.js';
import type { HypObject } from '../../core/hyp/object.js';
import type { Addrspace } from '../../core/mem/addrspace.js';
import type { Vcpu } from '../../core/vm/vcpu.js';
import type { Vm } from '../../core/vm/vm.js';
import { dir, dynamicDir, value, type DirNode, type Node } from '../tree.js';
import { hex32, hex64 } from './format.js';

const CAPID_NAME = /^0x[0-9a-f]{16}$/;

/** Where the object has its own node, relative to `gunyah/`; undefined for objects without one (partition...). */
function objectPath(hyp: Hypervisor, o: HypObject): string | undefined {
  switch (o.type) {
    case 'msgqueue':
      return `msgqueues/${o.id}`;
    case 'doorbell':
      return `doorbells/${o.id}`;
    case 'thread': {
      const vcpu = o as Vcpu;
      return vcpu.vm === null ? undefined : `vms/${vcpu.vm.vmid}/vcpus/${vcpu.index}`;
    }
    case 'cspace':
    case 'addrspace': {
      const vmid = (o as CSpace | Addrspace).vmid;
      return hyp.vms.has(vmid) ? `vms/${vmid}` : undefined;
    }
    case 'vic':
      for (const vm of hyp.vms.values()) if (vm.vic === o) return `vms/${vm.vmid}`;
      return undefined;
    default:
      return undefined;
  }
}

function capabilityDir(hyp: Hypervisor, cap: Cap): DirNode {
  const o = cap.object;
  const children: Record<string, Node> = {
    type: value(() => objectTypeName(o.type)),
    rights: value(() => rightNames(o.type, cap.rights).join(' ')),
    rights_mask: value(() => hex32(cap.rights)),
    object_id: value(() => o.id),
    object_state: value(() => OBJECT_STATE_NAMES[o.state]),
  };
  // Like a sysfs link: present only when the object has a node to point at (an object never moves).
  const path = objectPath(hyp, o);
  if (path !== undefined) children.object = value(() => path);
  return dir(children);
}

export function capabilitiesDir(hyp: Hypervisor, vmOf: () => Vm | undefined): DirNode {
  return dynamicDir(
    function* () {
      const cspace = vmOf()?.cspace;
      if (cspace === undefined) return;
      for (const cap of cspace.caps()) if (!cap.revoked) yield hex64(cspace.capid(cap.slot));
    },
    (name) => {
      const cspace = vmOf()?.cspace;
      if (cspace === undefined || !CAPID_NAME.test(name)) return undefined;
      const capid = BigInt(name);
      const cap = cspace.capAt(Number(capid & 0xffffffffn), Number(capid >> 32n));
      return typeof cap === 'number' ? undefined : capabilityDir(hyp, cap);
    },
  );
}
