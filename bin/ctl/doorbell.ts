// gunyahctl doorbell ...: doorbells as the VM that holds the capability (spec §5; routes under
// /v1/vms/{vmid}/doorbells): list, inspect, ring (doorbell_send), receive (doorbell_receive), set masks.
import type { Command } from 'commander';
import type { DoorbellView } from '../../server/views.js';
import { ends } from './caps.js';
import { action, type Ctl } from './context.js';
import { fields, table } from './format.js';
import { hex64Arg } from './hex.js';

interface OldFlags {
  old_flags: string;
}

const virq = (d: DoorbellView) => (d.virq.bound ? `${d.virq.virq} (VM ${d.virq.vmid})` : 'unbound');

function doorbellFields(d: DoorbellView): string {
  return fields([
    ['capid', d.capid], ['object', d.object_id], ['rights', d.rights.join(',')], ['state', d.state],
    ['flags', d.flags], ['enable mask', d.enable_mask], ['ack mask', d.ack_mask], ['ends', ends(d)], ['vIRQ', virq(d)],
    ['sends', d.counters.sends], ['receives', d.counters.receives], ['asserts', d.counters.asserts],
  ]);
}

export function registerDoorbell(program: Command): void {
  const doorbell = program.command('doorbell').description('list, inspect, ring, receive and mask doorbells, as the VM holding the capability');
  const VM = ['<vm>', 'VMID (decimal or 0x hex) or VM name'] as const;
  const CAPID = ['<capid>', 'the capability ID in the VM\'s cspace (hex or decimal)', hex64Arg] as const;
  const base = async (ctl: Ctl, vmArg: string) => `/v1/vms/${await ctl.vmid(vmArg)}/doorbells`;

  doorbell.command('ls')
    .alias('list')
    .description('list the doorbells a VM holds capabilities to')
    .argument(...VM)
    .action(action(async (ctl, vmArg: string) => {
      const doorbells = await ctl.client.get<DoorbellView[]>(await base(ctl, vmArg));
      ctl.print(doorbells, () => table(
        ['CAPID', 'RIGHTS', 'STATE', 'FLAGS', 'ENABLE MASK', 'ACK MASK', 'ENDS', 'VIRQ', 'SENDS'],
        doorbells.map((d) => [d.capid, d.rights.join(','), d.state, d.flags, d.enable_mask, d.ack_mask, ends(d), virq(d), d.counters.sends]),
      ));
    }));

  doorbell.command('show')
    .description('show one doorbell: flags, masks, vIRQ and counters')
    .argument(...VM)
    .argument(...CAPID)
    .action(action(async (ctl, vmArg: string, capid: string) => {
      const d = await ctl.client.get<DoorbellView>(`${await base(ctl, vmArg)}/${capid}`);
      ctl.print(d, () => doorbellFields(d));
    }));

  doorbell.command('ring')
    .alias('send')
    .description('ring a doorbell: set flags (doorbell_send as the VM; needs the SEND right)')
    .argument(...VM)
    .argument(...CAPID)
    .argument('[flags]', 'the flags to set, hex or decimal (default: 0x1)', hex64Arg)
    .action(action(async (ctl, vmArg: string, capid: string, flags: string | undefined) => {
      const json = { flags: flags ?? hex64Arg('1') };
      const answer = await ctl.client.json<OldFlags>('POST', `${await base(ctl, vmArg)}/${capid}/send`, { json });
      ctl.print(answer, () => `rung; flags before: ${answer.old_flags}`);
    }));

  doorbell.command('recv')
    .alias('receive')
    .description('receive a doorbell: clear flags and print those that were set (doorbell_receive; needs the RECEIVE right)')
    .argument(...VM)
    .argument(...CAPID)
    .option('--clear <flags>', 'the flags to clear (default: all)', hex64Arg)
    .action(action(async (ctl, vmArg: string, capid: string, opts: { clear?: string }) => {
      const answer = await ctl.client.json<OldFlags>('POST', `${await base(ctl, vmArg)}/${capid}/receive`, {
        json: opts.clear === undefined ? {} : { clear_flags: opts.clear },
      });
      ctl.print(answer, () => answer.old_flags);
    }));

  doorbell.command('mask')
    .description('set which flags raise the vIRQ and which it clears (doorbell_mask; needs the RECEIVE right)')
    .argument(...VM)
    .argument(...CAPID)
    .requiredOption('--enable <mask>', 'flags that assert the vIRQ', hex64Arg)
    .requiredOption('--ack <mask>', 'flags cleared when the vIRQ is asserted', hex64Arg)
    .action(action(async (ctl, vmArg: string, capid: string, opts: { enable: string; ack: string }) => {
      const d = await ctl.client.json<DoorbellView>('PUT', `${await base(ctl, vmArg)}/${capid}/mask`, {
        json: { enable_mask: opts.enable, ack_mask: opts.ack },
      });
      ctl.print(d, () => doorbellFields(d));
    }));
}
