// Enforces what each VM route's `x-allowed-vm-states` documents: an unknown VMID is 404 VM_NOT_FOUND, a VM in
// another state 409 VM_STATE_CONFLICT, before the handler runs. The schema is the single declaration of both.
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError } from '../problem.js';
import { ALLOWED_VM_STATES, type VmStateName } from '../schemas/operation.js';

/** Why the VM a request names cannot take it: 404 without the VM, 409 in another state; null when it can. */
function vmStateProblem(app: FastifyInstance, states: readonly VmStateName[], request: FastifyRequest): ApiError | null {
  const { vmid } = request.params as { vmid: number };
  const { hlos } = app.services;
  // Without the HLOS there are no VM states, only VMs whose objects exist.
  const status = hlos ? hlos.statusOf(vmid) : app.hyp.vms.has(vmid) ? null : undefined;
  if (status === undefined) return ApiError.control('VM_NOT_FOUND', `no VM has VMID ${vmid}`);
  if (status !== null && !states.includes(status as VmStateName)) {
    return ApiError.control('VM_STATE_CONFLICT', `VM ${vmid} is ${status}; this needs one of: ${states.join(', ')}`);
  }
  return null;
}

export default fp(async function vmState(app: FastifyInstance) {
  app.addHook('onRoute', (route) => {
    const states = (route.schema as Record<string, unknown> | undefined)?.[ALLOWED_VM_STATES] as VmStateName[] | undefined;
    if (states === undefined) return;
    if (route.websocket === true) {
      // Refused before the upgrade, ahead of the route's own preHandler (@fastify/websocket owns the handler).
      const existing = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
      const check: preHandlerHookHandler = (request, _reply, done) => done(vmStateProblem(app, states, request) ?? undefined);
      route.preHandler = [check, ...existing];
      return;
    }
    // Other routes check in front of their handler rather than in a preHandler hook: Fastify's hook runner costs
    // about as much as the check itself on every request (perf), and a handler's throw is answered the same way.
    const handler = route.handler;
    route.handler = function checkVmState(this: FastifyInstance, request: FastifyRequest, reply: FastifyReply) {
      const problem = vmStateProblem(app, states, request);
      if (problem !== null) throw problem;
      return handler.call(this, request, reply);
    };
  });
}, { name: 'vm-state' });
