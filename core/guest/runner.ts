// Starting a guest program on a vCPU (the scheduler calls this at the first resumption after power-on). The
// program registered at the vCPU's PC runs; its end powers the vCPU off, its error faults it. Nothing a program
// does can throw out of here: a broken guest is a FAULT, never a crashed process.
import type { Vcpu } from '../vm/vcpu.js';
import { GuestCpu, type GuestProgram } from './guest-cpu.js';

export function startGuest(vcpu: Vcpu): void {
  const entry = vcpu.pc;
  const program = entry <= BigInt(Number.MAX_SAFE_INTEGER) ? vcpu.vm!.programs.get(Number(entry)) : undefined;
  if (program === undefined) {
    vcpu.fault(new Error(`no guest program at entry IPA 0x${entry.toString(16)}`));
    return;
  }
  const cpu = new GuestCpu(vcpu);
  run(program, cpu).then(
    () => {
      if (cpu.live) vcpu.exitProgram();
    },
    (error: unknown) => {
      if (cpu.live) vcpu.fault(error);
    },
  );
}

/** The program's promise; a synchronous throw becomes a rejection. */
function run(program: GuestProgram, cpu: GuestCpu): Promise<void> {
  try {
    return Promise.resolve(program(cpu));
  } catch (error) {
    return Promise.reject(error);
  }
}
