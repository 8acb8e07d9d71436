// GET|PUT /v1/vms/{vmid}/memory/{ipa}: a VM's guest memory as raw bytes, as the VM itself sees it (its address
// space, spec §7.1). With the raw hypercall route it lets a client drive the real ABI, RM RPC included.
import type { FastifyInstance } from 'fastify';
import { parseHex } from '../hex.js';
import { hex64Schema, vmParams } from '../schemas/common.js';
import { operation, WITH_HYP_OBJECTS } from '../schemas/operation.js';

/** The most bytes one read or write moves. */
export const MAX_MEMORY_IO = 1 << 20;

const OCTETS = 'application/octet-stream';

const params = {
  ...vmParams,
  required: ['vmid', 'ipa'],
  properties: { ...vmParams.properties, ipa: hex64Schema('Guest-physical (intermediate physical) address.') },
} as const;

interface MemoryParams {
  vmid: number;
  ipa: string;
}

// Untyped: a parsed raw body is a Buffer, which no JSON type describes; OpenAPI 3.1 reads this as binary content.
const bytes = { content: { [OCTETS]: { schema: { contentMediaType: OCTETS } } } };

export default async function memoryRoutes(app: FastifyInstance) {
  // Raw bytes are the only body these routes take.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(OCTETS, { parseAs: 'buffer', bodyLimit: MAX_MEMORY_IO }, (_request, body, done) => done(null, body));

  app.get<{ Params: MemoryParams; Querystring: { length: number } }>('/v1/vms/:vmid/memory/:ipa', {
    schema: operation({
      operationId: 'readMemory',
      tag: 'abi',
      summary: 'Read guest memory',
      description: `Reads \`length\` bytes (at most ${MAX_MEMORY_IO}) at the IPA. Any unmapped or unreadable page in `
        + 'the range is 400 ERROR_ADDR_INVALID.',
      vmStates: WITH_HYP_OBJECTS,
      params,
      querystring: {
        type: 'object',
        required: ['length'],
        additionalProperties: false,
        properties: { length: { type: 'integer', minimum: 1, maximum: MAX_MEMORY_IO, description: 'Bytes to read.' } },
      },
      response: { 200: { description: 'The bytes.', ...bytes } },
    }),
  }, async (request, reply) => {
    const vm = app.agent.vm(request.params.vmid);
    const data = app.agent.readMemory(vm, parseHex(request.params.ipa), request.query.length);
    return reply.type(OCTETS).send(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });

  app.put<{ Params: MemoryParams; Body: Buffer | undefined }>('/v1/vms/:vmid/memory/:ipa', {
    bodyLimit: MAX_MEMORY_IO,
    schema: operation({
      operationId: 'writeMemory',
      tag: 'abi',
      summary: 'Write guest memory',
      description: `Writes the body (${OCTETS}, at most ${MAX_MEMORY_IO} bytes) at the IPA. Any unmapped or `
        + 'read-only page in the range is 400 ERROR_ADDR_INVALID, and then nothing is written.',
      vmStates: WITH_HYP_OBJECTS,
      change: true,
      params,
      body: bytes,
      response: { 204: { description: 'Written.', type: 'null' } },
    }),
  }, async (request, reply) => {
    const vm = app.agent.vm(request.params.vmid);
    app.agent.writeMemory(vm, parseHex(request.params.ipa), request.body ?? Buffer.alloc(0));
    return reply.code(204).send();
  });
}
