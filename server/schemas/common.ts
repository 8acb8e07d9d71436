// Schemas every resource uses: hex numbers, path parameters and the problem document. Registered once at the root
// (app.ts) so each has one name in the OpenAPI components.
import { CONTROL_PROBLEMS } from '../problem.js';

const HEX64_PATTERN = '^0x[0-9a-fA-F]{1,16}$';
const HEX32_PATTERN = '^0x[0-9a-fA-F]{1,8}$';

/** A 64-bit value as hex text: `0x` and up to 16 digits in requests, always 16 lower-case digits in answers. */
export const hex64Schema = (description: string) =>
  ({ type: 'string', pattern: HEX64_PATTERN, description, examples: ['0x0000000000000001'] }) as const;

/** A 32-bit value as hex text: `0x` and up to 8 digits in requests, always 8 lower-case digits in answers. */
export const hex32Schema = (description: string) =>
  ({ type: 'string', pattern: HEX32_PATTERN, description, examples: ['0xc6008000'] }) as const;

const vmidSchema = {
  type: 'integer',
  minimum: 0,
  maximum: 0xffff,
  description: 'A VMID in decimal (spec §13.1): 3 the primary VM, 255 the Resource Manager, 128-191 dynamic VMs.',
  examples: [128],
} as const;


export const Problem = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details, served as application/problem+json.',
  required: ['type', 'title', 'status', 'detail', 'instance', 'code'],
  properties: {
    type: { type: 'string', description: 'A URI naming the kind of problem: urn:gunyah-emu:problem:<code>.' },
    title: { type: 'string', description: 'A short summary of the kind of problem.' },
    status: { type: 'integer', description: 'The HTTP status.' },
    detail: { type: 'string', description: 'What went wrong with this request.' },
    instance: { type: 'string', description: 'The request path.' },
    code: {
      type: 'string',
      description: 'Stable machine-readable code: a Gunyah error name (ERROR_MSGQUEUE_FULL), an RM error name '
        + `(RM_ERROR_VM_STATE) or a control-plane code (${Object.keys(CONTROL_PROBLEMS).join(', ')}).`,
    },
    field: { type: 'string', description: 'For validation errors: JSON pointer to the first field at fault, e.g. /body/vcpus.' },
    errors: {
      type: 'array',
      description: 'For validation errors: every field at fault.',
      items: {
        type: 'object',
        required: ['field', 'message'],
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
} as const;



export const ref = (id: string) => ({ $ref: `${id}#` }) as const;

/** Path parameters of every /v1/vms/{vmid} route. */
export const vmParams = {
  type: 'object',
  required: ['vmid'],
  additionalProperties: false,
  properties: { vmid: vmidSchema },
} as const;

/** Path parameters of routes about one capability of a VM. */
export const vmCapParams = {
  type: 'object',
  required: ['vmid', 'capid'],
  additionalProperties: false,
  properties: {
    vmid: vmidSchema,
    capid: hex64Schema('A capability ID in the VM\'s own cspace (spec §1.4).'),
  },
} as const;

export interface VmParams {
  vmid: number;
}

export interface VmCapParams extends VmParams {
  capid: string;
}
