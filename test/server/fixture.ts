// Systems for the control-plane tests. serverFixture: a small one set up the way the RM sets VMs up (spec §4.5),
// where an RM VM creates a message queue and a doorbell through hypercalls and copies the sending ends to VM A and
// the receiving ends to VM B with exactly SEND or RECEIVE rights, and nothing runs on its own (exact queue and
// doorbell semantics). deviceApp: the real boot (RM, HLOS, VMs created over RM RPC, guests running).
import assert from 'node:assert/strict';
import { ghErrorName } from '../../core/abi/errors.js';
import type { HypercallName } from '../../core/abi/hypercalls.js';
import { MSGQ_CREATE_INFO } from '../../core/abi/ipc.js';
import { allRights, right } from '../../core/abi/objects.js';
import { VMID } from '../../core/abi/vmid.js';
import { bootDevice } from '../../core/hlos/device.js';
import { hvc } from '../../core/hyp/call.js';
import type { CSpace } from '../../core/hyp/cspace.js';
import { Hypervisor } from '../../core/hyp/hypervisor.js';
import type { HypObject } from '../../core/hyp/object.js';
import type { Vm } from '../../core/vm/vm.js';
import supertest from 'supertest';
import { buildApp, type AppOptions } from '../../server/app.js';
import type { Problem } from '../../server/problem.js';
import type { Services } from '../../server/services.js';

export const RAM = { base: 0x8000_0000, size: 1 << 20 };
export const VMID_A = 0x80;
export const VMID_B = 0x81;
export const MSGQ_DEPTH = 4;
export const MSGQ_MAX_SIZE = 64;

export interface ServerFixture {
  readonly hyp: Hypervisor;
  readonly services: Services;
  readonly rm: Vm;
  readonly a: Vm;
  readonly b: Vm;
  /** The HLOS VM (VMID 3), when asked for. */
  readonly hlos: Vm | null;
  /** One queue from A to B: A's capid holds SEND, B's RECEIVE; the RM keeps the full-rights cap. */
  readonly msgq: { readonly rm: bigint; readonly a: bigint; readonly b: bigint };
  /** One doorbell rung by A and received by B. */
  readonly doorbell: { readonly rm: bigint; readonly a: bigint; readonly b: bigint };
}

export function serverFixture(opts: { hlos?: boolean } = {}): ServerFixture {
  const hyp = new Hypervisor({ seed: 0x5e7e });
  const { vm: rm } = hyp.createVm({ vmid: VMID.RM, name: 'rm', vcpus: 1, ram: RAM });
  const own = (cspace: CSpace, o: HypObject): bigint => {
    const cap = cspace.insert(o, allRights(o.type));
    assert.ok(typeof cap !== 'number');
    return cspace.capid(cap.slot);
  };
  const partition = own(rm.cspace, hyp.root);
  const rmCspace = own(rm.cspace, rm.cspace);
  const call = (name: HypercallName, args: readonly (bigint | number)[]): bigint => {
    const r = hvc(rm.vcpus[0]!, name, args);
    assert.equal(ghErrorName(r.err), 'OK', name);
    return r.x[1]!;
  };
  const vm = (vmid: number, name: string) => {
    const { vm: created, managerCaps } = hyp.createVm({ vmid, name, vcpus: 1, ram: RAM, manager: rm.cspace });
    return { vm: created, cspace: rm.cspace.capid(managerCaps!.cspace.slot) };
  };
  const hlos = opts.hlos ? vm(VMID.HLOS, 'hlos').vm : null;
  const a = vm(VMID_A, 'svm-a');
  const b = vm(VMID_B, 'svm-b');
  const copy = (cap: bigint, to: bigint, rights: number) => call('cspace_copy_cap_from', [rmCspace, cap, to, rights]);

  const q = call('partition_create_msgqueue', [partition, rmCspace, 0]);
  call('msgqueue_configure', [q, MSGQ_DEPTH | (MSGQ_MAX_SIZE << MSGQ_CREATE_INFO.MAX_SIZE_SHIFT), 0]);
  call('object_activate', [q, 0]);
  const db = call('partition_create_doorbell', [partition, rmCspace, 0]);
  call('object_activate', [db, 0]);
  return {
    hyp,
    services: { hyp },
    rm,
    a: a.vm,
    b: b.vm,
    hlos,
    msgq: { rm: q, a: copy(q, a.cspace, right('msgqueue', 'send')), b: copy(q, b.cspace, right('msgqueue', 'receive')) },
    doorbell: { rm: db, a: copy(db, a.cspace, right('doorbell', 'send')), b: copy(db, b.cspace, right('doorbell', 'receive')) },
  };
}

export const hex = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;

/** The fixture's system behind a ready app, and supertest on its server. */
export async function fixtureApp(appOpts: AppOptions = {}, fixtureOpts: { hlos?: boolean } = {}) {
  const f = serverFixture(fixtureOpts);
  const app = await buildApp(f.services, { rateLimit: false, ...appOpts });
  await app.ready();
  return { f, app, http: supertest(app.server) };
}

/** Assert a problem answer: status, media type, code, and the RFC 9457 members. */
export function assertProblem(res: { status: number; headers: Record<string, string>; body: Problem }, status: number, code: string): Problem {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.match(res.headers['content-type']!, /^application\/problem\+json/);
  assert.equal(res.body.code, code);
  assert.equal(res.body.status, status);
  assert.equal(res.body.type, `urn:gunyah-emu:problem:${code}`);
  assert.equal(typeof res.body.title, 'string');
  assert.equal(typeof res.body.detail, 'string');
  assert.equal(typeof res.body.instance, 'string');
  return res.body;
}

/** A booted device (RM and HLOS over real RM RPC) behind a ready app; `close` stops both. */
export async function deviceApp(appOpts: AppOptions = {}) {
  const device = bootDevice({ seed: 0xd1ce });
  const app = await buildApp({ hyp: device.hyp, hlos: device.hlos }, { rateLimit: false, ...appOpts });
  await app.ready();
  return {
    device,
    app,
    http: supertest(app.server),
    async close() {
      await app.close();
      device.close();
    },
  };
}
