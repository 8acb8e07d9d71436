// The HLOS's secondary VMs as definitions (what to recreate them from), and their recreation through the HLOS over
// RM RPC (spec §9.7), never around the RM.
//
// VMIDs: a fixed VMID (below 64) is asked for again. Dynamic VMIDs are the RM's choice, the lowest free one
// (spec §13.1), so the definitions are recreated in VMID order, and a gap below a wanted VMID (a VM deleted before the
// save) is held by a placeholder VM_ALLOCATE while the next VM is allocated; the placeholders are deallocated at
// the end. They are RM records only (the HLOS lists no VM for them); the RM's event stream shows them come and go.
import { DYNAMIC_VMID } from '../abi/vmid.js';
import { VM_STATUS, type VmStatus } from '../abi/rm.js';
import type { Hlos } from '../hlos/hlos.js';
import { RmFailure } from '../hlos/rm-failure.js';
import { VmError, type VmRecord } from '../hlos/vm-manager.js';
import type { ResourceManager } from '../rm/resource-manager.js';
import { PersistError, type Lifecycle, type VmDefinition } from './format.js';

/** Statuses in which a VM counts as running: it comes back started. Any other comes back allocated, not started. */
const RUNNING: readonly VmStatus[] = [VM_STATUS.RUNNING, VM_STATUS.PAUSED];

export const lifecycleOf = (status: VmStatus): Lifecycle => (RUNNING.includes(status) ? 'running' : 'stopped');

export function vmDefinition(rec: VmRecord): VmDefinition {
  return {
    vmid: rec.vmid, fixed_vmid: rec.vmid < DYNAMIC_VMID.FIRST, name: rec.name, image: rec.image, vcpus: rec.vcpus,
    memory: rec.memorySize, params: rec.params, lifecycle: lifecycleOf(rec.status),
  };
}

/** Every secondary VM the HLOS manages, in VMID order. */
export function vmDefinitions(hlos: Hlos): VmDefinition[] {
  return hlos.vms.list().sort((a, b) => a.vmid - b.vmid).map(vmDefinition);
}

export interface RecreateHooks {
  /**
   * The VM was allocated (VM_ALLOCATE answered, nothing built or running yet; its console exists in the hub).
   * Runs synchronously inside the HLOS's event.
   */
  allocated?(def: VmDefinition, vmid: number): void;
  /**
   * The RM built the VM's objects and vdevices (VM_INIT, status READY); its vCPUs have not run yet. Runs
   * synchronously inside the RM's status event, so nothing the guest does comes before it.
   */
  ready?(def: VmDefinition, vmid: number): void;
}

export interface Recreated {
  readonly def: VmDefinition;
  /** The VMID the VM has now (the saved one unless the RM had it in use). */
  readonly vmid: number;
}

export interface RecreateResult {
  readonly vms: readonly Recreated[];
  /** What did not go as saved but did not stop the recreation (a VMID the RM gave differently, ...). */
  readonly warnings: string[];
}

export interface Emulator {
  readonly hlos: Hlos;
  readonly rm: ResourceManager;
}

/**
 * Recreate `defs` in their lifecycle state. Stops at the first VM that cannot be created: the answer names it (as
 * `vms[i]` of `source`) and why; the VMs made before it stay.
 */
export async function recreateVms(emu: Emulator, defs: readonly VmDefinition[], source: string, hooks: RecreateHooks = {}): Promise<RecreateResult | PersistError> {
  const { hlos, rm } = emu;
  const byName = new Map(defs.map((d) => [d.name, d]));
  const off = [
    hlos.vms.events.on('vm-created', (rec) => {
      const def = byName.get(rec.name);
      if (def !== undefined) hooks.allocated?.(def, rec.vmid);
    }),
    rm.events.on('vm-status', (e) => {
      if (e.status !== VM_STATUS.READY) return;
      const def = byName.get(hlos.vms.get(e.vmid)?.name ?? '');
      if (def !== undefined) hooks.ready?.(def, e.vmid);
    }),
  ];
  const placeholders: number[] = [];
  const done: Recreated[] = [];
  const warnings: string[] = [];
  try {
    // Fixed VMIDs first: they do not move the dynamic allocator.
    const order = [...defs].sort((a, b) => Number(b.fixed_vmid) - Number(a.fixed_vmid) || a.vmid - b.vmid);
    for (const def of order) {
      const field = `vms[${defs.indexOf(def)}]`;
      if (!def.fixed_vmid) {
        const held = await holdGaps(hlos, def.vmid, placeholders);
        if (held instanceof RmFailure) return new PersistError(source, field, `VM ${def.name}: VMID ${def.vmid} could not be kept free (${held.message})`);
      }
      const r = await hlos.createVm(
        { name: def.name, image: def.image, vcpus: def.vcpus, memory: def.memory, params: { ...def.params }, ...(def.fixed_vmid ? { vmid: def.vmid } : {}) },
        { start: def.lifecycle === 'running' },
      );
      if (r instanceof VmError) return new PersistError(source, field, `VM ${def.name} (image ${def.image}) could not be recreated: ${r.detail}`);
      done.push({ def, vmid: r.vmid });
      if (r.vmid !== def.vmid) warnings.push(`VM ${def.name} has VMID ${r.vmid}, not ${def.vmid} (the RM had it in use)`);
    }
    return { vms: done, warnings };
  } finally {
    for (const f of off) f();
    for (const vmid of placeholders) {
      const r = await hlos.rm.vmDeallocate(vmid);
      if (r instanceof RmFailure) warnings.push(`placeholder VMID ${vmid} could not be deallocated: ${r.message}`);
    }
  }
}

/**
 * Allocate placeholders for the free dynamic VMIDs below `wanted`, so VM_ALLOCATE(0) gives `wanted` next (spec
 * §13.1: lowest free first). A placeholder at or past `wanted` means the RM holds VMIDs the HLOS does not know of:
 * it is given back at once and the VM takes what the RM gives.
 */
async function holdGaps(hlos: Hlos, wanted: number, placeholders: number[]): Promise<void | RmFailure> {
  const taken = new Set([...hlos.vms.list().map((r) => r.vmid), ...placeholders]);
  for (let vmid = DYNAMIC_VMID.FIRST; vmid < wanted; vmid++) {
    if (taken.has(vmid)) continue;
    const got = await hlos.rm.vmAllocate(0);
    if (got instanceof RmFailure) return got;
    if (got >= wanted) {
      const back = await hlos.rm.vmDeallocate(got);
      return back instanceof RmFailure ? back : undefined;
    }
    placeholders.push(got);
    taken.add(got);
  }
}
