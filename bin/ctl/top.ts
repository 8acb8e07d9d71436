// gunyahctl top: a live view of the VMs with their hypercall, message-queue and doorbell rates, refreshed by
// polling the REST API: GET /v1/vms for the VMs and GET /metrics for the counters (the VM objects carry none;
// the rates are the differences between two scrapes). q or Ctrl-C quits; --once prints one frame and exits.
import type { Command } from 'commander';
import { action, intArg, interruption, pause, type Ctl, type Vm } from './context.js';
import { ApiProblem, CliError } from './errors.js';
import { rate, table } from './format.js';
import { parseSamples } from './metrics-text.js';

/** The counters top reads, per VM, from the telemetry catalogue (product brief, "Telemetry"). */
const FAMILIES = {
  hypercalls: 'gunyah_vm_hypercalls_total',
  messages: 'gunyah_msgq_messages_total',
  msgqInfo: 'gunyah_msgq_info',
  rings: 'gunyah_doorbell_sends_total',
} as const;
const WANTED = new Set<string>(Object.values(FAMILIES));

interface VmCounters {
  hypercalls: number;
  /** Messages this VM sent into its queues (it is the queue's sender). */
  sent: number;
  /** Messages taken out of the queues this VM receives from. */
  received: number;
  /** Doorbell rings this VM made. */
  rings: number;
}

interface Snapshot {
  at: number;
  vms: Vm[];
  /** Per VMID; null when the daemon serves no /metrics. */
  counters: Map<number, VmCounters> | null;
}

type Rates = { [K in keyof VmCounters]: number | null };

/** Per-VM counters from one scrape: message counts go to the queue's sending or receiving VM. */
function countersOf(metricsText: string): Map<number, VmCounters> {
  const samples = parseSamples(metricsText, WANTED);
  const ends = new Map<string, { sender: number; receiver: number }>();
  for (const s of samples) {
    if (s.name === FAMILIES.msgqInfo) ends.set(s.labels.msgq!, { sender: Number(s.labels.sender_vmid), receiver: Number(s.labels.receiver_vmid) });
  }
  const counters = new Map<number, VmCounters>();
  const of = (vmid: number) => {
    let c = counters.get(vmid);
    if (c === undefined) counters.set(vmid, (c = { hypercalls: 0, sent: 0, received: 0, rings: 0 }));
    return c;
  };
  for (const s of samples) {
    if (s.name === FAMILIES.hypercalls) of(Number(s.labels.vmid)).hypercalls += s.value;
    else if (s.name === FAMILIES.rings) of(Number(s.labels.vmid)).rings += s.value;
    else if (s.name === FAMILIES.messages) {
      const end = ends.get(s.labels.msgq!);
      if (end === undefined) continue;
      if (s.labels.direction === 'sent') of(end.sender).sent += s.value;
      else of(end.receiver).received += s.value;
    }
  }
  return counters;
}

async function snapshot(ctl: Ctl): Promise<Snapshot> {
  const vms = await ctl.client.get<Vm[]>('/v1/vms');
  let counters: Map<number, VmCounters> | null = null;
  try {
    const response = await ctl.client.request('GET', '/metrics', { headers: { accept: 'text/plain' } });
    counters = countersOf((await response.bytes()).toString('utf8'));
  } catch (err) {
    if (!(err instanceof ApiProblem && err.status === 404)) throw err;
  }
  return { at: Date.now(), vms, counters };
}

function ratesOf(vmid: number, before: Snapshot | null, now: Snapshot): Rates {
  const seconds = before === null ? 0 : (now.at - before.at) / 1000;
  const a = before?.counters?.get(vmid);
  const b = now.counters?.get(vmid);
  const per = (key: keyof VmCounters) => {
    if (seconds <= 0 || now.counters === null || before?.counters === null) return null;
    // A VM created between the scrapes starts from zero; a counter that went down belongs to a new VM.
    return Math.max(0, (b?.[key] ?? 0) - (a?.[key] ?? 0)) / seconds;
  };
  return { hypercalls: per('hypercalls'), sent: per('sent'), received: per('received'), rings: per('rings') };
}

function frame(target: string, before: Snapshot | null, now: Snapshot): string {
  const rows = now.vms.map((vm) => ({ vm, rates: ratesOf(vm.vmid, before, now) }));
  const total = (key: keyof VmCounters) =>
    rows.some((r) => r.rates[key] === null) ? null : rows.reduce((sum, r) => sum + r.rates[key]!, 0);
  const time = new Date(now.at).toISOString().slice(11, 19);
  const note = now.counters === null ? '  (the daemon serves no /metrics: no rates)' : '';
  const header = `gunyahctl top  ${target}  ${time}  ${now.vms.length} VMs  hypercalls ${rate(total('hypercalls'))}/s  `
    + `messages ${rate(total('sent'))}/s  rings ${rate(total('rings'))}/s${note}`;
  return [header, '', table(
    ['VMID', 'NAME', 'TYPE', 'STATUS', 'OS STATUS', 'IMAGE', 'VCPUS', 'HCALL/S', 'MSG TX/S', 'MSG RX/S', 'RINGS/S'],
    rows.map(({ vm, rates }) => [
      vm.vmid, vm.name, vm.type, vm.status, vm.os_status, vm.image, vm.vcpus,
      rate(rates.hypercalls), rate(rates.sent), rate(rates.received), rate(rates.rings),
    ]),
  )].join('\n');
}

/** The terminal for the live view: alternate screen, hidden cursor, q and Ctrl-C read raw. Undone by the result. */
function takeTerminal(quit: () => void): () => void {
  const out = process.stdout;
  out.write('\x1b[?1049h\x1b[?25l');
  const stdin = process.stdin;
  const onKey = (key: Buffer) => {
    if (key.includes(0x71) || key.includes(0x51) || key.includes(0x03)) quit(); // q, Q, Ctrl-C
  };
  if (stdin.isTTY) {
    stdin.setRawMode(true);
    stdin.on('data', onKey);
    stdin.resume();
  }
  return () => {
    if (stdin.isTTY) {
      stdin.off('data', onKey);
      stdin.setRawMode(false);
      stdin.pause();
    }
    out.write('\x1b[?25h\x1b[?1049l');
  };
}

export function registerTop(program: Command): void {
  program.command('top')
    .description('a live view of the VMs with hypercall, message-queue and doorbell rates (q or Ctrl-C quits)')
    .option('--interval <ms>', 'refresh period', intArg(100), 1000)
    .option('--once', 'print one frame (rates over one interval) and exit: for scripts')
    .addHelpText('after', [
      '',
      'Rates come from the daemon\'s counters in GET /metrics: HCALL/S hypercalls made by the VM\'s vCPUs,',
      'MSG TX/S messages it sent into message queues, MSG RX/S messages taken out of the queues it receives from,',
      'RINGS/S doorbell rings it made. With --json, each frame is {"time", "vms": [VM objects with "rates"]}.',
    ].join('\n'))
    .action(action(async (ctl, opts: { interval: number; once?: boolean }) => {
      const signal = interruption();
      const quit = new AbortController();
      const stop = AbortSignal.any([signal, quit.signal]);
      const live = opts.once !== true && process.stdout.isTTY === true && !ctl.json;
      const release = live ? takeTerminal(() => quit.abort()) : () => {};
      const show = (before: Snapshot | null, now: Snapshot) => {
        if (ctl.json) {
          const vms = now.vms.map((vm) => ({ ...vm, rates: ratesOf(vm.vmid, before, now) }));
          ctl.write(JSON.stringify({ time: new Date(now.at).toISOString(), vms }));
        } else {
          ctl.write(`${live ? '\x1b[H\x1b[2J' : ''}${frame(ctl.client.target, before, now)}${live ? '' : '\n'}`);
        }
      };
      try {
        let before = await snapshot(ctl);
        if (!opts.once) show(null, before);
        while (!stop.aborted) {
          await pause(opts.interval, stop);
          if (stop.aborted) break;
          let now: Snapshot;
          try {
            now = await snapshot(ctl);
          } catch (err) {
            // The daemon went away or refused: say so in place of a frame and keep polling.
            if (!(err instanceof CliError) || opts.once) throw err;
            ctl.write(`${live ? '\x1b[H\x1b[2J' : ''}gunyahctl top: ${String(err)}`);
            continue;
          }
          show(before, now);
          before = now;
          if (opts.once) break;
        }
      } finally {
        release();
      }
    }));
}
