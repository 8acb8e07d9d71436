// Enforces what each VM route's `x-allowed-vm-states` documents: an unknown VMID is 404 VM_NOT_FOUND, a VM in
// another state 409 VM_STATE_CONFLICT, before the handler runs. The schema is the single declaration of both.
import type { FastifyInstance, FastifyRequest, preHandlerHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../problem.js';
import { ALLOWED_VM_STATES, type VmStateName } from '../schemas/operation.js';

function requireVmState(app: FastifyInstance, states: readonly VmStateName[]): preHandlerHookHandler {
  return (request: FastifyRequest, _reply, done) => {
    const { vmid } = request.params as { vmid: number };
    const { hlos } = app.services;
    // Without the HLOS there are no VM states, only VMs whose objects exist.
    const status = hlos ? hlos.statusOf(vmid) : app.hyp.vms.has(vmid) ? null : undefined;
    if (status === undefined) return done(ApiError.control('VM_NOT_FOUND', `no VM has VMID ${vmid}`));
    if (status !== null && !states.includes(status as VmStateName)) {
      return done(ApiError.control('VM_STATE_CONFLICT', `VM ${vmid} is ${status}; this needs one of: ${states.join(', ')}`));
    }
    done();
  };
}

export default fp(async function vmState(app: FastifyInstance) {
  app.addHook('onRoute', (route) => {
    const states = (route.schema as Record<string, unknown> | undefined)?.[ALLOWED_VM_STATES] as VmStateName[] | undefined;
    if (states === undefined) return;
    const existing = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    route.preHandler = [requireVmState(app, states), ...existing];
  });
}, { name: 'vm-state' });
