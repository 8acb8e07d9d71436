// The VM lifecycle (product brief, "REST API"): list, create, inspect, start, stop, reset and delete VMs, and their
// vCPUs. Routes only translate: every change is one HLOS VM-manager operation, i.e. the RM RPC sequence of spec §9.7,
// so it shows up as hypercalls and message-queue traffic. Reads come from the HLOS's view of its VMs, except the
// state query, which asks the RM itself (VM_GET_STATE).
import type { FastifyInstance } from 'fastify';
import { RM_ERROR } from '../../core/abi/rm.js';
import type { Hlos, VmView } from '../../core/hlos/hlos.js';
import { RmFailure } from '../../core/hlos/rm-failure.js';
import { osStatusName, statusName, VmError } from '../../core/hlos/vm-manager.js';
import { VCPU_STATE_NAMES } from '../../core/vm/vcpu.js';
import { hex64 } from '../hex.js';
import { ApiError } from '../problem.js';
import { ref, vmParams, type VmParams } from '../schemas/common.js';
import { operation, VM_STATE_NAMES, WITH_HYP_OBJECTS, type VmStateName } from '../schemas/operation.js';

/** What the HLOS's VM manager accepts for each operation (spec §9.5 transitions it drives). */
const STARTABLE: readonly VmStateName[] = ['load', 'reset'];
const STOPPABLE: readonly VmStateName[] = ['running', 'paused'];
const RESETTABLE: readonly VmStateName[] = ['exited', 'ready', 'init_failed'];

// Member by member rather than by spreading the view: a spread copies through V8's generic object clone, twice the
// cost of the literal on the read path.
const vmOut = (v: VmView) => ({
  vmid: v.vmid, name: v.name, type: v.type, status: v.status, os_status: v.os_status, image: v.image, vcpus: v.vcpus,
  memory: v.memory === null ? { base: hex64(0), size: hex64(0) } : { base: hex64(v.memory.base), size: hex64(v.memory.size) },
});

/** A VM-manager failure as the problem the API answers. */
export function vmProblem(err: VmError): ApiError {
  switch (err.code) {
    case 'NOT_FOUND':
      return ApiError.control('VM_NOT_FOUND', err.detail);
    case 'INVALID_ARGUMENT':
      return ApiError.control('VALIDATION_FAILED', err.detail, { field: `/body/${err.field ?? ''}` });
    case 'NAME_IN_USE':
      return ApiError.control('NAME_IN_USE', err.detail, { field: '/body/name' });
    case 'VM_STATE_CONFLICT':
      return ApiError.control('VM_STATE_CONFLICT', err.detail);
    case 'NO_MEMORY':
      return ApiError.control('NO_MEMORY', err.detail);
    case 'RM_CALL_FAILED':
      return rmProblem(err.failure!, err.detail);
  }
}

/** An RM call that failed: the RM's error word under its spec name, 503 when the RM did not answer in time. */
export function rmProblem(failure: RmFailure, detail: string): ApiError {
  if (failure.rmError !== null) return ApiError.rm(failure.rmError, detail);
  if (failure.reason === 'timeout' || failure.reason === 'closed') {
    return ApiError.control('RM_TIMEOUT', detail, { headers: { 'retry-after': '1' } });
  }
  return ApiError.control('RM_FAILED', detail);
}

const settle = async <T>(p: Promise<T | VmError>): Promise<T> => {
  const r = await p;
  if (r instanceof VmError) throw vmProblem(r);
  return r;
};

const Vcpu = {
  type: 'object',
  required: ['index', 'state', 'priority', 'timeslice_ns', 'affinity', 'run_time_ns', 'wakeups', 'hypercalls'],
  properties: {
    index: { type: 'integer' },
    state: { type: 'string', enum: VCPU_STATE_NAMES },
    priority: { type: 'integer', description: 'FPRR priority, 0-63 (spec §6.1).' },
    timeslice_ns: { type: 'integer' },
    affinity: { type: 'integer', description: 'Physical CPU index, or -1 for none.' },
    run_time_ns: { type: 'integer' },
    wakeups: { type: 'integer' },
    hypercalls: { type: 'integer' },
  },
} as const;

interface CreateBody {
  name: string;
  image: string;
  vcpus: number;
  params?: Record<string, unknown>;
}

export default async function vmRoutes(app: FastifyInstance) {
  const hlos = (): Hlos => {
    const h = app.services.hlos;
    if (h === undefined) throw ApiError.control('NOT_FOUND', 'this server manages no VMs (no HLOS)');
    return h;
  };
  const one = { 200: { description: 'The VM.', ...ref('Vm') } };
  /** The RM and the HLOS are not the VM manager's to start, stop or delete. */
  const secondary = (vmid: number): Hlos => {
    const h = hlos();
    const vm = h.getVm(vmid);
    if (vm !== undefined && vm.type !== 'secondary') {
      throw ApiError.control('VM_STATE_CONFLICT', `VM ${vmid} is the ${vm.type === 'rm' ? 'Resource Manager' : 'primary VM'}; only secondary VMs can be managed`);
    }
    return h;
  };

  app.get('/v1/vms', {
    schema: operation({
      operationId: 'listVms',
      tag: 'vms',
      summary: 'List VMs',
      description: 'Every VM the HLOS knows: the RM (VMID 255), the HLOS itself (VMID 3) and the secondary VMs.',
      response: { 200: { description: 'The VMs.', type: 'array', items: ref('Vm') } },
    }),
  }, async () => hlos().listVms().map(vmOut));

  app.post<{ Body: CreateBody }>('/v1/vms', {
    schema: operation({
      operationId: 'createVm',
      tag: 'vms',
      summary: 'Create and start a VM',
      description: 'Creates a secondary VM running a built-in image, as the Linux driver does (spec §9.7): VM_ALLOCATE, '
        + 'MEM_LEND of its memory, VM_CONFIG_IMAGE, VM_INIT, VM_GET_HYP_RESOURCES and VM_START. A failure part-way '
        + 'rolls back what was done.',
      change: true,
      body: ref('VmCreate'),
      response: { 201: { description: 'The running VM.', ...ref('Vm') } },
      problems: [503],
    }),
  }, async (request, reply) => {
    const { name, image, vcpus, params } = request.body;
    const vm = await settle(hlos().createVm({ name, image, vcpus, ...(params === undefined ? {} : { params }) }));
    return reply.code(201).header('location', `/v1/vms/${vm.vmid}`).send(vmOut(vm));
  });

  app.get<{ Params: VmParams }>('/v1/vms/:vmid', {
    schema: operation({
      operationId: 'getVm',
      tag: 'vms',
      summary: 'Inspect a VM',
      description: 'The HLOS\'s view of one VM.',
      vmStates: VM_STATE_NAMES,
      params: vmParams,
      response: one,
    }),
  }, async (request) => {
    const vm = hlos().getVm(request.params.vmid);
    if (vm === undefined) throw ApiError.control('VM_NOT_FOUND', `no VM has VMID ${request.params.vmid}`);
    return vmOut(vm);
  });

  app.get<{ Params: VmParams }>('/v1/vms/:vmid/state', {
    schema: operation({
      operationId: 'getVmState',
      tag: 'vms',
      summary: 'Ask the RM for a VM\'s state',
      description: 'VM_GET_STATE from the HLOS to the Resource Manager over RM RPC (spec §9.4, §9.5): the RM\'s own '
        + 'vm_status, os_status and app_status, where GET /v1/vms/{vmid} answers the HLOS\'s view. The RM answers '
        + 'the HLOS about itself and the VMs it owns; about the RM it answers RM_ERROR_DENIED (403).',
      vmStates: VM_STATE_NAMES,
      params: vmParams,
      response: { 200: { description: 'The RM\'s answer.', ...ref('VmState') } },
      problems: [403, 503],
    }),
  }, async (request) => {
    const { vmid } = request.params;
    const state = await hlos().rm.vmGetState(vmid);
    if (state instanceof RmFailure) {
      // The RM answers NORESOURCE for a VMID it has no record of (the VM went away after the state check).
      if (state.rmError === RM_ERROR.NORESOURCE) throw ApiError.control('VM_NOT_FOUND', `the RM knows no VM ${vmid} (${state.message})`);
      throw rmProblem(state, state.message);
    }
    return {
      vmid,
      vm_status: statusName(state.vmStatus),
      vm_status_value: state.vmStatus,
      os_status: osStatusName(state.osStatus),
      os_status_value: state.osStatus,
      app_status: state.appStatus,
    };
  });

  const lifecycle = (
    op: 'start' | 'stop' | 'reset', states: readonly VmStateName[], summary: string, description: string,
    run: (h: Hlos, vmid: number) => Promise<VmView | VmError>,
  ) => app.post<{ Params: VmParams }>(`/v1/vms/:vmid/${op}`, {
    schema: operation({
      operationId: `${op}Vm`, tag: 'vms', summary, description, vmStates: states, change: true, params: vmParams,
      response: one, problems: [503],
    }),
  }, async (request) => vmOut(await settle(run(secondary(request.params.vmid), request.params.vmid))));

  lifecycle('start', STARTABLE, 'Start a VM', 'VM_START (after VM_INIT again when the VM was reset).', (h, vmid) => h.startVm(vmid));
  lifecycle('stop', STOPPABLE, 'Stop a VM', 'VM_STOP with FORCE (reason 3, as Linux sends it); answers once the RM reports the VM exited.', (h, vmid) => h.stopVm(vmid));
  lifecycle('reset', RESETTABLE, 'Reset a VM', 'VM_RESET; answers once the RM reports the VM reset (its objects are torn down).', (h, vmid) => h.resetVm(vmid));

  app.delete<{ Params: VmParams }>('/v1/vms/:vmid', {
    schema: operation({
      operationId: 'deleteVm',
      tag: 'vms',
      summary: 'Delete a VM',
      description: 'The teardown of spec §9.7: VM_STOP if running, VM_RESET, MEM_RECLAIM and VM_DEALLOCATE. The RM and '
        + 'the HLOS cannot be deleted.',
      vmStates: VM_STATE_NAMES,
      change: true,
      params: vmParams,
      response: { 204: { description: 'Deleted.', type: 'null' } },
      problems: [503],
    }),
  }, async (request, reply) => {
    await settle(secondary(request.params.vmid).deleteVm(request.params.vmid));
    return reply.code(204).send();
  });

  app.get<{ Params: VmParams }>('/v1/vms/:vmid/vcpus', {
    schema: operation({
      operationId: 'listVcpus',
      tag: 'vms',
      summary: 'List a VM\'s vCPUs',
      description: 'Each vCPU\'s scheduling state and statistics, as the hypervisor keeps them (spec §6).',
      vmStates: WITH_HYP_OBJECTS,
      params: vmParams,
      response: { 200: { description: 'The vCPUs.', type: 'array', items: Vcpu } },
    }),
  }, async (request) => {
    const vm = app.hyp.vms.get(request.params.vmid);
    return (vm?.vcpus ?? []).map((v) => ({
      index: v.index,
      state: VCPU_STATE_NAMES[v.schedState],
      priority: v.priority,
      timeslice_ns: v.timesliceNs,
      affinity: v.affinity,
      run_time_ns: Math.round(v.stats.runNs),
      wakeups: v.stats.wakeups,
      hypercalls: v.hypercalls,
    }));
  });
}
