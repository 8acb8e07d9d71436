// gunyah/vms/<vmid>/: every VM the emulator knows, by decimal VMID. The HLOS's view (the REST API's VM object) is
// read first, then the RM's record (VMs other VMs allocated), then the hypervisor's (VMs built without the RM), so
// each node reads from the layer that owns the fact. `control` starts, stops and resets a VM the HLOS manages,
// through its VM manager over RM RPC (spec §9.7), as a REST call would.
import { OS_STATUS, VM_STATUS } from '../../core/abi/rm.js';
import type { Device } from '../../core/hlos/device.js';
import type { VmType } from '../../core/hlos/hlos.js';
import { osStatusName, statusName, VmError, type VmRecord } from '../../core/hlos/vm-manager.js';
import type { Vm } from '../../core/vm/vm.js';
import { dir, dynamicDir, invalid, rwFile, value, type DirNode, type FsError, type Node } from '../tree.js';
import { capabilitiesDir } from './capabilities.js';
import { decimalName, hex64, written } from './format.js';
import { vcpusDir } from './vcpus.js';

/** What the tree reads of a device: its hypervisor, its RM and its HLOS. */
export type SysfsDevice = Pick<Device, 'hyp' | 'system' | 'hlos'>;

/** One VM's facts now, from the layer that owns each. */
interface VmFacts {
  readonly name: string;
  readonly type: VmType;
  readonly status: string;
  readonly osStatus: string;
  /** The VM that allocated it (the RM's record), or null when the RM has no record. */
  readonly owner: number | null;
  readonly image: string | null;
  readonly memory: { readonly base: number; readonly size: number } | null;
  /** The hypervisor's VM, while built. */
  readonly vm: Vm | undefined;
}

function vmFacts(dev: SysfsDevice, vmid: number): VmFacts | undefined {
  const view = dev.hlos.getVm(vmid);
  const record = dev.system.rm.lookup(vmid);
  const vm = dev.hyp.vms.get(vmid);
  const owner = record?.owner ?? null;
  if (view !== undefined) {
    return { name: view.name, type: view.type, status: view.status, osStatus: view.os_status, owner, image: view.image, memory: view.memory, vm };
  }
  if (record === undefined && vm === undefined) return undefined;
  const ram = vm?.memory.ramRegions[0];
  return {
    name: record?.name ?? vm!.name,
    type: 'secondary',
    status: statusName(record?.status ?? VM_STATUS.NO_STATE),
    osStatus: osStatusName(record?.osStatus ?? OS_STATUS.NONE),
    owner,
    image: record?.imageName || null,
    memory: ram ? { base: ram.base, size: ram.size } : null,
    vm,
  };
}

function vmids(dev: SysfsDevice): number[] {
  const all = new Set<number>([...dev.hyp.vms.keys(), ...dev.system.rm.vms.keys()]);
  for (const view of dev.hlos.listVms()) all.add(view.vmid);
  return [...all].sort((a, b) => a - b);
}

// ---- control: one operation at a time, started by a write and reported by a read.

const CONTROL_OPS = ['start', 'stop', 'reset'] as const;
type ControlOp = (typeof CONTROL_OPS)[number];

/** The last operation written to each VM's control node, keyed by the HLOS's record (a new VM starts with none). */
type LastOps = WeakMap<VmRecord, { op: ControlOp; outcome: string }>;

function controlNode(dev: SysfsDevice, vmid: number, lastOps: LastOps): Node {
  const run: Record<ControlOp, () => Promise<unknown>> = {
    start: () => dev.hlos.startVm(vmid),
    stop: () => dev.hlos.stopVm(vmid),
    reset: () => dev.hlos.resetVm(vmid),
  };
  return rwFile(
    () => {
      const rec = dev.hlos.vms.get(vmid);
      const last = rec === undefined ? undefined : lastOps.get(rec);
      return last === undefined ? 'none\n' : `${last.op} ${last.outcome}\n`;
    },
    (text): FsError | void => {
      const op = written(text) as ControlOp;
      if (!CONTROL_OPS.includes(op)) return invalid(`write one of ${CONTROL_OPS.join(', ')}; got ${JSON.stringify(written(text))}`);
      const rec = dev.hlos.vms.get(vmid);
      if (rec === undefined) return invalid(`VM ${vmid} is no longer managed by the HLOS`);
      const pending = lastOps.get(rec);
      if (pending?.outcome === 'pending') return { error: 'EBUSY', reason: `${pending.op} of VM ${vmid} is still in progress` };
      // A sysfs store is synchronous: start the RM sequence and return; its outcome is what `control` reads next.
      const last = { op, outcome: 'pending' };
      lastOps.set(rec, last);
      run[op]().then(
        (r) => (last.outcome = r instanceof VmError ? `failed: ${r.detail}` : 'ok'),
        (err: unknown) => (last.outcome = `failed: ${err instanceof Error ? err.message : String(err)}`),
      );
    },
  );
}

// ---- the VM directory

function vmDir(dev: SysfsDevice, vmid: number, lastOps: LastOps): DirNode {
  const facts = (): VmFacts => {
    const f = vmFacts(dev, vmid);
    // Read through a handle or cache entry that outlived the VM: an I/O error naming why.
    if (f === undefined) throw new Error(`VM ${vmid} no longer exists`);
    return f;
  };
  const vmOf = () => dev.hyp.vms.get(vmid);
  const children: Record<string, Node> = {
    name: value(() => facts().name),
    type: value(() => facts().type),
    status: value(() => facts().status),
    os_status: value(() => facts().osStatus),
    owner: value(() => facts().owner ?? 'none'),
    image: value(() => facts().image ?? 'none'),
    memory_base: value(() => hex64(facts().memory?.base ?? 0)),
    memory_size: value(() => facts().memory?.size ?? 0),
    hypercalls: value(() => vmOf()?.hypercalls ?? 0),
    vcpus: vcpusDir(vmOf),
    capabilities: capabilitiesDir(dev.hyp, vmOf),
  };
  // Only the VMs the HLOS manages can be started and stopped by it (not the RM, not itself).
  if (dev.hlos.vms.get(vmid) !== undefined) children.control = controlNode(dev, vmid, lastOps);
  return dir(children);
}

export function vmsDir(dev: SysfsDevice): DirNode {
  const lastOps: LastOps = new WeakMap();
  return dynamicDir(
    () => vmids(dev),
    (name) => {
      const vmid = decimalName(name);
      return vmid === undefined || vmFacts(dev, vmid) === undefined ? undefined : vmDir(dev, vmid, lastOps);
    },
  );
}
