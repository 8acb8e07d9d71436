// gunyahctl vm ...: the VM lifecycle routes (product brief, "REST API": GET|POST /v1/vms, GET|DELETE
// /v1/vms/{vmid}, POST /v1/vms/{vmid}/start|stop|reset) and the RM's state query (GET /v1/vms/{vmid}/state). Each
// change goes through the RM on the daemon's side.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { GUEST_IMAGES } from '../../server/schemas/vm.js';
import { action, intArg, type Ctl, type Vm } from './context.js';
import { fields, table } from './format.js';

/** A byte count as the largest whole binary unit it fills: 4096 -> 4 KiB. */
function size(hex: string | undefined): string | undefined {
  if (hex === undefined) return undefined;
  let n = Number(BigInt(hex));
  for (const unit of ['B', 'KiB', 'MiB', 'GiB']) {
    if (n < 1024 || n % 1024 !== 0 || unit === 'GiB') return `${n} ${unit}`;
    n /= 1024;
  }
  return `${n} TiB`;
}

function vmTable(vms: readonly Vm[]): string {
  return table(
    ['VMID', 'NAME', 'TYPE', 'STATUS', 'OS STATUS', 'IMAGE', 'VCPUS', 'MEMORY'],
    vms.map((v) => [v.vmid, v.name, v.type, v.status, v.os_status, v.image, v.vcpus, size(v.memory?.size)]),
  );
}

/** A vCPU as GET /v1/vms/{vmid}/vcpus answers it (spec §6). */
interface Vcpu {
  index: number;
  state: string;
  priority: number;
  timeslice_ns: number;
  affinity: number;
  run_time_ns: number;
  wakeups: number;
  hypercalls: number;
}

/** The RM's answer to VM_GET_STATE as GET /v1/vms/{vmid}/state gives it (spec §9.5). */
interface VmState {
  vmid: number;
  vm_status: string;
  vm_status_value: number;
  os_status: string;
  os_status_value: number;
  app_status: number;
}

type ParamValue = number | string | boolean;

/** `--param key=value`, repeatable: numbers and true/false keep their JSON type, anything else is a string. */
function paramArg(value: string, previous: Record<string, ParamValue> = {}): Record<string, ParamValue> {
  const m = /^([^=]+)=(.*)$/s.exec(value);
  if (m === null) throw new InvalidArgumentError('expected key=value, e.g. rate=200.');
  const raw = m[2]!;
  const parsed = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return { ...previous, [m[1]!]: parsed };
}

function vmFields(v: Vm): string {
  return fields([
    ['vmid', v.vmid], ['name', v.name], ['type', v.type], ['status', v.status], ['os status', v.os_status],
    ['image', v.image], ['vcpus', v.vcpus], ['memory base', v.memory?.base], ['memory size', size(v.memory?.size)],
  ]);
}

/** POST /v1/vms/{vmid}/<what>, then the VM as it is afterwards. */
async function lifecycle(ctl: Ctl, what: 'start' | 'stop' | 'reset', vmArg: string): Promise<void> {
  const vmid = await ctl.vmid(vmArg);
  const answer = await ctl.client.json<Vm | undefined>('POST', `/v1/vms/${vmid}/${what}`);
  const vm = answer ?? (await ctl.client.get<Vm>(`/v1/vms/${vmid}`));
  ctl.print(vm, () => `VM ${vm.vmid} (${vm.name}): ${vm.status}, os ${vm.os_status}`);
}

export function registerVm(program: Command): void {
  const vm = program.command('vm').description('list, create, inspect, start, stop, reset and delete VMs');
  const VM = '<vm>';
  const VM_HELP = 'VMID (decimal or 0x hex) or VM name';

  vm.command('ls')
    .alias('list')
    .description('list the VMs (GET /v1/vms)')
    .action(action(async (ctl) => {
      const vms = await ctl.client.get<Vm[]>('/v1/vms');
      ctl.print(vms, () => vmTable(vms));
    }));

  vm.command('show')
    .description('show one VM (GET /v1/vms/{vmid})')
    .argument(VM, VM_HELP)
    .action(action(async (ctl, vmArg: string) => {
      const v = await ctl.client.get<Vm>(`/v1/vms/${await ctl.vmid(vmArg)}`);
      ctl.print(v, () => vmFields(v));
    }));

  vm.command('state')
    .description('ask the RM for a VM\'s state: VM_GET_STATE over RM RPC (GET /v1/vms/{vmid}/state)')
    .argument(VM, VM_HELP)
    .action(action(async (ctl, vmArg: string) => {
      const s = await ctl.client.get<VmState>(`/v1/vms/${await ctl.vmid(vmArg)}/state`);
      ctl.print(s, () => table(
        ['VMID', 'VM STATUS', 'OS STATUS', 'APP STATUS'],
        [[s.vmid, `${s.vm_status} (${s.vm_status_value})`, `${s.os_status} (${s.os_status_value})`, s.app_status]],
      ));
    }));

  vm.command('create')
    .description('create a secondary VM through the RM (POST /v1/vms); it starts running its image')
    .argument('<name>', 'the new VM\'s name')
    .addOption(new Option('--image <image>', 'the guest image to run').choices(GUEST_IMAGES).makeOptionMandatory())
    .option('--vcpus <n>', 'number of vCPUs', intArg(1), 1)
    .option('--param <key=value>', 'an image parameter, e.g. rate=200 for traffic (repeatable)', paramArg)
    .action(action(async (ctl, name: string, opts: { image: string; vcpus: number; param?: Record<string, ParamValue> }) => {
      const json = { name, image: opts.image, vcpus: opts.vcpus, ...(opts.param === undefined ? {} : { params: opts.param }) };
      const created = await ctl.client.json<Vm>('POST', '/v1/vms', { json });
      ctl.print(created, () => vmFields(created));
    }));

  for (const [what, description] of [
    ['start', 'start a VM (POST /v1/vms/{vmid}/start)'],
    ['stop', 'stop a VM (POST /v1/vms/{vmid}/stop)'],
    ['reset', 'reset a stopped VM, releasing its resources (POST /v1/vms/{vmid}/reset)'],
  ] as const) {
    vm.command(what)
      .description(description)
      .argument(VM, VM_HELP)
      .action(action((ctl, vmArg: string) => lifecycle(ctl, what, vmArg)));
  }

  vm.command('vcpus')
    .description('list a VM\'s vCPUs: scheduling state, priority, run time, wake-ups and hypercalls (GET /v1/vms/{vmid}/vcpus)')
    .argument(VM, VM_HELP)
    .action(action(async (ctl, vmArg: string) => {
      const vcpus = await ctl.client.get<Vcpu[]>(`/v1/vms/${await ctl.vmid(vmArg)}/vcpus`);
      ctl.print(vcpus, () => table(
        ['VCPU', 'STATE', 'PRIORITY', 'TIMESLICE MS', 'AFFINITY', 'RUN TIME MS', 'WAKEUPS', 'HYPERCALLS'],
        vcpus.map((v) => [
          v.index, v.state, v.priority, v.timeslice_ns / 1e6, v.affinity < 0 ? null : v.affinity,
          Math.round(v.run_time_ns / 1e6), v.wakeups, v.hypercalls,
        ]),
      ));
    }));

  vm.command('rm')
    .alias('delete')
    .description('delete a VM (DELETE /v1/vms/{vmid})')
    .argument(VM, VM_HELP)
    .action(action(async (ctl, vmArg: string) => {
      const vmid = await ctl.vmid(vmArg);
      const answer = await ctl.client.json<unknown>('DELETE', `/v1/vms/${vmid}`);
      ctl.print(answer, () => `deleted VM ${vmid}`);
    }));
}
