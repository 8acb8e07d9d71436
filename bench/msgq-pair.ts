// The loop a guest driver runs to move one message: msgqueue_send of `size` bytes from its buffer at `ram`, then
// msgqueue_receive into its buffer at `ram + 0x1000`, both through the hypercall entry point with registers
// written directly (no allocation). Shared by the hypercall and telemetry benchmarks.
import { HC } from '../core/abi/hypercalls.js';
import { allRights } from '../core/abi/objects.js';
import { hypercallFunctionId } from '../core/abi/smccc.js';
import { hvc } from '../core/hyp/call.js';
import type { Hypervisor } from '../core/hyp/hypervisor.js';
import { setReg } from '../core/hyp/regs.js';
import type { Vm } from '../core/vm/vm.js';

/** A queue of depth 8 made by `vm`'s first vCPU, and a function running `inner` send+receive pairs on it. */
export function msgqPair(hyp: Hypervisor, vm: Vm, ram: number, size: number, inner: number): () => void {
  const vcpu = vm.vcpus[0]!;
  const regs = vcpu.regs;
  const part = vm.cspace.insert(hyp.root, allRights('partition'));
  const self = vm.cspace.insert(vm.cspace, allRights('cspace'));
  if (typeof part === 'number' || typeof self === 'number') throw new Error('msgqPair: cspace full');
  const q = hvc(vcpu, 'partition_create_msgqueue', [vm.cspace.capid(part.slot), vm.cspace.capid(self.slot), 0]).x[1]!;
  hvc(vcpu, 'msgqueue_configure', [q, (size << 16) | 8, 0]);
  hvc(vcpu, 'object_activate', [q, 0]);
  vm.memory.writeBytes(ram, new Uint8Array(size).fill(0x5a));
  vm.memory.writeBytes(ram + 0x1000, new Uint8Array(size));
  const sendId = hypercallFunctionId(HC.msgqueue_send);
  const recvId = hypercallFunctionId(HC.msgqueue_receive);
  setReg(regs, 1, q);
  const qLo = regs[2]!, qHi = regs[3]!;
  const pair = () => {
    for (let i = 0; i < inner; i++) {
      // X0 function ID, X1 msgq, X2 size, X3 buffer, X4 flags, X5 reserved (0).
      regs[0] = sendId; regs[1] = 0; regs[2] = qLo; regs[3] = qHi; regs[4] = size; regs[5] = 0;
      regs[6] = ram; regs[7] = 0; regs[8] = 0; regs[9] = 0; regs[10] = 0; regs[11] = 0;
      hyp.hypercall(vcpu, regs, 0);
      // X0 function ID, X1 msgq, X2 buffer, X3 buffer size, X4 reserved (0).
      regs[0] = recvId; regs[1] = 0; regs[2] = qLo; regs[3] = qHi; regs[4] = ram + 0x1000; regs[5] = 0;
      regs[6] = size; regs[7] = 0; regs[8] = 0; regs[9] = 0;
      hyp.hypercall(vcpu, regs, 0);
    }
  };
  pair();
  if (regs[0] !== 0 || regs[2] !== size) throw new Error(`msgqueue pair failed: X0=${regs[0]} X1=${regs[2]}`);
  return pair;
}
