// Builds each route's schema: the documentation (summary, description, tag, allowed VM states) and every response,
// problems included, so the OpenAPI document and the validation come from one declaration.
import { VM_STATUS } from '../../core/abi/rm.js';
import { PROBLEM_CONTENT_TYPE } from '../problem.js';
import { ref } from './common.js';

/** VM status names as the API prints them: spec §9.5 names in lower case. */
export type VmStateName = Lowercase<keyof typeof VM_STATUS>;
export const VM_STATE_NAMES = Object.keys(VM_STATUS).map((s) => s.toLowerCase()) as VmStateName[];

/** The OpenAPI extension listing the VM states a route works in; plugins/vm-state.ts enforces it. */
export const ALLOWED_VM_STATES = 'x-allowed-vm-states';

/**
 * The states in which a VM's hypervisor objects (cspace, address space, vIC, vCPUs) exist: the RM creates them at
 * VM_INIT and tears them down at VM_RESET (spec §9.5, §9.7). Routes that act as the VM through hypercalls or read
 * its objects work in these states.
 */
export const WITH_HYP_OBJECTS: readonly VmStateName[] = ['init', 'ready', 'running', 'paused', 'exited'];

type Schema = Record<string, unknown>;

export interface OperationSpec {
  operationId: string;
  tag: string;
  summary: string;
  description: string;
  /** The route is about one VM: documents and enforces the states in which it is allowed. */
  vmStates?: readonly VmStateName[];
  /** The route changes the system: needs the bearer token when the server listens beyond loopback. */
  change?: boolean;
  params?: Schema;
  querystring?: Schema;
  headers?: Schema;
  body?: Schema;
  /** Success responses by status: a JSON schema with a description, or a `content` map for other media types. */
  response: Record<number, Schema>;
  /** Problem statuses this route can answer beyond those implied by the spec (400, 401, 404, 409, 413, 415, 429). */
  problems?: readonly number[];
}

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad input: VALIDATION_FAILED (with `field` and `errors`), MALFORMED_JSON, or a Gunyah argument error.',
  401: 'UNAUTHORIZED: the server listens beyond loopback and the bearer token is missing or wrong.',
  403: 'The VM\'s capability lacks the right (ERROR_CSPACE_INSUFFICIENT_RIGHTS), or the RM refuses the HLOS (RM_ERROR_DENIED).',
  404: 'An unknown VM (VM_NOT_FOUND) or capability (ERROR_CSPACE_CAP_NULL, ERROR_CSPACE_WRONG_OBJECT_TYPE, ...).',
  409: 'A state conflict: VM_STATE_CONFLICT, or the object refuses the operation now (ERROR_MSGQUEUE_FULL, ...).',
  413: 'PAYLOAD_TOO_LARGE: the body is above the route\'s limit, or ERROR_ARGUMENT_SIZE: the message is above the queue\'s max_msg_size.',
  415: 'UNSUPPORTED_MEDIA_TYPE: the body is not in the content type the route accepts.',
  429: 'RATE_LIMITED: too many requests from this client; retry after the `Retry-After` seconds.',
  503: 'RM_TIMEOUT: the Resource Manager did not answer in time; retry after the `Retry-After` seconds.',
};

const RETRY_AFTER = { 'Retry-After': { type: 'integer', description: 'Seconds to wait before retrying.' } };

function problemResponse(status: number): Schema {
  return {
    description: PROBLEM_DESCRIPTIONS[status] ?? 'A problem.',
    ...(status === 429 || status === 503 ? { headers: RETRY_AFTER } : {}),
    content: { [PROBLEM_CONTENT_TYPE]: { schema: ref('Problem') } },
  };
}

export const allowedStatesSentence = (states: readonly VmStateName[]): string =>
  `Allowed when the VM is in one of these states: ${states.join(', ')}.`;

/** The route schema: `x-allowed-vm-states` and its sentence, and a problem response for every error status. */
export function operation(spec: OperationSpec): Schema {
  const statuses = new Set<number>(spec.problems ?? []);
  if (spec.params || spec.querystring || spec.headers || spec.body) statuses.add(400);
  if (spec.change) statuses.add(401);
  if (spec.vmStates) statuses.add(404).add(409);
  if (spec.body) statuses.add(413).add(415);
  statuses.add(429);
  const response: Record<string, Schema> = { ...spec.response };
  for (const status of [...statuses].sort()) response[status] = problemResponse(status);
  const schema: Schema = {
    operationId: spec.operationId,
    tags: [spec.tag],
    summary: spec.summary,
    description: spec.vmStates ? `${spec.description}\n\n${allowedStatesSentence(spec.vmStates)}` : spec.description,
    response,
  };
  if (spec.vmStates) schema[ALLOWED_VM_STATES] = spec.vmStates;
  for (const part of ['params', 'querystring', 'headers', 'body'] as const) if (spec[part]) schema[part] = spec[part];
  return schema;
}
