// gunyah/vms/<vmid>/vcpus/<index>/: a VM's vCPUs (thread objects, spec §6.1) with the scheduler's view of each:
// its state, configuration and what it has run.
import type { Vm } from '../../core/vm/vm.js';
import { VCPU_STATE_NAMES, type Vcpu } from '../../core/vm/vcpu.js';
import { dir, dynamicDir, value, type DirNode } from '../tree.js';
import { decimalName } from './format.js';

function vcpuDir(vcpu: Vcpu): DirNode {
  return dir({
    state: value(() => VCPU_STATE_NAMES[vcpu.schedState]),
    priority: value(() => vcpu.priority),
    timeslice_ns: value(() => vcpu.timesliceNs),
    // The emulated pCPU, or -1 (CPU_INDEX_INVALID): runs only when a slice is donated (vcpu_run, directed yield).
    affinity: value(() => vcpu.affinity),
    run_time_ns: value(() => Math.floor(vcpu.stats.runNs)),
    wakeups: value(() => vcpu.stats.wakeups),
    resumptions: value(() => vcpu.stats.resumptions),
    hypercalls: value(() => vcpu.hypercalls),
    object_id: value(() => vcpu.id),
  });
}

/** The vCPUs of the VM `vmOf` returns now (none while the VM is not built in the hypervisor). */
export function vcpusDir(vmOf: () => Vm | undefined): DirNode {
  return dynamicDir(
    () => (vmOf()?.vcpus ?? []).map((v) => v.index),
    (name) => {
      const index = decimalName(name);
      const vcpu = index === undefined ? undefined : vmOf()?.vcpus[index];
      return vcpu === undefined ? undefined : vcpuDir(vcpu);
    },
  );
}
