// GET /v1/hypervisor: the hypervisor's identity as the HLOS driver learns it (spec §2, §1.2).
import type { FastifyInstance } from 'fastify';
import { API_INFO, HYP_FEATURE, type HypFeature } from '../../core/abi/identify.js';
import { hex32 } from '../hex.js';
import { hex32Schema } from '../schemas/common.js';
import { operation } from '../schemas/operation.js';

const FEATURES = Object.keys(HYP_FEATURE) as HypFeature[];
// The route reads the flags from X1's low word only.
if (FEATURES.some((f) => HYP_FEATURE[f] >= 32)) throw new Error('GET /v1/hypervisor: a feature flag above bit 31');

const Hypervisor = {
  type: 'object',
  required: ['api_version', 'variant', 'is_64bit', 'big_endian', 'features', 'uid'],
  properties: {
    api_version: { type: 'integer', description: 'api_info bits 13:0 (spec §2.1); 1.' },
    variant: { type: 'integer', description: 'api_info bits 63:56: 81 (0x51) the open-source build, 72 (0x48) the other.' },
    is_64bit: { type: 'boolean' },
    big_endian: { type: 'boolean' },
    features: {
      type: 'array',
      items: { type: 'string', enum: FEATURES },
      description: 'The flags0 feature bits set (spec §2.2), by their api.tc names.',
    },
    uid: {
      type: 'array',
      items: hex32Schema('One word.'),
      minItems: 4,
      maxItems: 4,
      description: 'The VENDOR_HYP_CALL_UID answer, W0-W3 (spec §1.2, §15.1).',
    },
  },
} as const;

export default async function hypervisorRoutes(app: FastifyInstance) {
  app.get('/v1/hypervisor', {
    schema: operation({
      operationId: 'getHypervisor',
      tag: 'hypervisor',
      summary: 'Identify the hypervisor',
      description: 'Issues hypervisor_identify and VENDOR_HYP_CALL_UID on the primary VM\'s vCPU 0, as its driver '
        + 'does at probe, and decodes the answers.',
      response: { 200: { description: 'The hypervisor\'s identity.', ...Hypervisor } },
    }),
  }, async () => {
    // Decoded from 32-bit words: every field but the variant sits in the low word of X0 or X1.
    const { apiInfoLo, apiInfoHi, flags0Lo, uid } = app.agent.identify();
    const bit = (word: number, n: number) => ((word >>> n) & 1) === 1;
    return {
      api_version: apiInfoLo & API_INFO.VERSION_MASK,
      variant: apiInfoHi >>> (API_INFO.VARIANT_SHIFT - 32),
      is_64bit: bit(apiInfoLo, API_INFO.IS_64BIT_BIT),
      big_endian: bit(apiInfoLo, API_INFO.BIG_ENDIAN_BIT),
      features: FEATURES.filter((f) => bit(flags0Lo, HYP_FEATURE[f])),
      uid: uid.map(hex32),
    };
  });
}
