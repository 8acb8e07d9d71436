// Helpers for tests that run guest programs: capabilities to any object, programs started at power-on, waiting
// for the scheduler without sleeping blindly.
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { ghErrorName } from '../../core/abi/errors.js';
import { allRights } from '../../core/abi/objects.js';
import type { GuestProgram } from '../../core/guest/guest-cpu.js';
import type { HypObject } from '../../core/hyp/object.js';
import type { Vcpu } from '../../core/vm/vcpu.js';
import { RAM_BASE, type FixtureVm } from './hyp-fixture.js';

/** Where `start` loads a vCPU's program: one entry IPA per vCPU index. */
export const entryFor = (index: number): number => RAM_BASE + 0x1000 * index;

/** A capability in the fixture VM's own cspace to any object (all rights unless `rights`). */
export function capTo(f: FixtureVm, o: HypObject, rights = allRights(o.type)): bigint {
  const cap = f.vm.cspace.insert(o, rights);
  assert.ok(typeof cap !== 'number', 'cspace full');
  return f.vm.cspace.capid(cap.slot);
}

/**
 * Load `program` at vCPU `index`'s entry IPA and power that vCPU on with vcpu_poweron from vCPU 0 (so programs
 * belong on vCPUs 1 and up: vCPU 0 makes the fixture's calls). Returns the vCPU's capid.
 */
export function powerOn(f: FixtureVm, index: number, program: GuestProgram, context = 0): bigint {
  const entry = entryFor(index);
  f.vm.programs.set(entry, program);
  const cap = capTo(f, f.vm.vcpus[index]!);
  assert.equal(ghErrorName(f.call('vcpu_poweron', [cap, entry, context, 0]).err), 'OK', 'vcpu_poweron');
  return cap;
}

/** Load and power on without hypercalls (scheduler tests that build VMs directly). */
export function start(vcpu: Vcpu, program: GuestProgram): void {
  const entry = entryFor(vcpu.index);
  vcpu.vm!.programs.set(entry, program);
  assert.equal(ghErrorName(vcpu.powerOn(BigInt(entry), 0n)), 'OK', 'powerOn');
}

/** Let the event loop turn (1 ms timers) until `cond` holds; fails after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** One turn of the event loop (the scheduler runs a batch per turn). */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Burn CPU for `ms` (guest "work" between two awaits). */
export function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}
