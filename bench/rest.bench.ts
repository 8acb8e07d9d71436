// REST read throughput against a bare Fastify route returning the same JSON, in the same run (issue 5 target:
// at least 80% of the bare rate). Both servers run in a child process on a booted device (RM and HLOS, no guest
// load); autocannon drives them from this process, alternating rounds so drift on a shared machine hits both.
// Rate limiting is off (the daemon's default limit would cap autocannon, not measure the route).
// Run: npx tsc -p . && node dist/bench/rest.bench.js
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { bootDevice } from '../core/hlos/device.js';
import { VMID } from '../core/abi/vmid.js';
import { startServer } from '../server/start.js';
import { fmt, report } from './measure.js';

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (opts: { url: string; connections: number; duration: number }) => Promise<AutocannonResult>;

const ROUNDS = 4;
const ROUND_SECONDS = 3;
const CONNECTIONS = 10;
const TARGET_RATIO = 0.8;

interface Targets {
  /** Read routes of the API, by name: their URLs. */
  api: Record<string, string>;
  /** The bare route serving each one's JSON. */
  bare: Record<string, string>;
}

/** Child: the daemon's server on a booted device, and a bare Fastify app answering the same bodies. */
async function serve(): Promise<void> {
  const device = bootDevice({ seed: 1 });
  const server = await startServer({ hyp: device.hyp, hlos: device.hlos }, { port: 0, rateLimit: false });
  const rmLink = (await server.app.inject({ url: `/v1/vms/${VMID.HLOS}/msgqs` })).json<{ capid: string }[]>()[0]!;
  const routes: Record<string, string> = {
    'GET /v1/hypervisor': '/v1/hypervisor',
    'GET /v1/vms/{vmid}/msgqs/{capid}': `/v1/vms/${VMID.HLOS}/msgqs/${rmLink.capid}`,
  };
  const bare = Fastify();
  for (const path of Object.values(routes)) {
    const body = (await server.app.inject({ url: path })).json<unknown>();
    bare.get(`/bare${path}`, async () => body);
  }
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}`;
  const targets: Targets = { api: {}, bare: {} };
  for (const [name, path] of Object.entries(routes)) {
    targets.api[name] = `${server.url}${path}`;
    targets.bare[name] = `${bareUrl}/bare${path}`;
  }
  process.stdout.write(`${JSON.stringify(targets)}\n`);
  process.stdin.resume();
  process.stdin.once('end', async () => {
    await server.close();
    await bare.close();
    device.close();
  });
}

async function measure(): Promise<void> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const targets = await new Promise<Targets>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as Targets)));
  const run = async (url: string) => {
    const r = await autocannon({ url, connections: CONNECTIONS, duration: ROUND_SECONDS });
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
    return r;
  };
  // Warm every target up first: the first seconds of a fresh server are slow (JIT, lazily built code paths).
  for (let i = 0; i < 2; i++) for (const url of [...Object.values(targets.api), ...Object.values(targets.bare)]) await run(url);
  let failed = false;
  for (const name of Object.keys(targets.api)) {
    let api = { rate: 0, p99: 0 };
    let bare = { rate: 0, p99: 0 };
    for (let i = 0; i < ROUNDS; i++) {
      const a = await run(targets.api[name]!);
      const b = await run(targets.bare[name]!);
      if (a.requests.average > api.rate) api = { rate: a.requests.average, p99: a.latency.p99 };
      if (b.requests.average > bare.rate) bare = { rate: b.requests.average, p99: b.latency.p99 };
    }
    const ratio = api.rate / bare.rate;
    report(`${name}`, `${fmt(api.rate)} req/s`, `p99 ${api.p99} ms`);
    report(`  bare Fastify, same JSON`, `${fmt(bare.rate)} req/s`, `p99 ${bare.p99} ms`);
    report(`  ratio (target >= ${TARGET_RATIO})`, ratio.toFixed(2), ratio >= TARGET_RATIO ? 'ok' : 'BELOW TARGET');
    if (ratio < TARGET_RATIO) failed = true;
  }
  child.stdin.end();
  await new Promise((resolve) => child.once('exit', resolve));
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[2] === 'serve') await serve();
else await measure();
