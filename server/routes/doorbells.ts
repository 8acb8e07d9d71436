// Doorbells (spec §5) as the VM that holds the capability: list, inspect, ring, receive, set masks. Each change is
// a doorbell_* hypercall on the VM's vCPU 0 (vm-agent.ts).
import type { FastifyInstance } from 'fastify';
import { hex64, parseHex } from '../hex.js';
import { hex64Schema, ref, vmCapParams, vmParams, type VmCapParams, type VmParams } from '../schemas/common.js';
import { operation, WITH_HYP_OBJECTS } from '../schemas/operation.js';
import { capAt, capsOfType, doorbellView } from '../views.js';

const flagsBody = (name: string, description: string, required = true) => ({
  type: 'object',
  required: required ? [name] : [],
  additionalProperties: false,
  properties: { [name]: hex64Schema(description) },
});

const OldFlags = {
  type: 'object',
  required: ['old_flags'],
  properties: { old_flags: hex64Schema('The flags before the call.') },
} as const;

const ALL_FLAGS = '0xffffffffffffffff';

export default async function doorbellRoutes(app: FastifyInstance) {
  const capid = (params: VmCapParams) => parseHex(params.capid);

  app.get<{ Params: VmParams }>('/v1/vms/:vmid/doorbells', {
    schema: operation({
      operationId: 'listDoorbells',
      tag: 'doorbells',
      summary: 'List a VM\'s doorbells',
      description: 'The doorbells the VM holds a capability to, with flags, masks and counters.',
      vmStates: WITH_HYP_OBJECTS,
      params: vmParams,
      response: { 200: { description: 'The doorbells.', type: 'array', items: ref('Doorbell') } },
    }),
  }, async (request) => {
    const vm = app.agent.vm(request.params.vmid);
    return capsOfType(vm, 'doorbell').map((cap) => doorbellView(cap, app.hyp));
  });

  app.get<{ Params: VmCapParams }>('/v1/vms/:vmid/doorbells/:capid', {
    schema: operation({
      operationId: 'getDoorbell',
      tag: 'doorbells',
      summary: 'Inspect a doorbell',
      description: 'One doorbell, through the VM\'s capability to it.',
      vmStates: WITH_HYP_OBJECTS,
      params: vmCapParams,
      response: { 200: { description: 'The doorbell.', ...ref('Doorbell') } },
    }),
  }, async (request) => {
    const vm = app.agent.vm(request.params.vmid);
    return doorbellView(capAt(vm, capid(request.params), 'doorbell'), app.hyp);
  });

  app.post<{ Params: VmCapParams; Body: { flags: string } }>('/v1/vms/:vmid/doorbells/:capid/send', {
    schema: operation({
      operationId: 'sendDoorbell',
      tag: 'doorbells',
      summary: 'Ring a doorbell',
      description: 'doorbell_send as the VM (SEND right): flags |= `flags`; with enabled flags set the vIRQ is asserted '
        + 'and the ack-masked flags cleared (spec §5).',
      vmStates: WITH_HYP_OBJECTS,
      change: true,
      params: vmCapParams,
      body: flagsBody('flags', 'The flags to set.'),
      response: { 200: { description: 'Rung.', ...OldFlags } },
      problems: [403],
    }),
  }, async (request) => {
    const vm = app.agent.vm(request.params.vmid);
    return { old_flags: hex64(app.agent.doorbellSend(vm, capid(request.params), parseHex(request.body.flags))) };
  });

  app.post<{ Params: VmCapParams; Body: { clear_flags?: string } }>('/v1/vms/:vmid/doorbells/:capid/receive', {
    schema: operation({
      operationId: 'receiveDoorbell',
      tag: 'doorbells',
      summary: 'Receive (clear) doorbell flags',
      description: 'doorbell_receive as the VM (RECEIVE right): flags &= ~`clear_flags` (all flags when omitted); '
        + 'answers the flags that were set. clear_flags 0 is 400 ERROR_ARGUMENT_INVALID (spec §5).',
      vmStates: WITH_HYP_OBJECTS,
      change: true,
      params: vmCapParams,
      body: flagsBody('clear_flags', `The flags to clear; default ${ALL_FLAGS}.`, false),
      response: { 200: { description: 'Received.', ...OldFlags } },
      problems: [403],
    }),
  }, async (request) => {
    const vm = app.agent.vm(request.params.vmid);
    const clear = parseHex(request.body.clear_flags ?? ALL_FLAGS);
    return { old_flags: hex64(app.agent.doorbellReceive(vm, capid(request.params), clear)) };
  });

  app.put<{ Params: VmCapParams; Body: { enable_mask: string; ack_mask: string } }>('/v1/vms/:vmid/doorbells/:capid/mask', {
    schema: operation({
      operationId: 'maskDoorbell',
      tag: 'doorbells',
      summary: 'Set a doorbell\'s masks',
      description: 'doorbell_mask as the VM (RECEIVE right): which flags raise the vIRQ, and which are cleared '
        + 'automatically when it is raised (spec §5). Answers the doorbell afterwards.',
      vmStates: WITH_HYP_OBJECTS,
      change: true,
      params: vmCapParams,
      body: {
        type: 'object',
        required: ['enable_mask', 'ack_mask'],
        additionalProperties: false,
        properties: {
          enable_mask: hex64Schema('Flags that assert the vIRQ.'),
          ack_mask: hex64Schema('Flags cleared when the vIRQ is asserted.'),
        },
      },
      response: { 200: { description: 'The doorbell with its new masks.', ...ref('Doorbell') } },
      problems: [403],
    }),
  }, async (request) => {
    const vm = app.agent.vm(request.params.vmid);
    const id = capid(request.params);
    app.agent.doorbellMask(vm, id, parseHex(request.body.enable_mask), parseHex(request.body.ack_mask));
    return doorbellView(capAt(vm, id, 'doorbell'), app.hyp);
  });
}
