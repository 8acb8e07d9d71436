// gunyahctl hypervisor: the hypervisor's identity as the primary VM's driver learns it (GET /v1/hypervisor).
import type { Command } from 'commander';
import { action } from './context.js';
import { fields } from './format.js';

interface Hypervisor {
  api_version: number;
  variant: number;
  is_64bit: boolean;
  big_endian: boolean;
  features: string[];
  uid: string[];
}

export function registerHypervisor(program: Command): void {
  program.command('hypervisor')
    .description('identify the hypervisor: API version, variant, features and UID')
    .action(action(async (ctl) => {
      const h = await ctl.client.get<Hypervisor>('/v1/hypervisor');
      ctl.print(h, () => fields([
        ['api version', h.api_version], ['variant', `0x${h.variant.toString(16)}`], ['64-bit', h.is_64bit],
        ['big endian', h.big_endian], ['features', h.features.join(', ')], ['uid', h.uid.join(' ')],
      ]));
    }));
}
