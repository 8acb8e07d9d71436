// Everything a hypercall could change, as one comparable value: every object the hypervisor holds, walked field by
// field (capability slots, queue storage, doorbell flags, vIRQ bindings, mappings, page contents, memdb ownership),
// plus which objects and VMs exist. Isolation tests take it before and after a refused call and expect equality:
// a refusal that changed anything, anywhere, shows as a difference naming the object and the field path.
import { createHash } from 'node:crypto';
import type { Hypervisor } from '../../core/hyp/hypervisor.js';
import { HypObject } from '../../core/hyp/object.js';

/**
 * Fields that a refused call changes by design or that are not state: the calling vCPU's register file (and the
 * view dispatch keeps of it) and its hypercall counters (dispatch counts every call), and the hooks objects carry.
 */
const NOT_STATE = new Set(['regs', 'smcccView', 'hypercalls', 'onDestroyed', 'onTransition', 'onPending', 'checkPending', 'wake']);
/** Owners of whole subsystems reachable from objects: the objects are walked one by one from the hypervisor. */
const NOT_WALKED = new Set(['Hypervisor', 'Scheduler', 'Vm', 'TypedEmitter', 'Prng', 'HypercallStats']);
const MAX_DEPTH = 8;

function digest(bytes: ArrayBufferView): string {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return `bytes(${view.length}):${createHash('sha1').update(view).digest('hex').slice(0, 16)}`;
}

function walk(value: unknown, depth: number, seen: Set<object>, root: HypObject): unknown {
  if (value === null || value === undefined) return value;
  switch (typeof value) {
    case 'number': case 'string': case 'boolean': return value;
    case 'bigint': return `${value}n`;
    case 'function': case 'symbol': return undefined;
  }
  const o = value as object;
  if (o instanceof HypObject && o !== root) return `#${o.type}:${o.id}`;
  if (ArrayBuffer.isView(o)) return digest(o);
  const name = o.constructor?.name ?? 'Object';
  if (NOT_WALKED.has(name)) return `<${name}>`;
  // A page the VM has no access to (lent away) holds the borrower's data, not this VM's state.
  if (name === 'Mapping' && (o as { access: number }).access === 0) return '<no access>';
  if (seen.has(o)) return '<seen>';
  if (depth > MAX_DEPTH) return '<deep>';
  seen.add(o);
  try {
    if (o instanceof Map) return [...o.entries()].map(([k, v]) => [walk(k, depth + 1, seen, root), walk(v, depth + 1, seen, root)]);
    if (o instanceof Set) return [...o].map((v) => walk(v, depth + 1, seen, root));
    if (Array.isArray(o)) return o.map((v) => walk(v, depth + 1, seen, root));
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(o)) {
      if (NOT_STATE.has(key)) continue;
      const v = walk((o as Record<string, unknown>)[key], depth + 1, seen, root);
      if (v !== undefined) out[key] = v;
    }
    return out;
  } finally {
    seen.delete(o);
  }
}

/** The state of every object, keyed `type:id`, and the VMs by VMID with their vCPU objects. */
export function worldState(hyp: Hypervisor): Record<string, unknown> {
  const state: Record<string, unknown> = {};
  for (const o of [...hyp.objects.values()].sort((a, b) => a.id - b.id)) {
    state[`${o.type}:${o.id}`] = walk(o, 0, new Set(), o);
  }
  state.vms = [...hyp.vms.values()].map((vm) => ({ vmid: vm.vmid, vcpus: vm.vcpus.map((v) => v.id), cspace: vm.cspace.id }));
  state.traceClassFlags = `${hyp.traceClassFlags}n`;
  return state;
}

/** The paths where two states differ (`thread:5.schedState: 0 -> 2`), at most `limit` of them. */
export function stateDiff(before: unknown, after: unknown, limit = 10): string[] {
  const out: string[] = [];
  const visit = (a: unknown, b: unknown, path: string) => {
    if (out.length >= limit) return;
    if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of keys) visit((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path === '' ? k : `${path}.${k}`);
      return;
    }
    if (a !== b) out.push(`${path}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`);
  };
  visit(before, after, '');
  return out;
}
