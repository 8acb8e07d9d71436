// Hypercall handlers for vCPUs and the scheduler (spec §1.3 0x34-0x3D, 0x46-0x47, 0x5C-0x5D, 0x64-0x65, 0x68),
// with the rights and argument checks of the hypervisor's handlers (H-VCPU: vcpu/hypercalls.c, vcpu_run.c,
// scheduler_fprr/hypercalls.c). The logic is in vcpu.ts and scheduler.ts.
import { GH_ERROR } from '../abi/errors.js';
import { right, RIGHT_ACTIVATE } from '../abi/objects.js';
import {
  CPU_INDEX_INVALID, VCPU_POWEROFF_FLAG, VCPU_POWERON_FLAG, VCPU_RUN_POWEROFF_FLAG, VCPU_RUN_STATE,
  VCPU_SLEEP_STATE_WFI, VCPU_WAKEUP_FROM, YIELD_CONTROL_IMPL_DEF, YIELD_HINT,
} from '../abi/vcpu.js';
import { argBig, argNumber, type HandlerTable } from '../hyp/handler.js';
import { argIsMinusOne, argU32, type RegisterFile } from '../hyp/regs.js';
import { VCPU_STATE, type Vcpu } from './vcpu.js';
import type { Vic } from './vic.js';

const POWER = right('thread', 'power');
const AFFINITY = right('thread', 'affinity');
const DISABLE = right('thread', 'disable');
const POWERON_FLAGS = VCPU_POWERON_FLAG.PRESERVE_ENTRY_POINT | VCPU_POWERON_FLAG.PRESERVE_CONTEXT;

/** The vCPU named by argument k in the caller's cspace. */
const lookupVcpu = (caller: Vcpu, a: RegisterFile, k: number, rights: number, activeOnly = true) =>
  caller.vm!.cspace.lookup<Vcpu>(a[2 * k]!, a[2 * k + 1]!, 'thread', rights, activeOnly);

/** A 64-bit flags argument with only `known` bits (all in the low word) set. */
const cleanFlags = (a: RegisterFile, k: number, known: number): boolean => a[2 * k + 1] === 0 && (a[2 * k]! & ~known) === 0;

/**
 * vcpu_run / vcpu_run_check state and data (spec §6.2) into X1-X4. A killed vCPU has exited: POWERED_OFF with the
 * exited flag (H-VCPU vcpu_run_handle_vcpu_run_check).
 */
function reportRunState(v: Vcpu, out: RegisterFile): number {
  let state: number = VCPU_RUN_STATE.READY;
  if (v.killed) {
    state = VCPU_RUN_STATE.POWERED_OFF;
    out[4] = VCPU_RUN_POWEROFF_FLAG.EXITED;
  } else if (v.schedState === VCPU_STATE.POWERED_OFF) {
    state = VCPU_RUN_STATE.POWERED_OFF;
  } else if (v.schedState === VCPU_STATE.FAULT) {
    state = VCPU_RUN_STATE.FAULT;
  } else if (v.schedState === VCPU_STATE.EXPECTS_WAKEUP) {
    state = VCPU_RUN_STATE.EXPECTS_WAKEUP;
    out[4] = VCPU_SLEEP_STATE_WFI;
    out[6] = VCPU_WAKEUP_FROM.WFI;
  } else if (v.schedState === VCPU_STATE.BLOCKED) {
    state = VCPU_RUN_STATE.BLOCKED;
  }
  out[2] = state;
  return state;
}

export const vcpuCalls: HandlerTable = {
  /** vcpu_configure(vcpu, option_flags): ACTIVATE right, INIT only, unknown option bits ARGUMENT_INVALID. */
  vcpu_configure(caller, a) {
    const v = lookupVcpu(caller, a, 0, RIGHT_ACTIVATE, false);
    return typeof v === 'number' ? v : v.configure(argBig(a, 1));
  },

  /** vcpu_poweron(vcpu, entry_ipa, context, flags): POWER right; BUSY unless powered off. */
  vcpu_poweron(caller, a) {
    if (!cleanFlags(a, 3, POWERON_FLAGS)) return GH_ERROR.ARGUMENT_INVALID;
    const v = lookupVcpu(caller, a, 0, POWER);
    if (typeof v === 'number') return v;
    const flags = a[6]!;
    const entry = flags & VCPU_POWERON_FLAG.PRESERVE_ENTRY_POINT ? null : argBig(a, 1);
    const context = flags & VCPU_POWERON_FLAG.PRESERVE_CONTEXT ? null : argBig(a, 2);
    return v.powerOn(entry, context);
  },

  /** vcpu_poweroff(vcpu, flags): POWER right, only the calling vCPU itself (else ARGUMENT_INVALID). */
  vcpu_poweroff(caller, a) {
    if (!cleanFlags(a, 1, VCPU_POWEROFF_FLAG.LAST_VCPU)) return GH_ERROR.ARGUMENT_INVALID;
    const v = lookupVcpu(caller, a, 0, POWER);
    if (typeof v === 'number') return v;
    if (v !== caller) return GH_ERROR.ARGUMENT_INVALID;
    return v.powerOff((a[2]! & VCPU_POWEROFF_FLAG.LAST_VCPU) !== 0);
  },

  /** vcpu_kill(vcpu): LIFECYCLE right. */
  vcpu_kill(caller, a) {
    const v = lookupVcpu(caller, a, 0, right('thread', 'lifecycle'));
    return typeof v === 'number' ? v : v.kill();
  },

  /**
   * scheduler_yield(control, arg1): hint 0 generic, 1 yield to the vCPU capid in arg1 (YIELD_TO right), 2 yield to
   * priorities down to arg1; bit 31 (implementation defined) and other hints ARGUMENT_INVALID. The yield happens
   * when the caller next leaves the CPU (at once for GuestCpu.yield).
   */
  scheduler_yield(caller, a) {
    const control = a[0]!;
    if ((control & YIELD_CONTROL_IMPL_DEF) !== 0) return GH_ERROR.ARGUMENT_INVALID;
    const hint = control & YIELD_HINT.MASK;
    if (hint === YIELD_HINT.GENERIC) {
      caller.yieldRequest = { hint, arg: 0, target: null };
    } else if (hint === YIELD_HINT.YIELD_TO) {
      const target = lookupVcpu(caller, a, 1, right('thread', 'yield_to'));
      if (typeof target === 'number') return target;
      caller.yieldRequest = { hint, arg: 0, target: target === caller ? null : target };
    } else if (hint === YIELD_HINT.LOWER_PRIORITY) {
      const priority = argU32(a, 1);
      if (!(priority >= 0 && priority <= caller.priority)) return GH_ERROR.ARGUMENT_INVALID;
      caller.yieldRequest = { hint, arg: priority, target: null };
    } else {
      return GH_ERROR.ARGUMENT_INVALID;
    }
    return GH_ERROR.OK;
  },

  /**
   * vcpu_set_affinity(vcpu, cpu_index, R-1): an emulated pCPU index, or -1 (CPU_INDEX_INVALID: the vCPU then runs
   * only through vcpu_run or directed yields, and the AFFINITY and DISABLE rights are needed).
   */
  vcpu_set_affinity(caller, a) {
    const none = argIsMinusOne(a, 1);
    const cpu = none ? CPU_INDEX_INVALID : argU32(a, 1);
    if (!none && !(cpu >= 0 && cpu < caller.vm!.hyp.scheduler.pcpus.length)) return GH_ERROR.ARGUMENT_INVALID;
    const v = lookupVcpu(caller, a, 0, none ? AFFINITY | DISABLE : AFFINITY, false);
    return typeof v === 'number' ? v : v.setAffinity(cpu);
  },

  /** vcpu_set_priority(vcpu, priority): PRIORITY right; above 63 DENIED; INIT only. */
  vcpu_set_priority(caller, a) {
    const v = lookupVcpu(caller, a, 0, right('thread', 'priority'), false);
    if (typeof v === 'number') return v;
    const priority = argU32(a, 1);
    return v.setPriority(priority < 0 ? Number.POSITIVE_INFINITY : priority);
  },

  /** vcpu_set_timeslice(vcpu, ns): TIMESLICE right; INIT only; 1-100 ms. */
  vcpu_set_timeslice(caller, a) {
    const v = lookupVcpu(caller, a, 0, right('thread', 'timeslice'), false);
    return typeof v === 'number' ? v : v.setTimeslice(argNumber(a, 1));
  },

  /** vcpu_bind_virq(vcpu, vic, virq_info, virq_type): BIND_VIRQ on the vCPU, BIND_SOURCE on the vic. */
  vcpu_bind_virq(caller, a) {
    const v = lookupVcpu(caller, a, 0, right('thread', 'bind_virq'));
    if (typeof v === 'number') return v;
    const vic = caller.vm!.cspace.lookup<Vic>(a[2]!, a[3]!, 'vic', right('vic', 'bind_source'));
    if (typeof vic === 'number') return vic;
    return v.bindVirq(argU32(a, 3), vic, a[4]!, a[5]!);
  },

  /** vcpu_unbind_virq(vcpu, virq_type): BIND_VIRQ right. */
  vcpu_unbind_virq(caller, a) {
    const v = lookupVcpu(caller, a, 0, right('thread', 'bind_virq'));
    return typeof v === 'number' ? v : v.unbindVirq(argU32(a, 1));
  },

  /** vcpu_register_write(vcpu, reg_set, index, value): WRITE_CONTEXT right, any object state. */
  vcpu_register_write(caller, a) {
    const v = lookupVcpu(caller, a, 0, right('thread', 'write_context'), false);
    if (typeof v === 'number') return v;
    return v.writeRegister(argU32(a, 1), argU32(a, 2), argBig(a, 3));
  },

  /**
   * vcpu_run(vcpu, resume0-2) (spec §6.2): AFFINITY and YIELD_TO rights; BUSY unless a VCPU_RUN_WAKEUP vIRQ is
   * bound. Hypercalls are synchronous and guests are async programs, so "run" here means: a ready vCPU gets one
   * slice queued on the caller's pCPU (none if one is already queued) and the call returns at once with READY;
   * the caller calls again after yielding to its event loop, as Linux's loop does after READY, and then sees what
   * the slice did (READY again, EXPECTS_WAKEUP, POWERED_OFF, FAULT). After EXPECTS_WAKEUP it waits for its wakeup
   * vIRQ, asserted when an interrupt wakes the vCPU. Resume data is only meaningful after the VMMIO states, which
   * this emulator never reports, so it is ignored, as the hypervisor does for the other states.
   */
  vcpu_run(caller, a, out) {
    const v = lookupVcpu(caller, a, 0, AFFINITY | right('thread', 'yield_to'));
    if (typeof v === 'number') return v;
    if (!v.proxy) return GH_ERROR.BUSY;
    if (!v.killed && v.schedState === VCPU_STATE.READY) caller.vm!.hyp.scheduler.donate(v, caller);
    reportRunState(v, out);
    return GH_ERROR.OK;
  },

  /** vcpu_run_check(vcpu): BIND_VIRQ and STATE rights; BUSY while the vCPU is runnable (not halted). */
  vcpu_run_check(caller, a, out) {
    const v = lookupVcpu(caller, a, 0, right('thread', 'bind_virq') | right('thread', 'state'));
    if (typeof v === 'number') return v;
    const state = reportRunState(v, out);
    return state === VCPU_RUN_STATE.READY || state === VCPU_RUN_STATE.BLOCKED ? GH_ERROR.BUSY : GH_ERROR.OK;
  },
};
