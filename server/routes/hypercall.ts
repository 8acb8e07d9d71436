// POST /v1/vms/{vmid}/hypercall: one raw hypercall as vCPU 0 of the VM, X0-X7 out (spec §1.1-§1.3). The call's
// own error is part of the answer, never a problem: the client asked for exactly this call.
import type { FastifyInstance } from 'fastify';
import { REGISTER_COUNT } from '../../core/hyp/regs.js';
import { hex64, parseHex } from '../hex.js';
import { hex32Schema, hex64Schema, vmParams, type VmParams } from '../schemas/common.js';
import { operation, WITH_HYP_OBJECTS } from '../schemas/operation.js';

interface HypercallBody {
  convention: 'smccc' | 'native';
  function_id?: string;
  imm?: string;
  args: string[];
}

/** SMCCC passes X1..X7 after the function ID in X0; the native convention X0..X7. */
const SMCCC_ARGS = REGISTER_COUNT - 1;

const body = {
  type: 'object',
  additionalProperties: false,
  properties: {
    convention: { type: 'string', enum: ['smccc', 'native'], default: 'smccc', description: 'smccc: hvc #0 with the function ID in W0; native: hvc #imm.' },
    function_id: hex32Schema('SMCCC: the function ID, e.g. 0xc6008000 | n for hypercall n.'),
    imm: { type: 'string', pattern: '^0x[0-9a-fA-F]{1,4}$', description: 'native: the HVC immediate, 0x6000 + n for hypercall n.' },
    args: { type: 'array', items: hex64Schema('One argument register.'), default: [], description: `SMCCC: X1..X${SMCCC_ARGS}; native: X0..X${REGISTER_COUNT - 1}.` },
  },
  if: { required: ['convention'], properties: { convention: { const: 'native' } } },
  then: { required: ['imm'], properties: { imm: true, function_id: false, args: { type: 'array', maxItems: REGISTER_COUNT } } },
  else: { required: ['function_id'], properties: { function_id: true, imm: false, args: { type: 'array', maxItems: SMCCC_ARGS } } },
} as const;

const Result = {
  type: 'object',
  required: ['call', 'x', 'error'],
  properties: {
    call: { type: ['string', 'null'], description: 'The call that ran (msgqueue_send, VENDOR_HYP_CALL_UID, ...); null when unknown.' },
    x: { type: 'array', items: hex64Schema('One result register.'), minItems: REGISTER_COUNT, maxItems: REGISTER_COUNT, description: 'X0-X7 after the call.' },
    error: {
      type: ['string', 'null'],
      description: 'X0 as a Gunyah error name (OK, ERROR_...) for calls that return one, ERROR_UNIMPLEMENTED for unknown calls; null when X0 is a value (hypervisor_identify, SMCCC services).',
    },
  },
} as const;

export default async function hypercallRoutes(app: FastifyInstance) {
  app.post<{ Params: VmParams; Body: HypercallBody }>('/v1/vms/:vmid/hypercall', {
    schema: operation({
      operationId: 'runHypercall',
      tag: 'abi',
      summary: 'Run one raw hypercall',
      description: 'Runs one hypercall as vCPU 0 of the VM and answers its registers. Buffers are guest-physical '
        + 'addresses in the VM\'s memory (see the memory routes). The vCPU\'s registers are restored afterwards.',
      vmStates: WITH_HYP_OBJECTS,
      change: true,
      params: vmParams,
      body,
      response: { 200: { description: 'The call ran; its result is in the registers.', ...Result } },
    }),
  }, async (request) => {
    const { convention, function_id, imm, args } = request.body;
    const vm = app.agent.vm(request.params.vmid);
    const result = app.agent.raw(vm, {
      convention,
      functionId: function_id === undefined ? undefined : Number(parseHex(function_id)),
      imm: imm === undefined ? undefined : Number(parseHex(imm)),
      args: args.map(parseHex),
    });
    return { call: result.call, x: result.x.map(hex64), error: result.error };
  });
}
