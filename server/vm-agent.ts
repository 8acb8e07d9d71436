// The control plane acting as a VM: every message-queue and doorbell operation is a real hypercall on vCPU 0 of the
// VM that holds the capability, with its buffers in that VM's own memory, so the operation shows in the hypercall
// counters and obeys the VM's rights exactly as guest code would.
//
// Buffers live in a scratch page: the last page of the VM's highest RAM region. The agent borrows the page and
// vCPU 0's registers for the length of one synchronous call and puts both back, so a guest running on that vCPU
// sees neither.
import { GH_ERROR, ghErrorName } from '../core/abi/errors.js';
import { HC, type HypercallName } from '../core/abi/hypercalls.js';
import { PAGE_SIZE } from '../core/abi/memory.js';
import { MSGQ_SEND_FLAG } from '../core/abi/ipc.js';
import { right } from '../core/abi/objects.js';
import { CALL_UID_LAYOUTS, hypercallFunctionId, SMCCC_CALL } from '../core/abi/smccc.js';
import { VMID } from '../core/abi/vmid.js';
import { hvc, type CallResult } from '../core/hyp/call.js';
import type { Hypervisor } from '../core/hyp/hypervisor.js';
import { getReg, REGISTER_COUNT, setReg } from '../core/hyp/regs.js';
import type { Msgqueue } from '../core/ipc/msgqueue.js';
import type { Vcpu } from '../core/vm/vcpu.js';
import type { Vm } from '../core/vm/vm.js';
import { callErrorName, nativeCallInfo, smcccCallInfo } from './call-info.js';
import { hex64, words } from './hex.js';
import { ApiError } from './problem.js';
import { waitForAssert } from './virq-wait.js';

export interface RawCall {
  convention: 'smccc' | 'native';
  /** SMCCC: the function ID in W0. */
  functionId?: number;
  /** Native: the HVC immediate. */
  imm?: number;
  /** SMCCC: X1..X7; native: X0..X7. */
  args: readonly bigint[];
}

export interface RawResult {
  readonly call: string | null;
  readonly x: readonly bigint[];
  readonly error: string | null;
}

export interface Identity {
  /** hypervisor_identify X0 (spec §2.1) as its low and high words, and X1's low word (every flag of §2.2 is in it). */
  readonly apiInfoLo: number;
  readonly apiInfoHi: number;
  readonly flags0Lo: number;
  /** CALL_UID W0-W3. */
  readonly uid: readonly number[];
}

export interface Received {
  readonly bytes: Uint8Array;
  readonly notEmpty: boolean;
}


export class VmAgent {
  constructor(private readonly hyp: Hypervisor) {}

  /** The VM with this VMID, or a VM_NOT_FOUND problem. */
  vm(vmid: number): Vm {
    const vm = this.hyp.vms.get(vmid);
    if (vm === undefined) throw ApiError.control('VM_NOT_FOUND', `no VM has VMID ${vmid}`);
    return vm;
  }

  /**
   * hypervisor_identify and VENDOR_HYP_CALL_UID, issued as the HLOS's driver does at probe (spec §2, §1.2) on its
   * vCPU 0; the core's own values when there is no HLOS VM yet.
   */
  identify(): Identity {
    const hlos = this.hyp.vms.get(VMID.HLOS);
    if (hlos === undefined || hlos.vcpus.length === 0) {
      const w = this.hyp.identifyWords;
      return { apiInfoLo: w[0]!, apiInfoHi: w[1]!, flags0Lo: w[2]!, uid: [...CALL_UID_LAYOUTS[this.hyp.callUidLayout]] };
    }
    const vcpu = this.vcpu0(hlos);
    const regs = vcpu.regs;
    // Straight to the dispatcher with the registers in place: this is GET /v1/hypervisor's whole cost.
    return this.borrowRegisters(vcpu, () => {
      regs.fill(0);
      setReg(regs, 0, hypercallFunctionId(HC.hypervisor_identify));
      this.hyp.hypercall(vcpu, regs, 0);
      const apiInfoLo = regs[0]!, apiInfoHi = regs[1]!, flags0Lo = regs[2]!;
      regs.fill(0);
      setReg(regs, 0, SMCCC_CALL.VENDOR_HYP_CALL_UID);
      this.hyp.hypercall(vcpu, regs, 0);
      return { apiInfoLo, apiInfoHi, flags0Lo, uid: [regs[0]!, regs[2]!, regs[4]!, regs[6]!] };
    });
  }

  /** Run one raw hypercall on vCPU 0 and answer X0-X7 (errors are part of the answer, not problems). */
  raw(vm: Vm, call: RawCall): RawResult {
    const vcpu = this.vcpu0(vm);
    return this.borrowRegisters(vcpu, () => {
      const regs = vcpu.regs;
      regs.fill(0);
      let imm = 0;
      let info;
      if (call.convention === 'smccc') {
        setReg(regs, 0, call.functionId!);
        call.args.forEach((v, i) => setReg(regs, 1 + i, v));
        info = smcccCallInfo(call.functionId!);
      } else {
        imm = call.imm!;
        call.args.forEach((v, i) => setReg(regs, i, v));
        info = nativeCallInfo(imm);
      }
      this.hyp.hypercall(vcpu, regs, imm);
      const x = Array.from({ length: REGISTER_COUNT }, (_, i) => getReg(regs, i));
      return { call: info.name, x, error: callErrorName(info, x[0]!) };
    });
  }

  /** msgqueue_send (spec §4.3) of `bytes` as the VM; answers not_full. */
  msgqSend(vm: Vm, capid: bigint, bytes: Uint8Array, push: boolean): { notFull: boolean } {
    const flags = push ? MSGQ_SEND_FLAG.PUSH : 0;
    const r = this.withScratch(vm, (ipa) => {
      // Larger than the page is larger than any queue's max_msg_size (spec §4.1: below 1024), which the
      // hypervisor refuses with ARGUMENT_SIZE before reading the buffer.
      if (bytes.length <= PAGE_SIZE) vm.memory.writeBytes(ipa, bytes);
      return this.call(vm, 'msgqueue_send', [capid, bytes.length, ipa, flags]);
    });
    if (r.err === GH_ERROR.ARGUMENT_SIZE) {
      const q = vm.cspace.lookup<Msgqueue>(...words(capid), 'msgqueue', 0);
      const max = typeof q === 'number' ? '' : ` of ${q.maxMsgSize} bytes`;
      throw ApiError.gh(r.err, `a message of ${bytes.length} bytes is larger than the maximum${max} of message queue ${hex64(capid)}`);
    }
    if (r.err !== GH_ERROR.OK) throw this.failed(r.err, 'msgqueue_send', vm, capid);
    return { notFull: r.x[1] === 1n };
  }

  /** msgqueue_receive (spec §4.3) as the VM; null when the queue is empty. */
  msgqReceive(vm: Vm, capid: bigint): Received | null {
    let bytes: Uint8Array = new Uint8Array(0);
    const r = this.withScratch(vm, (ipa) => {
      const result = this.call(vm, 'msgqueue_receive', [capid, ipa, PAGE_SIZE]);
      if (result.err === GH_ERROR.OK) bytes = vm.memory.readBytes(ipa, Number(result.x[1])) as Uint8Array;
      return result;
    });
    if (r.err === GH_ERROR.MSGQUEUE_EMPTY) return null;
    if (r.err !== GH_ERROR.OK) throw this.failed(r.err, 'msgqueue_receive', vm, capid);
    return { bytes, notEmpty: r.x[2] === 1n };
  }

  /**
   * Receive, waiting up to `timeoutMs` for the queue's receive vIRQ when it is empty. Another receiver may take the
   * message first, so each wake-up tries again until the time is up. Empty at the end: ERROR_MSGQUEUE_EMPTY (409).
   */
  async msgqReceiveWaiting(vm: Vm, capid: bigint, timeoutMs: number, signal?: AbortSignal): Promise<Received> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const got = this.msgqReceive(vm, capid);
      if (got !== null) return got;
      const left = deadline - performance.now();
      if (left <= 0 || signal?.aborted) break;
      // msgqReceive succeeded in the lookup, so the capability names an active queue with the RECEIVE right.
      const q = vm.cspace.lookup<Msgqueue>(...words(capid), 'msgqueue', right('msgqueue', 'receive'));
      if (typeof q === 'number' || !(await waitForAssert(q.receiveVirq, left, signal))) break;
    }
    const waited = timeoutMs > 0 ? ` after waiting ${timeoutMs} ms` : '';
    throw ApiError.gh(GH_ERROR.MSGQUEUE_EMPTY, `message queue ${hex64(capid)} of VM ${vm.vmid} is empty${waited}`);
  }

  /** Read guest memory as the VM sees it (its stage-2 view); ERROR_ADDR_INVALID for unmapped or unreadable pages. */
  readMemory(vm: Vm, ipa: bigint, length: number): Uint8Array {
    const bytes = vm.memory.readBytes(Number(ipa), length);
    if (typeof bytes === 'number') throw this.badAddress(bytes, vm, ipa, length, 'readable');
    return bytes;
  }

  /** Write guest memory as the VM sees it; ERROR_ADDR_INVALID for unmapped or read-only pages (nothing is written). */
  writeMemory(vm: Vm, ipa: bigint, bytes: Uint8Array): void {
    const err = vm.memory.writeBytes(Number(ipa), bytes);
    if (err !== GH_ERROR.OK) throw this.badAddress(err, vm, ipa, bytes.length, 'writable');
  }

  private badAddress(err: number, vm: Vm, ipa: bigint, length: number, access: string): ApiError {
    return ApiError.gh(err, `${length} bytes at ${hex64(ipa)} are not all ${access} in VM ${vm.vmid}'s address space`, { field: '/params/ipa' });
  }

  /** doorbell_send (spec §5) as the VM; answers the old flags. */
  doorbellSend(vm: Vm, capid: bigint, flags: bigint): bigint {
    return this.doorbellCall(vm, 'doorbell_send', capid, [flags]);
  }

  /** doorbell_receive (spec §5) as the VM; answers the old flags. */
  doorbellReceive(vm: Vm, capid: bigint, clearFlags: bigint): bigint {
    return this.doorbellCall(vm, 'doorbell_receive', capid, [clearFlags]);
  }

  /** doorbell_mask (spec §5) as the VM. */
  doorbellMask(vm: Vm, capid: bigint, enableMask: bigint, ackMask: bigint): void {
    this.doorbellCall(vm, 'doorbell_mask', capid, [enableMask, ackMask]);
  }

  private doorbellCall(vm: Vm, name: HypercallName, capid: bigint, args: readonly bigint[]): bigint {
    const r = this.call(vm, name, [capid, ...args]);
    if (r.err !== GH_ERROR.OK) throw this.failed(r.err, name, vm, capid);
    return r.x[1]!;
  }

  private call(vm: Vm, name: HypercallName, args: readonly (bigint | number)[]): CallResult {
    const vcpu = this.vcpu0(vm);
    return this.borrowRegisters(vcpu, () => hvc(vcpu, name, args));
  }

  private vcpu0(vm: Vm): Vcpu {
    const vcpu = vm.vcpus[0];
    if (vcpu === undefined) throw ApiError.control('VM_STATE_CONFLICT', `VM ${vm.vmid} has no vCPU to run hypercalls on`);
    return vcpu;
  }

  private borrowRegisters<T>(vcpu: Vcpu, fn: () => T): T {
    const saved = vcpu.regs.slice();
    try {
      return fn();
    } finally {
      vcpu.regs.set(saved);
    }
  }

  /** Lend the scratch page to `fn`, then put its bytes back. */
  private withScratch<T>(vm: Vm, fn: (ipa: number) => T): T {
    const ipa = scratchIpa(vm);
    const saved = vm.memory.readBytes(ipa, PAGE_SIZE);
    if (typeof saved === 'number') throw ApiError.control('VM_HAS_NO_RAM', `VM ${vm.vmid}'s scratch page at 0x${ipa.toString(16)} is not accessible`);
    try {
      return fn(ipa);
    } finally {
      vm.memory.writeBytes(ipa, saved);
    }
  }

  private failed(err: number, call: string, vm: Vm, capid: bigint): ApiError {
    return ApiError.gh(err, `${call} on capability ${hex64(capid)} of VM ${vm.vmid} failed: ${ghErrorName(err)}`);
  }
}

/** The IPA of a VM's scratch page: the last page of its highest RAM region. */
export function scratchIpa(vm: Vm): number {
  const regions = vm.memory.ramRegions;
  if (regions.length === 0) throw ApiError.control('VM_HAS_NO_RAM', `VM ${vm.vmid} has no RAM for the request's buffers`);
  const top = regions.reduce((a, b) => (b.base + b.size > a.base + a.size ? b : a));
  return top.base + top.size - PAGE_SIZE;
}
