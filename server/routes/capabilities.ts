// GET /v1/vms/{vmid}/capabilities[/{capid}]: the capabilities in a VM's cspace and what each names (spec §1.4).
import type { FastifyInstance } from 'fastify';
import { parseHex } from '../hex.js';
import { ref, vmCapParams, vmParams, type VmCapParams, type VmParams } from '../schemas/common.js';
import { operation, WITH_HYP_OBJECTS } from '../schemas/operation.js';
import { capabilityView, capAt } from '../views.js';

export default async function capabilityRoutes(app: FastifyInstance) {
  app.get<{ Params: VmParams }>('/v1/vms/:vmid/capabilities', {
    schema: operation({
      operationId: 'listCapabilities',
      tag: 'capabilities',
      summary: 'List a VM\'s capabilities',
      description: 'Every capability in the VM\'s cspace, in slot order, with the type and rights spec §1.4 names and '
        + 'what it points at (for message queues and doorbells, the VMs at both ends).',
      vmStates: WITH_HYP_OBJECTS,
      params: vmParams,
      response: { 200: { description: 'The capabilities.', type: 'array', items: ref('Capability') } },
    }),
  }, async (request) => {
    const vm = app.agent.vm(request.params.vmid);
    return [...vm.cspace.caps()].map((cap) => capabilityView(cap, app.hyp));
  });

  app.get<{ Params: VmCapParams }>('/v1/vms/:vmid/capabilities/:capid', {
    schema: operation({
      operationId: 'getCapability',
      tag: 'capabilities',
      summary: 'Inspect one capability',
      description: 'One capability of the VM\'s cspace. A capid that does not decode in this cspace is 400 '
        + 'ERROR_ARGUMENT_INVALID; an empty slot 404 ERROR_CSPACE_CAP_NULL (the hypervisor\'s own answers).',
      vmStates: WITH_HYP_OBJECTS,
      params: vmCapParams,
      response: { 200: { description: 'The capability.', ...ref('Capability') } },
    }),
  }, async (request) => {
    const vm = app.agent.vm(request.params.vmid);
    return capabilityView(capAt(vm, parseHex(request.params.capid)), app.hyp);
  });
}
