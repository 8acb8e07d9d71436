// Hypercall handlers for partitions, object lifecycle and capability spaces (spec §1.3 0x01-0x0F, 0x22-0x25, 0x59).
import { GH_ERROR } from '../abi/errors.js';
import { allRights, right, RIGHT_ACTIVATE, type ObjectType } from '../abi/objects.js';
import type { Vcpu } from '../vm/vcpu.js';
import { CSpace, revokeChildren, type Cap } from './cspace.js';
import { argU32 } from './regs.js';
import type { Handler, HandlerTable } from './handler.js';
import type { Partition } from './partition.js';
import type { RegisterFile } from './regs.js';

/** Look up a cspace capability (argument k) in the caller's cspace. */
const cspaceArg = (vcpu: Vcpu, a: RegisterFile, k: number, rights: number) =>
  vcpu.vm!.cspace.lookup<CSpace>(a[2 * k]!, a[2 * k + 1]!, 'cspace', rights);

/** partition_create_*(partition, cspace, R0) -> new_cap with every right of the new type. */
function createIn(type: ObjectType): Handler {
  return (vcpu, a, out) => {
    const partition = vcpu.vm!.cspace.lookup<Partition>(a[0]!, a[1]!, 'partition', right('partition', 'object_create'));
    if (typeof partition === 'number') return partition;
    const cspace = cspaceArg(vcpu, a, 1, right('cspace', 'cap_create'));
    if (typeof cspace === 'number') return cspace;
    if (cspace.count >= cspace.maxCaps) return GH_ERROR.CSPACE_FULL;
    const object = vcpu.vm!.hyp.createObject(type);
    const cap = cspace.insert(object, allRights(type)) as Cap;
    out[2] = cspace.capidLo(cap.slot);
    out[3] = cspace.baseHi;
    return GH_ERROR.OK;
  };
}

/**
 * object_activate_from / object_reset_from take the cspace first (CAP_CREATE on it, as the hypervisor checks);
 * the plain forms use the caller's. The object needs ACTIVATE.
 */
function lifecycle(op: 'activate' | 'reset', from: boolean): Handler {
  return (vcpu, a) => {
    let cspace: CSpace | number = vcpu.vm!.cspace;
    if (from) cspace = cspaceArg(vcpu, a, 0, right('cspace', 'cap_create'));
    if (typeof cspace === 'number') return cspace;
    const k = from ? 1 : 0;
    const object = cspace.lookup(a[2 * k]!, a[2 * k + 1]!, null, RIGHT_ACTIVATE, false);
    if (typeof object === 'number') return object;
    return op === 'activate' ? object.activate() : object.reset();
  };
}

export const objectCalls: HandlerTable = {
  partition_create_partition: createIn('partition'),
  partition_create_cspace: createIn('cspace'),
  partition_create_addrspace: createIn('addrspace'),
  partition_create_memextent: createIn('memextent'),
  partition_create_thread: createIn('thread'),
  partition_create_doorbell: createIn('doorbell'),
  partition_create_msgqueue: createIn('msgqueue'),
  partition_create_vic: createIn('vic'),
  object_activate: lifecycle('activate', false),
  object_activate_from: lifecycle('activate', true),
  object_reset: lifecycle('reset', false),
  object_reset_from: lifecycle('reset', true),

  cspace_delete_cap_from(vcpu, a) {
    const cspace = cspaceArg(vcpu, a, 0, right('cspace', 'cap_delete'));
    if (typeof cspace === 'number') return cspace;
    return cspace.delete(a[2]!, a[3]!);
  },

  cspace_copy_cap_from(vcpu, a, out) {
    const src = cspaceArg(vcpu, a, 0, right('cspace', 'cap_copy'));
    if (typeof src === 'number') return src;
    const dst = cspaceArg(vcpu, a, 2, right('cspace', 'cap_create'));
    if (typeof dst === 'number') return dst;
    const mask = argU32(a, 3);
    if (mask < 0) return GH_ERROR.ARGUMENT_INVALID;
    const cap = src.capAt(a[2]!, a[3]!);
    if (typeof cap === 'number') return cap;
    const copy = dst.insert(cap.object, cap.rights & mask, cap);
    if (typeof copy === 'number') return copy;
    out[2] = dst.capidLo(copy.slot);
    out[3] = dst.baseHi;
    return GH_ERROR.OK;
  },

  cspace_revoke_caps_from(vcpu, a) {
    const cspace = cspaceArg(vcpu, a, 0, right('cspace', 'cap_revoke'));
    if (typeof cspace === 'number') return cspace;
    const master = cspace.capAt(a[2]!, a[3]!);
    if (typeof master === 'number') return master;
    revokeChildren(master);
    return GH_ERROR.OK;
  },

  cspace_configure(vcpu, a) {
    const cspace = vcpu.vm!.cspace.lookup<CSpace>(a[0]!, a[1]!, 'cspace', RIGHT_ACTIVATE, false);
    if (typeof cspace === 'number') return cspace;
    const maxCaps = argU32(a, 1);
    return maxCaps < 0 ? (GH_ERROR.ARGUMENT_INVALID as number) : cspace.configure(maxCaps);
  },
};
