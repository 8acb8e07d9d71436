// Consoles over HTTP (issue 6 targets: p99 <= 5 ms from a guest's console write to an HTTP client on an idle
// daemon; >= 10 MB/s to one client). A booted device with the console hub and the REST app on a loopback port;
// guests write their consoles through RM RPC as real guests do; the clients run in a worker thread (their own
// event loop and core, like a separate program) and read the same monotonic clock as the guest.
//   latency     a guest writes "#<seq>\n" every 2 ms, noting the time just before its VM_CONSOLE_WRITE; the client
//               notes when the line arrives: raw chunked stream, server-sent events, WebSocket
//   throughput  bytes counted as clients receive them, for 1 client of each kind and 50 clients, from two sources:
//               guest    a guest writes CONSOLE_WRITE_MAX bytes back to back through the RM (end to end: bounded by
//                        the guest's RM round trips, see bench/console.bench.ts)
//               hlos     VM_CONSOLE_CHARS packets handed to the HLOS driver as fast as the slowest client takes them
//                        (what the HTTP side can carry: the hub, the pump and the sockets)
//               bytes the clients lost (too slow) are reported apart
// Run: npx tsc -p . && node dist/bench/console-http.bench.js [latency|throughput]
import { get } from 'node:http';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import WebSocket from 'ws';
import { RM_NOTIF } from '../core/abi/rm.js';
import { VMID } from '../core/abi/vmid.js';
import { runImage } from '../core/guests/images/common.js';
import { readParams, type ImageDefinition, type NoParams } from '../core/guests/image-types.js';
import { BUILT_IN_IMAGES } from '../core/guests/loader.js';
import { ConsoleHub } from '../core/hlos/console-hub.js';
import { bootDevice } from '../core/hlos/device.js';
import { CONSOLE_WRITE_MAX } from '../core/hlos/rm-calls.js';
import { RmFailure } from '../core/hlos/rm-failure.js';
import { VmError } from '../core/hlos/vm-manager.js';
import { VmConsoleCharsNotification } from '../core/rm/messages.js';
import { encodeMessage } from '../core/rm/rpc-codec.js';
import { buildApp } from '../server/app.js';
import { percentile, report } from './measure.js';

/** Console clients; `tcp` is the baseline: bare loopback TCP between the same two threads, no daemon. */
type Kind = 'raw' | 'sse' | 'ws' | 'tcp';

interface ClientJob {
  readonly url: string;
  readonly kind: Kind;
  readonly clients: number;
  /** Latency: arrival times by seq (hrtime ns), written by the worker. */
  readonly arrivals?: SharedArrayBuffer;
  /** Throughput: bytes received per client. */
  readonly received?: SharedArrayBuffer;
}

const LATENCY_SAMPLES = 1000;
const LATENCY_GAP_NS = 2_000_000;
const THROUGHPUT_ROUNDS = 3;
const ROUND_MS = 1000;
const P99_TARGET_US = 5000;
const THROUGHPUT_TARGET = 10e6;

// ---- the clients (worker thread) ----

/** Output bytes of one stream as they arrive, whatever the transport. */
function connect(job: ClientJob, onBytes: (bytes: Buffer) => void): void {
  if (job.kind === 'tcp') {
    netConnect(Number(new URL(job.url).port), '127.0.0.1').on('data', onBytes);
    return;
  }
  if (job.kind === 'ws') {
    const socket = new WebSocket(job.url.replace(/^http/, 'ws') + '/ws');
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) onBytes(data);
    });
    return;
  }
  const headers = job.kind === 'sse' ? { accept: 'text/event-stream' } : {};
  get(job.url, { headers, agent: false }, (res) => {
    if (job.kind === 'raw') {
      res.on('data', onBytes);
      return;
    }
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
      for (let cut = text.indexOf('\n\n'); cut >= 0; cut = text.indexOf('\n\n')) {
        const block = text.slice(0, cut);
        text = text.slice(cut + 2);
        const at = block.indexOf('"data":"');
        if (block.startsWith('id: ') && block.includes('event: output') && at >= 0) {
          onBytes(Buffer.from(block.slice(at + 8, block.lastIndexOf('"')), 'base64'));
        }
      }
    });
  });
}

function runClients(job: ClientJob): void {
  for (let c = 0; c < job.clients; c++) {
    if (job.arrivals !== undefined) {
      const arrivals = new BigInt64Array(job.arrivals);
      let line = '';
      connect(job, (bytes) => {
        const now = process.hrtime.bigint();
        line += bytes.toString('latin1');
        for (let nl = line.indexOf('\n'); nl >= 0; nl = line.indexOf('\n')) {
          const seq = Number(line.slice(line.indexOf('#') + 1, nl));
          line = line.slice(nl + 1);
          if (seq < arrivals.length) arrivals[seq] = now;
        }
      });
    } else {
      const received = new Float64Array(job.received!);
      connect(job, (bytes) => (received[c]! += bytes.length));
    }
  }
  parentPort!.postMessage('connected');
}

if (!isMainThread) runClients(workerData as ClientJob);

// ---- the daemon side (main thread) ----

/** Once `go` is set, writes "#<seq>\n" every LATENCY_GAP_NS, noting the time just before each VM_CONSOLE_WRITE. */
function pinger(sent: BigInt64Array, go: { started: boolean }): ImageDefinition<NoParams> {
  return {
    name: 'console-ping',
    description: 'timestamped console lines',
    params: (raw) => readParams<NoParams>(raw, {}),
    program: (ctx) => (cpu) => runImage(cpu, ctx, {
      async serve(g) {
        while (!go.started) await g.rt.sleep(10_000_000);
        for (let seq = 0; seq < sent.length; seq++) {
          const line = new TextEncoder().encode(`#${seq}\n`);
          sent[seq] = process.hrtime.bigint();
          const r = await g.rm.consoleWrite(VMID.SELF, line);
          if (r instanceof RmFailure) throw new Error(r.message);
          await g.rt.sleep(LATENCY_GAP_NS);
        }
        await new Promise<never>(() => {});
      },
    }),
  };
}

/** Writes its console back to back, CONSOLE_WRITE_MAX bytes at a time, once `go` is set. */
function flood(go: { started: boolean }): ImageDefinition<NoParams> {
  return {
    name: 'console-flood',
    description: 'writes its console as fast as it can',
    params: (raw) => readParams<NoParams>(raw, {}),
    program: (ctx) => (cpu) => runImage(cpu, ctx, {
      async serve(g) {
        const bytes = new Uint8Array(CONSOLE_WRITE_MAX).fill(0x2e);
        while (!go.started) await g.rt.sleep(10_000_000);
        for (;;) {
          const r = await g.rm.consoleWrite(VMID.SELF, bytes);
          if (r instanceof RmFailure) throw new Error(r.message);
        }
      },
    }),
  };
}

/** A VM for the HLOS-fed runs: it has a console and writes nothing itself. */
const idle = BUILT_IN_IMAGES.get('idle') as ImageDefinition<NoParams>;

async function daemon(image: ImageDefinition<NoParams>) {
  const device = bootDevice({ seed: 1, images: new Map([...BUILT_IN_IMAGES, [image.name, image]]) });
  const hub = new ConsoleHub(device.hlos.rm, device.hlos.vms, { rmEvents: device.system.rm.events });
  const app = await buildApp({ hyp: device.hyp, hlos: device.hlos, consoles: hub }, { rateLimit: false });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const vm = await device.hlos.createVm({ name: 'bench', image: image.name });
  if (vm instanceof VmError) throw new Error(vm.detail);
  return {
    hub, vmid: vm.vmid, url: `${base}/v1/vms/${vm.vmid}/console`, client: device.hlos.client,
    async close() {
      await app.close();
      hub.close();
      device.close();
    },
  };
}

async function startClients(job: ClientJob): Promise<Worker> {
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  await new Promise((resolve) => worker.once('message', resolve));
  return worker;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function latency(kind: Kind): Promise<number[]> {
  const sent = new BigInt64Array(LATENCY_SAMPLES);
  const go = { started: false };
  const d = await daemon(pinger(sent, go));
  const arrivals = new SharedArrayBuffer(LATENCY_SAMPLES * 8);
  const worker = await startClients({ url: d.url, kind, clients: 1, arrivals });
  const got = new BigInt64Array(arrivals);
  while (d.hub.readers(d.vmid) < 1) await sleep(10);
  go.started = true;
  const deadline = performance.now() + 60_000;
  while (got[LATENCY_SAMPLES - 1] === 0n) {
    if (performance.now() > deadline) throw new Error(`${kind}: line ${LATENCY_SAMPLES - 1} never arrived`);
    await sleep(50);
  }
  await worker.terminate();
  await d.close();
  // The first tenth warms the JIT up.
  return Array.from({ length: LATENCY_SAMPLES }, (_, i) => Number(got[i]! - sent[i]!) / 1000).slice(LATENCY_SAMPLES / 10);
}

/**
 * The same measurement over a bare loopback TCP socket from a 2 ms timer on the main thread: what this machine's
 * scheduling and the worker's own reading cost, with no daemon in the way. The console figures are read against it.
 */
async function baseline(): Promise<number[]> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const arrivals = new SharedArrayBuffer(LATENCY_SAMPLES * 8);
  const worker = await startClients({ url: `http://127.0.0.1:${port}`, kind: 'tcp', clients: 1, arrivals });
  while (sockets.length === 0) await sleep(10);
  const sent = new BigInt64Array(LATENCY_SAMPLES);
  for (let seq = 0; seq < LATENCY_SAMPLES; seq++) {
    sent[seq] = process.hrtime.bigint();
    sockets[0]!.write(`#${seq}\n`);
    await sleep(LATENCY_GAP_NS / 1e6);
  }
  const got = new BigInt64Array(arrivals);
  while (got[LATENCY_SAMPLES - 1] === 0n) await sleep(10);
  await worker.terminate();
  for (const socket of sockets) socket.destroy();
  server.close();
  return Array.from({ length: LATENCY_SAMPLES }, (_, i) => Number(got[i]! - sent[i]!) / 1000).slice(LATENCY_SAMPLES / 10);
}

interface Throughput {
  /** Best round: bytes per second received by each client (the mean over clients). */
  readonly perClient: number;
  readonly aggregate: number;
  /** Bytes per second of console output in that round. */
  readonly guest: number;
  /** Share of the guest's output the clients skipped, over all rounds. */
  readonly lostShare: number;
}

type Source = 'guest' | 'hlos';

/**
 * Hand VM_CONSOLE_CHARS of `vmid` to the HLOS driver while `running`, keeping the slowest client within half the
 * ring of the output (so a client that keeps up never loses bytes), yielding to the event loop between batches.
 */
async function feedHlos(d: Awaited<ReturnType<typeof daemon>>, slowest: () => number, running: () => boolean): Promise<void> {
  const payload = VmConsoleCharsNotification.encode({ vmid: d.vmid, bytes: new Uint8Array(CONSOLE_WRITE_MAX).fill(0x2e) });
  const packets = encodeMessage('notification', RM_NOTIF.VM_CONSOLE_CHARS, 0, payload as Uint8Array) as Uint8Array[];
  while (running()) {
    if (d.hub.bytesOut(d.vmid) - slowest() < d.hub.ringBytes / 2) {
      for (const p of packets) d.client.deliver(p);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function throughput(kind: Kind, clients: number, source: Source): Promise<Throughput> {
  const go = { started: false };
  const d = await daemon(source === 'guest' ? flood(go) : idle);
  const received = new SharedArrayBuffer(clients * 8);
  const worker = await startClients({ url: d.url, kind, clients, received });
  const counts = new Float64Array(received);
  const total = () => counts.reduce((a, b) => a + b, 0);
  while (d.hub.readers(d.vmid) < clients) await sleep(10);
  go.started = true;
  const feeding = source === 'hlos' ? feedHlos(d, () => Math.min(...counts), () => go.started) : null;
  await sleep(300); // warm-up
  let best = { perClient: 0, aggregate: 0, guest: 0 };
  const out0 = d.hub.bytesOut(d.vmid);
  const lost0 = d.hub.droppedBytes(d.vmid);
  for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
    const from = total();
    const out = d.hub.bytesOut(d.vmid);
    const start = performance.now();
    await sleep(ROUND_MS);
    const seconds = (performance.now() - start) / 1000;
    const aggregate = (total() - from) / seconds;
    if (aggregate > best.aggregate) best = { perClient: aggregate / clients, aggregate, guest: (d.hub.bytesOut(d.vmid) - out) / seconds };
  }
  const lostShare = (d.hub.droppedBytes(d.vmid) - lost0) / ((d.hub.bytesOut(d.vmid) - out0) * clients);
  go.started = false;
  await feeding;
  await worker.terminate();
  await d.close();
  return { ...best, lostShare };
}

if (isMainThread) {
  const only = process.argv[2];
  const us = (n: number) => `${n.toFixed(0)} us`;
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB/s`;
  if (only !== 'throughput') {
    const samples = await baseline();
    report('baseline: loopback TCP, main thread -> worker, p50', us(percentile(samples, 50)), 'no daemon: the machine\'s floor');
    report('baseline: loopback TCP, main thread -> worker, p99', us(percentile(samples, 99)));
  }
  for (const kind of only === 'throughput' ? [] : ['raw', 'sse', 'ws'] as const) {
    const samples = await latency(kind);
    const p99 = percentile(samples, 99);
    report(`console write -> HTTP client latency, ${kind}, p50`, us(percentile(samples, 50)));
    report(`console write -> HTTP client latency, ${kind}, p99`, us(p99),
      `target <= ${P99_TARGET_US} us: ${p99 <= P99_TARGET_US ? 'met' : 'NOT met'}`);
  }
  for (const source of only === 'latency' ? [] : ['hlos', 'guest'] as const) {
    for (const [kind, clients] of [['raw', 1], ['sse', 1], ['ws', 1], ['raw', 50], ['sse', 50]] as const) {
      const t = await throughput(kind, clients, source);
      const note = clients === 1 ? `target >= ${mb(THROUGHPUT_TARGET)}: ${t.perClient >= THROUGHPUT_TARGET ? 'met' : 'NOT met'}` : `aggregate ${mb(t.aggregate)}`;
      report(`${source} -> ${clients} ${kind} client${clients > 1 ? 's' : ''}, per client`, mb(t.perClient), note);
      report(`  console output ${mb(t.guest)}; skipped by slow clients`, `${(t.lostShare * 100).toFixed(1)} %`);
    }
  }
}
