// VMs and vCPUs (spec §6, §9.5): identity from the hypervisor, lifecycle from the RM's records, vCPU state, run
// time and wakeups from the scheduler's fields on each vCPU.
import { VMID } from '../../../core/abi/vmid.js';
import { VCPU_STATE_NAMES, type Vcpu } from '../../../core/vm/vcpu.js';
import { labelValue, type ExpositionWriter } from '../exposition.js';
import { FAMILY, VCPU_STATE, type MetricFamily } from '../families.js';
import type { RmVmView } from '../sources.js';
import { header, type Scrape } from './scrape.js';

const INFO = FAMILY.gunyah_vm_info;
const MEMORY = FAMILY.gunyah_vm_memory_bytes;
const VMS = FAMILY.gunyah_vms;

/** spec §13.1: the RM is VMID 0xFF, the HLOS (primary VM) VMID 3, every other VM a secondary. */
const vmType = (vmid: number): string => (vmid === VMID.RM ? 'rm' : vmid === VMID.HLOS ? 'primary' : 'secondary');

export function* vmCollector(w: ExpositionWriter, s: Scrape): Generator<void> {
  const { vms, vmLabels } = s;
  header(w, INFO);
  for (let i = 0; i < vms.length; i++) {
    const vm = vms[i]!;
    const image = labelValue(s.sources.rm?.vm(vm.vmid)?.image ?? '');
    w.sample(INFO.name, `${vmLabels[i]},name="${labelValue(vm.name)}",type="${vmType(vm.vmid)}",image="${image}"`, 1);
    yield;
  }
  yield* lifecycle(w, s, FAMILY.gunyah_vm_status, (v) => v.status);
  yield* lifecycle(w, s, FAMILY.gunyah_vm_os_status, (v) => v.osStatus);
  yield* lifecycle(w, s, FAMILY.gunyah_vm_stop_requested, (v) => (v.stopRequested ? 1 : 0));
  header(w, MEMORY);
  for (let i = 0; i < vms.length; i++) {
    let bytes = 0;
    for (const region of vms[i]!.vm?.memory.ramRegions ?? []) bytes += region.size;
    w.sample(MEMORY.name, vmLabels[i]!, bytes);
    yield;
  }
  header(w, VMS);
  w.sample(VMS.name, '', vms.length);
  yield;
  yield* perVcpu(w, s, FAMILY.gunyah_vcpu_state, vcpuState);
  yield* perVcpu(w, s, FAMILY.gunyah_vcpu_run_seconds_total, (vcpu) => vcpu.stats.runNs / 1e9);
  yield* perVcpu(w, s, FAMILY.gunyah_vcpu_wakeups_total, (vcpu) => vcpu.stats.wakeups);
}

/** A lifecycle gauge for each VM the RM has a record of (not the RM itself). */
function* lifecycle(w: ExpositionWriter, s: Scrape, family: MetricFamily, read: (view: RmVmView) => number): Generator<void> {
  header(w, family);
  const rm = s.sources.rm;
  if (rm === undefined) return;
  for (let i = 0; i < s.vms.length; i++) {
    const view = rm.vm(s.vms[i]!.vmid);
    if (view !== undefined) w.sample(family.name, s.vmLabels[i]!, read(view));
    yield;
  }
}

/** The scheduler's state as the catalogue numbers it (by name: the core's numbering is its own). */
const vcpuState = (vcpu: Vcpu): number => VCPU_STATE[VCPU_STATE_NAMES[vcpu.schedState]];

/** A scheduler figure for every vCPU of every VM. */
function* perVcpu(w: ExpositionWriter, s: Scrape, family: MetricFamily, read: (vcpu: Vcpu) => number): Generator<void> {
  header(w, family);
  for (let i = 0; i < s.vms.length; i++) {
    for (const vcpu of s.vms[i]!.vm?.vcpus ?? []) w.sample(family.name, `${s.vmLabels[i]},vcpu="${vcpu.index}"`, read(vcpu));
    yield;
  }
}
