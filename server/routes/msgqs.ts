// Message queues (spec §4) as the VM that holds the capability: list, inspect, send and receive. Sends and receives
// are msgqueue_send / msgqueue_receive hypercalls on the VM's vCPU 0 (vm-agent.ts).
import type { FastifyInstance } from 'fastify';
import { parseHex } from '../hex.js';
import { ref, vmCapParams, vmParams, type VmCapParams, type VmParams } from '../schemas/common.js';
import { operation, WITH_HYP_OBJECTS } from '../schemas/operation.js';
import { capAt, capsOfType, msgqueueView } from '../views.js';

/** The longest a receive may wait for a message. */
export const MAX_RECEIVE_WAIT_MS = 30_000;

type Encoding = 'utf8' | 'base64';

interface SendBody {
  data: string;
  encoding: Encoding;
  push: boolean;
}

interface ReceiveQuery {
  timeout_ms: number;
  encoding: Encoding;
}

const BASE64 = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';

const encoding = { type: 'string', enum: ['utf8', 'base64'], default: 'utf8' } as const;

const sendBody = {
  type: 'object',
  required: ['data'],
  additionalProperties: false,
  properties: {
    data: { type: 'string', minLength: 1, description: 'The message: UTF-8 text, or bytes in base64.' },
    encoding: { ...encoding, description: 'How `data` is encoded.' },
    push: { type: 'boolean', default: false, description: 'Assert the receive vIRQ whatever the threshold (send flag bit 0, spec §4.3).' },
  },
  if: { required: ['encoding'], properties: { encoding: { const: 'base64' } } },
  then: { properties: { data: { type: 'string', pattern: BASE64 } } },
} as const;

const receiveQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    timeout_ms: {
      type: 'integer', minimum: 0, maximum: MAX_RECEIVE_WAIT_MS, default: 0,
      description: 'How long to wait for a message when the queue is empty; 0 answers at once.',
    },
    encoding: { ...encoding, description: 'How to encode the message; bytes that are not UTF-8 come back in base64 whatever is asked.' },
  },
} as const;

const Sent = {
  type: 'object',
  required: ['size', 'not_full'],
  properties: {
    size: { type: 'integer', description: 'Bytes sent.' },
    not_full: { type: 'boolean', description: 'msgqueue_send\'s not_full: room is left for another message.' },
  },
} as const;

const Received = {
  type: 'object',
  required: ['data', 'encoding', 'size', 'not_empty'],
  properties: {
    data: { type: 'string' },
    encoding: { type: 'string', enum: ['utf8', 'base64'], description: 'How `data` is encoded.' },
    size: { type: 'integer', description: 'Bytes received.' },
    not_empty: { type: 'boolean', description: 'msgqueue_receive\'s not_empty: more messages wait.' },
  },
} as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function encode(bytes: Uint8Array, wanted: Encoding): { data: string; encoding: Encoding } {
  if (wanted === 'utf8') {
    try {
      return { data: utf8.decode(bytes), encoding: 'utf8' };
    } catch {
      // Not UTF-8: the bytes go back intact in base64 (the answer's `encoding` says so).
    }
  }
  return { data: Buffer.from(bytes).toString('base64'), encoding: 'base64' };
}

export default async function msgqRoutes(app: FastifyInstance) {
  app.get<{ Params: VmParams }>('/v1/vms/:vmid/msgqs', {
    schema: operation({
      operationId: 'listMsgqs',
      tag: 'msgqs',
      summary: 'List a VM\'s message queues',
      description: 'The message queues the VM holds a capability to, with their depth, maximum size, fill and counters.',
      vmStates: WITH_HYP_OBJECTS,
      params: vmParams,
      response: { 200: { description: 'The message queues.', type: 'array', items: ref('Msgqueue') } },
    }),
  }, async (request) => {
    const vm = app.agent.vm(request.params.vmid);
    return capsOfType(vm, 'msgqueue').map((cap) => msgqueueView(cap, app.hyp));
  });

  app.get<{ Params: VmCapParams }>('/v1/vms/:vmid/msgqs/:capid', {
    schema: operation({
      operationId: 'getMsgq',
      tag: 'msgqs',
      summary: 'Inspect a message queue',
      description: 'One message queue, through the VM\'s capability to it.',
      vmStates: WITH_HYP_OBJECTS,
      params: vmCapParams,
      response: { 200: { description: 'The message queue.', ...ref('Msgqueue') } },
    }),
  }, async (request) => {
    const vm = app.agent.vm(request.params.vmid);
    return msgqueueView(capAt(vm, parseHex(request.params.capid), 'msgqueue'), app.hyp);
  });

  app.post<{ Params: VmCapParams; Body: SendBody }>('/v1/vms/:vmid/msgqs/:capid/send', {
    schema: operation({
      operationId: 'sendMsgq',
      tag: 'msgqs',
      summary: 'Send a message',
      description: 'msgqueue_send as the VM (SEND right). A full queue is 409 ERROR_MSGQUEUE_FULL; a message above '
        + 'the queue\'s max_msg_size is 413 ERROR_ARGUMENT_SIZE.',
      vmStates: WITH_HYP_OBJECTS,
      change: true,
      params: vmCapParams,
      body: sendBody,
      response: { 200: { description: 'The message was queued.', ...Sent } },
      problems: [403],
    }),
  }, async (request) => {
    const { data, encoding: enc, push } = request.body;
    const bytes = enc === 'base64' ? Buffer.from(data, 'base64') : Buffer.from(data, 'utf8');
    const vm = app.agent.vm(request.params.vmid);
    const { notFull } = app.agent.msgqSend(vm, parseHex(request.params.capid), bytes, push);
    return { size: bytes.length, not_full: notFull };
  });

  app.post<{ Params: VmCapParams; Querystring: ReceiveQuery }>('/v1/vms/:vmid/msgqs/:capid/receive', {
    schema: operation({
      operationId: 'receiveMsgq',
      tag: 'msgqs',
      summary: 'Receive a message',
      description: 'msgqueue_receive as the VM (RECEIVE right). With `timeout_ms`, an empty queue waits for its '
        + 'receive vIRQ (spec §4.3: asserted when the count reaches notempty_thd, or on a push) up to that long. '
        + 'Still empty: 409 ERROR_MSGQUEUE_EMPTY, the hypervisor\'s own answer.',
      vmStates: WITH_HYP_OBJECTS,
      change: true,
      params: vmCapParams,
      querystring: receiveQuery,
      response: { 200: { description: 'The oldest message, now dequeued.', ...Received } },
      problems: [403],
    }),
  }, async (request, reply) => {
    const vm = app.agent.vm(request.params.vmid);
    const client = new AbortController();
    reply.raw.once('close', () => client.abort());
    const signal = AbortSignal.any([client.signal, app.closing]);
    const { bytes, notEmpty } = await app.agent.msgqReceiveWaiting(vm, parseHex(request.params.capid), request.query.timeout_ms, signal);
    return { ...encode(bytes, request.query.encoding), size: bytes.length, not_empty: notEmpty };
  });
}
