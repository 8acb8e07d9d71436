// gunyahctl msgq ...: message queues as the VM that holds the capability (spec §4; routes under
// /v1/vms/{vmid}/msgqs). Sends and receives are msgqueue_send / msgqueue_receive on the daemon's side.
import type { Command } from 'commander';
import { MAX_RECEIVE_WAIT_MS } from '../../server/routes/msgqs.js';
import type { MsgqueueView } from '../../server/views.js';
import { ends } from './caps.js';
import { action, intArg, type Ctl } from './context.js';
import { ApiProblem, UsageError } from './errors.js';
import { fields, table } from './format.js';
import { hex64Arg } from './hex.js';
import { inputEncoding, payload } from './input.js';

interface Sent {
  size: number;
  not_full: boolean;
}

interface Received {
  data: string;
  encoding: 'utf8' | 'base64';
  size: number;
  not_empty: boolean;
}

const virq = (v: MsgqueueView['send_virq']) => (v.bound ? `${v.virq} (VM ${v.vmid})` : 'unbound');

function msgqFields(q: MsgqueueView): string {
  return fields([
    ['capid', q.capid], ['object', q.object_id], ['rights', q.rights.join(',')], ['state', q.state],
    ['messages', `${q.count} of ${q.depth}`], ['max message size', q.max_msg_size],
    ['not-full threshold', q.notfull_threshold], ['not-empty threshold', q.notempty_threshold],
    ['ends', ends(q)], ['send vIRQ', virq(q.send_virq)], ['receive vIRQ', virq(q.receive_virq)],
    ['sent', `${q.counters.sent} (${q.counters.bytes_sent} bytes)`],
    ['received', `${q.counters.received} (${q.counters.bytes_received} bytes)`],
    ['became full', q.counters.full_events], ['refused full', q.counters.full_rejects], ['flushes', q.counters.flushes],
  ]);
}

/**
 * One message, waiting up to `timeoutMs` (Infinity: until one comes). The API waits at most MAX_RECEIVE_WAIT_MS
 * per request, so longer waits are a series of receives; the last empty answer is the error.
 */
async function receive(ctl: Ctl, path: string, timeoutMs: number, encoding: string): Promise<Received> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const wait = Math.max(0, Math.min(MAX_RECEIVE_WAIT_MS, deadline - Date.now()));
    try {
      return await ctl.client.json<Received>('POST', path, { query: { timeout_ms: wait, encoding } });
    } catch (err) {
      const empty = err instanceof ApiProblem && err.problem.code === 'ERROR_MSGQUEUE_EMPTY';
      if (!empty || Date.now() >= deadline) throw err;
    }
  }
}

export function registerMsgq(program: Command): void {
  const msgq = program.command('msgq').description('list, inspect, send to and receive from message queues, as the VM holding the capability');
  const VM = ['<vm>', 'VMID (decimal or 0x hex) or VM name'] as const;
  const CAPID = ['<capid>', 'the capability ID in the VM\'s cspace (hex or decimal)', hex64Arg] as const;
  const base = async (ctl: Ctl, vmArg: string) => `/v1/vms/${await ctl.vmid(vmArg)}/msgqs`;

  msgq.command('ls')
    .alias('list')
    .description('list the message queues a VM holds capabilities to')
    .argument(...VM)
    .action(action(async (ctl, vmArg: string) => {
      const queues = await ctl.client.get<MsgqueueView[]>(await base(ctl, vmArg));
      ctl.print(queues, () => table(
        ['CAPID', 'RIGHTS', 'STATE', 'COUNT', 'DEPTH', 'MAX SIZE', 'ENDS', 'SENT', 'RECEIVED'],
        queues.map((q) => [q.capid, q.rights.join(','), q.state, q.count, q.depth, q.max_msg_size, ends(q), q.counters.sent, q.counters.received]),
      ));
    }));

  msgq.command('show')
    .description('show one message queue: fill, thresholds, vIRQs and counters')
    .argument(...VM)
    .argument(...CAPID)
    .action(action(async (ctl, vmArg: string, capid: string) => {
      const q = await ctl.client.get<MsgqueueView>(`${await base(ctl, vmArg)}/${capid}`);
      ctl.print(q, () => msgqFields(q));
    }));

  msgq.command('send')
    .description('send one message (msgqueue_send as the VM; needs the SEND right)')
    .argument(...VM)
    .argument(...CAPID)
    .argument('[data]', 'the message; standard input when absent or "-"')
    .option('--base64', 'the data is base64')
    .option('--hex', 'the data is hex digits')
    .option('--push', 'raise the receive vIRQ whatever the threshold (send flag bit 0)')
    .action(action(async (ctl, vmArg: string, capid: string, data: string | undefined, opts: { base64?: boolean; hex?: boolean; push?: boolean }) => {
      const bytes = await payload(data, inputEncoding(opts));
      const sent = await ctl.client.json<Sent>('POST', `${await base(ctl, vmArg)}/${capid}/send`, {
        json: { data: bytes.toString('base64'), encoding: 'base64', push: opts.push === true },
      });
      ctl.print(sent, () => `sent ${sent.size} bytes${sent.not_full ? '' : '; the queue is now full'}`);
    }));

  msgq.command('recv')
    .alias('receive')
    .description('receive one message (msgqueue_receive as the VM; needs the RECEIVE right); waits for one unless told otherwise')
    .argument(...VM)
    .argument(...CAPID)
    .option('--timeout <ms>', 'wait at most this long for a message (default: until one comes)', intArg(0))
    .option('--nonblock', 'do not wait: an empty queue is ERROR_MSGQUEUE_EMPTY at once')
    .option('--base64', 'print the message in base64 (binary messages are printed in base64 anyway)')
    .action(action(async (ctl, vmArg: string, capid: string, opts: { timeout?: number; nonblock?: boolean; base64?: boolean }) => {
      if (opts.nonblock && opts.timeout !== undefined) throw new UsageError('--nonblock and --timeout cannot be used together');
      const timeoutMs = opts.nonblock ? 0 : (opts.timeout ?? Infinity);
      const path = `${await base(ctl, vmArg)}/${capid}/receive`;
      const got = await receive(ctl, path, timeoutMs, opts.base64 ? 'base64' : 'utf8');
      if (!ctl.json && got.encoding === 'base64' && !opts.base64) process.stderr.write('gunyahctl: a binary message, printed in base64\n');
      // One message per line: a message that ends its own line gets no second newline.
      ctl.print(got, () => got.data.replace(/\n$/, ''));
    }));
}
