// gunyahctl caps VM: the capabilities in a VM's cspace (GET /v1/vms/{vmid}/capabilities, spec §1.4).
import type { Command } from 'commander';
import type { CapabilityView } from '../../server/views.js';
import { action } from './context.js';
import { fields, table } from './format.js';
import { hex64Arg } from './hex.js';

/** Message queue and doorbell ends as "senders -> receivers". */
export const ends = (v: { send_vmids?: number[]; receive_vmids?: number[] }): string | undefined =>
  v.send_vmids === undefined ? undefined : `${v.send_vmids.join(',') || '-'} -> ${v.receive_vmids?.join(',') || '-'}`;

/** What a capability points at, in a few words. */
function target(cap: CapabilityView): string | undefined {
  if (cap.vcpu_index !== undefined) return `VM ${cap.vmid} vCPU ${cap.vcpu_index}`;
  if (cap.vmid !== undefined) return `VM ${cap.vmid}`;
  return ends(cap);
}

export function registerCaps(program: Command): void {
  program.command('caps')
    .description('list the capabilities in a VM\'s cspace, with rights and what each points at (or show one)')
    .argument('<vm>', 'VMID (decimal or 0x hex) or VM name')
    .argument('[capid]', 'one capability ID (hex or decimal)', hex64Arg)
    .action(action(async (ctl, vmArg: string, capid: string | undefined) => {
      const path = `/v1/vms/${await ctl.vmid(vmArg)}/capabilities`;
      if (capid !== undefined) {
        const c = await ctl.client.get<CapabilityView>(`${path}/${capid}`);
        ctl.print(c, () => fields([
          ['capid', c.capid], ['type', c.type], ['rights', `${c.rights.join(', ')} (${c.rights_mask})`],
          ['object', c.object_id], ['object state', c.object_state], ['revoked', c.revoked], ['target', target(c)],
        ]));
        return;
      }
      const caps = await ctl.client.get<CapabilityView[]>(path);
      ctl.print(caps, () => table(
        // Rights last: a vCPU's list is long.
        ['CAPID', 'TYPE', 'STATE', 'OBJECT', 'TARGET', 'RIGHTS'],
        caps.map((c) => [c.capid, c.type, c.revoked ? 'revoked' : c.object_state, c.object_id, target(c), c.rights.join(',')]),
      ));
    }));
}
