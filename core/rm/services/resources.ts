// VM_GET_HYP_RESOURCES (spec §9.6, R-RES): the hypervisor objects a VM uses, each with a capid in the
// *requester's* cspace. The owner of a VM gets its vCPUs (type VIRTUAL_CPU, label = vCPU index) for proxy
// scheduling, copied into its cspace on the first request and the same ones after, and its ends of the VM's
// vdevices; the VM asking about itself gets its own ends of them.
import { allRights } from '../../abi/objects.js';
import { HYP_RESOURCE_TYPE, RM_ERROR, RM_MSG } from '../../abi/rm.js';
import { VMID } from '../../abi/vmid.js';
import { RmHypercallError } from '../guest-interface.js';
import { isRmError, VmGetHypResourcesReply, VmidRequest, type HypResource } from '../messages.js';
import type { ResourceManager, RpcRequest, Service, ServiceResult } from '../resource-manager.js';
import type { RmVm } from '../rm-vm.js';

/** The target's vCPU caps in the requester's cspace, copied once per requester. */
function vcpuCaps(rm: ResourceManager, rvm: RmVm, requester: RmVm): bigint[] | RmHypercallError {
  const known = rvm.grantedVcpus.get(requester.vmid);
  if (known !== undefined) return known;
  const into = requester.caps?.cspace;
  if (into === undefined || rvm.caps === null) return [];
  const caps: bigint[] = [];
  for (const vcpu of rvm.caps.vcpus) {
    const copy = rm.gi.copyCap(rm.caps.cspace, vcpu, into, allRights('thread'));
    if (copy instanceof RmHypercallError) {
      for (const made of caps) rm.gi.deleteCap(into, made);
      return copy;
    }
    caps.push(copy);
  }
  rvm.grantedVcpus.set(requester.vmid, caps);
  return caps;
}

const entry = (type: number, partnerVmid: number, label: number, capid: bigint, virq = 0): HypResource => ({
  type, partnerVmid, resourceHandle: 0, resourceLabel: label, capid, virqHandle: 0, virq, base: 0n, size: 0n,
});

/** vmid 0 = self. Unknown: VMID_INVALID; only the VM and its owner may ask (DENIED). */
function getHypResources({ rm, client, payload }: RpcRequest): ServiceResult {
  const req = VmidRequest.decode(payload);
  if (isRmError(req)) return req;
  const rvm = rm.lookup(req.vmid === VMID.SELF ? client.vmid : req.vmid);
  if (rvm === undefined) return RM_ERROR.VMID_INVALID;
  if (rvm !== client && rvm.owner !== client.vmid) return RM_ERROR.DENIED;
  const entries: HypResource[] = [];
  if (rvm !== client) {
    const caps = vcpuCaps(rm, rvm, client);
    if (caps instanceof RmHypercallError) return RM_ERROR.NORESOURCE;
    caps.forEach((capid, index) => entries.push(entry(HYP_RESOURCE_TYPE.VIRTUAL_CPU, rvm.vmid, index, capid)));
  }
  entries.push(...(rvm.vdevices?.resources.get(client.vmid) ?? []));
  return VmGetHypResourcesReply.encode({ entries }) as Uint8Array;
}

export const resourceServices: ReadonlyMap<number, Service> = new Map([
  [RM_MSG.VM_GET_HYP_RESOURCES, getHypResources],
]);
