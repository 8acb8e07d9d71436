// Soak: `node dist/bench/soak.js [--minutes 1] [--vms 200] [--rate 10] [--readers 50] [--poll-ms 1000]
// [--scrape-ms 5000]`. Bounded in time, loopback only. Starts gunyahd in process (startDaemon with the daemon's own
// surfaces, no sysfs mount), creates the VMs through POST /v1/vms running the `traffic` image, follows console
// streams over HTTP, polls the REST API and scrapes /metrics for the set time while sampling memory, then checks
// every invariant and exits 0 only if all hold.
//
// One device holds at most 64 VMs made through the API: VM_ALLOCATE(0) hands out dynamic VMIDs 0x80-0xBF only
// (spec §13.1; fixed VMIDs below 64 come only from a configuration file). More VMs than that run on several
// daemons in this one process, as a fleet would, spread evenly.
//
// Invariants checked at the end, with the load still running:
//   - every message queue of every device: count == sent - received (no flushes happen), count <= depth;
//   - every traffic VM's queue to the HLOS: what the HLOS's sink consumed == the queue's received count, and the
//     VM sent messages and rang its doorbell;
//   - the RM and the HLOS agree on every VM's status, every VM is running with os_status RUN, and the last REST
//     listing said so too;
//   - no request failed (any non-2xx answer or network error is counted and printed);
//   - every console reader received bytes and its stream stayed open;
//   - memory is flat: RSS and heap used after a full GC at the end, against the same after warm-up (ratios printed;
//     more than --max-growth fails).
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { startDaemon, type Daemon } from '../bin/daemon.js';
import { DEFAULT_SURFACES } from '../bin/surfaces.js';
import { HYP_RESOURCE_TYPE, OS_STATUS, VM_STATUS } from '../core/abi/rm.js';
import { DYNAMIC_VMID } from '../core/abi/vmid.js';
import { checkConfig, ConfigError } from '../core/config/schema.js';
import type { Msgqueue } from '../core/ipc/msgqueue.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    vms: { type: 'string', default: '200' },
    rate: { type: 'string', default: '10' },
    readers: { type: 'string', default: '50' },
    'poll-ms': { type: 'string', default: '1000' },
    'scrape-ms': { type: 'string', default: '5000' },
    'max-growth': { type: 'string', default: '1.25' },
  },
});
const opt = {
  minutes: Number(args.minutes), vms: Number(args.vms), rate: Number(args.rate), readers: Number(args.readers),
  pollMs: Number(args['poll-ms']), scrapeMs: Number(args['scrape-ms']), maxGrowth: Number(args['max-growth']),
};
for (const [k, v] of Object.entries(opt)) {
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`soak: --${k} must be a positive number`);
    process.exit(2);
  }
}
const VMS_PER_DEVICE = DYNAMIC_VMID.LAST - DYNAMIC_VMID.FIRST + 1;
const durationMs = opt.minutes * 60_000;
/** Memory grows while JIT, pools and console rings settle: the baseline is taken after this. */
const warmupMs = Math.max(5_000, Math.min(60_000, durationMs * 0.2));

// ---- what happened ----

const requests = new Map<string, number>();
const errors = new Map<string, { count: number; example: string }>();
const count = (kind: string) => requests.set(kind, (requests.get(kind) ?? 0) + 1);
function failed(kind: string, detail: string): void {
  const e = errors.get(kind) ?? { count: 0, example: detail };
  e.count++;
  errors.set(kind, e);
}

async function call(kind: string, url: string, init?: RequestInit): Promise<any> {
  try {
    const res = await fetch(url, init);
    const text = await res.text();
    if (!res.ok) return failed(`${kind} ${res.status}`, text.slice(0, 200));
    count(kind);
    return res.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text;
  } catch (err) {
    failed(`${kind} network`, (err as Error).message);
  }
}

interface Node {
  readonly daemon: Daemon;
  readonly url: string;
  vmids: number[];
  /** The statuses of the last GET /v1/vms. */
  lastListing: { vmid: number; status: string }[];
}

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the load ----

async function startNodes(): Promise<Node[]> {
  const n = Math.ceil(opt.vms / VMS_PER_DEVICE);
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) {
    const config = checkConfig({ port: 0, mount: false, seed: 1000 + i, log_level: 'silent', vms: [] }, 'soak');
    if (config instanceof ConfigError) throw new Error(config.message);
    const daemon = await startDaemon(config, { surfaces: DEFAULT_SURFACES, log: pino({ level: 'silent' }) });
    nodes.push({ daemon, url: /API (http:\/\/\S+),/.exec(daemon.readyLine)![1]!, vmids: [], lastListing: [] });
  }
  return nodes;
}

async function createVms(nodes: Node[]): Promise<void> {
  await Promise.all(nodes.map(async (node, i) => {
    const share = Math.floor(opt.vms / nodes.length) + (i < opt.vms % nodes.length ? 1 : 0);
    for (let k = 0; k < share; k++) {
      const vm = await call('POST /v1/vms', `${node.url}/v1/vms`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `traffic-${i}-${k}`, image: 'traffic', vcpus: 1, params: { rate: opt.rate, console_rate: 1 } }),
      });
      if (vm) node.vmids.push(vm.vmid);
    }
  }));
}

interface Reader {
  readonly vmid: number;
  bytes: number;
  endedEarly: boolean;
}

function startReaders(nodes: Node[], stop: AbortSignal): Reader[] {
  const all = nodes.flatMap((node) => node.vmids.map((vmid) => ({ node, vmid })));
  const readers: Reader[] = [];
  for (let i = 0; i < Math.min(opt.readers, all.length); i++) {
    const { node, vmid } = all[Math.floor((i * all.length) / Math.min(opt.readers, all.length))]!;
    const reader: Reader = { vmid, bytes: 0, endedEarly: false };
    readers.push(reader);
    void (async () => {
      try {
        const res = await fetch(`${node.url}/v1/vms/${vmid}/console?history=0`, { signal: stop });
        if (!res.ok || res.body === null) return failed(`console stream ${res.status}`, await res.text());
        count('GET console stream');
        const body = res.body.getReader();
        for (let r = await body.read(); !r.done; r = await body.read()) reader.bytes += r.value.length;
        if (!stop.aborted) reader.endedEarly = true;
      } catch (err) {
        if (!stop.aborted) failed('console stream network', (err as Error).message);
      }
    })();
  }
  return readers;
}

/** GET /v1/vms and a few GET /v1/vms/{vmid} per node, every pollMs. */
async function poll(nodes: Node[], until: number): Promise<void> {
  let turn = 0;
  while (Date.now() < until) {
    await Promise.all(nodes.map(async (node) => {
      const list = await call('GET /v1/vms', `${node.url}/v1/vms`) as { vmid: number; status: string }[] | undefined;
      if (list) node.lastListing = list;
      for (let k = 0; k < 10 && node.vmids.length > 0; k++) {
        const vmid = node.vmids[(turn * 10 + k) % node.vmids.length]!;
        const vm = await call('GET /v1/vms/{vmid}', `${node.url}/v1/vms/${vmid}`);
        if (vm && vm.status !== 'running') failed('VM not running', `VM ${vmid} is ${vm.status}`);
      }
    }));
    turn++;
    await sleep(opt.pollMs);
  }
}

/** A Prometheus-style scrape of every node, every scrapeMs. */
async function scrape(nodes: Node[], until: number, sizes: number[]): Promise<void> {
  while (Date.now() < until) {
    await Promise.all(nodes.map(async (node) => {
      const text = await call('GET /metrics', `${node.url}/metrics`, { headers: { accept: 'text/plain;version=0.0.4' } }) as string | undefined;
      if (text === undefined) return;
      sizes.push(text.length);
      if (!text.includes('gunyah_msgq_messages_total')) failed('metrics content', 'no gunyah_msgq_messages_total family');
    }));
    await sleep(opt.scrapeMs);
  }
}

interface Memory {
  readonly at: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** Buffers outside the heap: guest memory pages, console rings, sockets. */
  readonly arrayBuffers: number;
}

/** Memory after a full GC, with a second one a second later: RSS lags what a collection frees. */
async function memory(start: number): Promise<Memory> {
  gc();
  await sleep(1000);
  gc();
  const m = process.memoryUsage();
  return { at: Date.now() - start, rss: m.rss, heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

// ---- the checks ----

function checkInvariants(nodes: Node[], readers: Reader[]): string[] {
  const broken: string[] = [];
  for (const [i, { daemon, lastListing }] of nodes.entries()) {
    const { device, hlos } = daemon.context;
    for (const obj of device.hyp.objects.values()) {
      if (obj.type !== 'msgqueue') continue;
      const q = obj as Msgqueue;
      if (q.flushes === 0 && q.count !== q.sent - q.received) broken.push(`node ${i} queue ${q.id}: count ${q.count} != sent ${q.sent} - received ${q.received}`);
      if (q.count > q.depth) broken.push(`node ${i} queue ${q.id}: count ${q.count} > depth ${q.depth}`);
    }
    for (const rec of hlos.vms.list()) {
      const rm = device.system.rm.lookup(rec.vmid);
      if (rm?.status !== rec.status) broken.push(`node ${i} VM ${rec.vmid}: RM says ${rm?.status}, HLOS says ${rec.status}`);
      if (rec.status !== VM_STATUS.RUNNING || rec.osStatus !== OS_STATUS.RUN) broken.push(`node ${i} VM ${rec.vmid}: status ${rec.status}, os_status ${rec.osStatus}`);
      const listed = lastListing.find((v) => v.vmid === rec.vmid);
      if (listed?.status !== 'running') broken.push(`node ${i} VM ${rec.vmid}: the last GET /v1/vms said ${listed?.status}`);
      const sink = hlos.trafficSinks.get(rec.vmid);
      const rx = rec.resources.find((r) => r.type === HYP_RESOURCE_TYPE.MSG_QUEUE_RECV);
      const vm = device.hyp.vms.get(rec.vmid);
      const cap = rx && device.hyp.vms.get(3)!.cspace.lookup<Msgqueue>(Number(rx.capid & 0xffff_ffffn), Number(rx.capid >> 32n), 'msgqueue', 0);
      if (sink === undefined || cap === undefined || typeof cap === 'number' || vm === undefined) {
        broken.push(`node ${i} VM ${rec.vmid}: no traffic sink or queue to the HLOS`);
        continue;
      }
      if (sink.counters.messages !== cap.received) broken.push(`node ${i} VM ${rec.vmid}: the sink consumed ${sink.counters.messages}, the queue counts ${cap.received} received`);
      if (cap.sent === 0 || sink.counters.rings === 0) broken.push(`node ${i} VM ${rec.vmid}: no traffic (sent ${cap.sent}, rings taken ${sink.counters.rings})`);
    }
  }
  for (const r of readers) {
    if (r.bytes === 0) broken.push(`console reader of VM ${r.vmid} received nothing`);
    if (r.endedEarly) broken.push(`console stream of VM ${r.vmid} ended before the soak did`);
  }
  if (errors.size > 0) broken.push(`${[...errors.values()].reduce((n, e) => n + e.count, 0)} failed requests`);
  return broken;
}

// ---- the run ----

async function main(): Promise<void> {
  const t0 = Date.now();
  console.log(`soak: ${opt.vms} traffic VMs at ${opt.rate} msg/s each, ${opt.readers} console readers, polling every ${opt.pollMs} ms, `
    + `scrapes every ${opt.scrapeMs} ms, for ${opt.minutes} min (warm-up ${warmupMs / 1000} s)`);
  const nodes = await startNodes();
  await createVms(nodes);
  console.log(`  ${nodes.length} daemons, ${nodes.reduce((n, d) => n + d.vmids.length, 0)} VMs created in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const start = Date.now();
  const until = start + durationMs;
  const stopReaders = new AbortController();
  const readers = startReaders(nodes, stopReaders.signal);
  const scrapeSizes: number[] = [];
  const samples: Memory[] = [];
  const load = Promise.all([poll(nodes, until), scrape(nodes, until, scrapeSizes)]);
  // The first full collection after a long run of allocations leaves RSS high for a few seconds: it comes first.
  await sleep(warmupMs - 5_000);
  gc();
  await sleep(5_000);
  const baseline = await memory(start);
  samples.push(baseline);
  while (Date.now() < until - 10_000) {
    await sleep(10_000);
    samples.push(await memory(start));
    const last = samples.at(-1)!;
    console.log(`  t=${(last.at / 1000).toFixed(0)} s  rss ${mb(last.rss)} MB  heap ${mb(last.heapUsed)} MB  buffers ${mb(last.arrayBuffers)} MB  requests ${[...requests.values()].reduce((a, b) => a + b, 0)}  errors ${errors.size}`);
  }
  await load;
  const end = await memory(start);
  const broken = checkInvariants(nodes, readers);
  const sent = nodes.reduce((n, node) => n + [...node.daemon.context.device.hyp.objects.values()]
    .filter((o): o is Msgqueue => o.type === 'msgqueue').reduce((m, q) => m + q.sent, 0), 0);
  stopReaders.abort();
  for (const node of nodes) await node.daemon.close();

  const served = [...requests.values()].reduce((a, b) => a + b, 0);
  const failedCount = [...errors.values()].reduce((n, e) => n + e.count, 0);
  const rssRatio = end.rss / baseline.rss;
  const heapRatio = end.heapUsed / baseline.heapUsed;
  if (rssRatio > opt.maxGrowth) broken.push(`RSS grew ${rssRatio.toFixed(2)}x (limit ${opt.maxGrowth}x)`);
  if (heapRatio > opt.maxGrowth) broken.push(`heap used grew ${heapRatio.toFixed(2)}x (limit ${opt.maxGrowth}x)`);

  console.log('\nrequests served:');
  for (const [kind, n] of [...requests].sort()) console.log(`  ${kind.padEnd(24)} ${n}`);
  console.log(`  ${'total'.padEnd(24)} ${served}`);
  console.log(`errors: ${failedCount}`);
  for (const [kind, e] of errors) console.log(`  ${kind}: ${e.count} (e.g. ${e.example})`);
  console.log(`queue messages sent (all queues, RM links included): ${sent}`);
  console.log(`console bytes read: ${readers.reduce((n, r) => n + r.bytes, 0)} by ${readers.length} readers (least ${Math.min(...readers.map((r) => r.bytes))})`);
  console.log(`/metrics: ${scrapeSizes.length} scrapes, ${mb(scrapeSizes.reduce((a, b) => a + b, 0) / Math.max(1, scrapeSizes.length))} MB each on average`);
  console.log(`memory after GC: RSS ${mb(baseline.rss)} -> ${mb(end.rss)} MB (x${rssRatio.toFixed(3)}), heap used ${mb(baseline.heapUsed)} -> ${mb(end.heapUsed)} MB (x${heapRatio.toFixed(3)}), `
    + `buffers ${mb(baseline.arrayBuffers)} -> ${mb(end.arrayBuffers)} MB`);
  const rss = [...samples, end].map((m) => m.rss);
  console.log(`  (baseline at t=${(baseline.at / 1000).toFixed(0)} s after warm-up, end at t=${(end.at / 1000).toFixed(0)} s; `
    + `RSS over ${rss.length} readings ${mb(Math.min(...rss))}-${mb(Math.max(...rss))} MB)`);
  if (broken.length === 0) {
    console.log('invariants: all hold');
    process.exit(0);
  }
  console.log(`invariants: ${broken.length} broken`);
  for (const b of broken.slice(0, 30)) console.log(`  ${b}`);
  process.exit(1);
}

await main();
