// REST throughput against a bare Fastify route returning the same JSON, in the same run (issue 5 targets: reads at
// least 80% of the bare rate, the RM-backed state query at least 50%). The daemon's server (the services gunyahd
// serves, /metrics hooks and tracing included) runs in a child process on a booted device (RM, HLOS and one idle
// VM created through the API); autocannon drives it from this process, alternating API and bare rounds so drift on
// a shared machine hits both. Each route prints the best round of each side and their ratio, the range of the
// ratios of the paired rounds (the spread on this machine), and the server's CPU time per request on each side (the
// child's own CPU clock: less moved by the load of other processes than the rates). Rate limiting is off (the
// daemon's default limit would cap autocannon, not measure the route).
// Run: npx tsc -p . && node dist/bench/rest.bench.js [ROUTE-SUBSTRING]
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { bootDevice } from '../core/hlos/device.js';
import { VMID } from '../core/abi/vmid.js';
import { deviceServices } from '../server/device-services.js';
import { startServer } from '../server/start.js';
import { fmt, report } from './measure.js';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}
type Autocannon = (opts: { url: string; connections: number; duration: number }) => Promise<AutocannonResult>;

const ROUNDS = 4;
const ROUND_SECONDS = 3;
const CONNECTIONS = 10;
const READ_TARGET = 0.8;
const RM_TARGET = 0.5;

interface Target {
  name: string;
  api: string;
  bare: string;
  /** The least API/bare ratio the issue asks for. */
  ratio: number;
}

interface ChildMessage {
  targets?: Target[];
  cpu?: number;
}

/** Child: the daemon's server on a booted device, and a bare Fastify app answering the same bodies. */
async function serve(): Promise<void> {
  const device = bootDevice({ seed: 1 });
  const services = deviceServices(device, { processMetrics: false });
  const server = await startServer(services, { port: 0, rateLimit: false });
  const inject = async <T>(method: 'GET' | 'POST', url: string, payload?: object): Promise<T> => {
    const r = await server.app.inject({ method, url, ...(payload ? { payload } : {}) });
    if (r.statusCode >= 300) throw new Error(`${method} ${url}: ${r.statusCode} ${r.body}`);
    return r.json<T>();
  };
  const rmLink = (await inject<{ capid: string }[]>('GET', `/v1/vms/${VMID.HLOS}/msgqs`))[0]!;
  const { vmid } = await inject<{ vmid: number }>('POST', '/v1/vms', { name: 'bench', image: 'idle', vcpus: 1 });
  const routes: [name: string, path: string, ratio: number][] = [
    ['GET /v1/hypervisor', '/v1/hypervisor', READ_TARGET],
    ['GET /v1/vms/{vmid}', `/v1/vms/${vmid}`, READ_TARGET],
    ['GET /v1/vms/{vmid}/msgqs/{capid}', `/v1/vms/${VMID.HLOS}/msgqs/${rmLink.capid}`, READ_TARGET],
    ['GET /v1/vms/{vmid}/state (VM_GET_STATE over RM RPC)', `/v1/vms/${vmid}/state`, RM_TARGET],
  ];
  const bare = Fastify();
  for (const [, path] of routes) {
    const body = await inject<unknown>('GET', path);
    bare.get(`/bare${path}`, async () => body);
  }
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const bareUrl = `http://127.0.0.1:${(bare.server.address() as AddressInfo).port}`;
  const targets: Target[] = routes.map(([name, path, ratio]) => ({ name, api: `${server.url}${path}`, bare: `${bareUrl}/bare${path}`, ratio }));
  process.send!({ targets });
  // The measuring side asks for this process's CPU time around each round (µs, user + system).
  process.on('message', () => {
    const { user, system } = process.cpuUsage();
    process.send!({ cpu: user + system });
  });
  process.once('disconnect', async () => {
    await server.close();
    await bare.close();
    services.close();
    device.close();
  });
}

async function measure(only: string | undefined): Promise<void> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const message = () => new Promise<ChildMessage>((resolve) => child.once('message', (m) => resolve(m as ChildMessage)));
  const all = (await message()).targets!;
  const targets = all.filter((t) => only === undefined || t.name.includes(only));
  const serverCpu = async () => {
    const answer = message();
    child.send('cpu');
    return (await answer).cpu!;
  };
  /** One round: the rate, and the server's CPU time per request (µs), which the load on the machine moves less. */
  const run = async (url: string) => {
    const cpu = await serverCpu();
    const r = await autocannon({ url, connections: CONNECTIONS, duration: ROUND_SECONDS });
    if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx answers, ${r.errors} errors`);
    return { ...r, cpuPerRequest: (await serverCpu() - cpu) / r.requests.total };
  };
  // Warm every target up first: the first seconds of a fresh server are slow (JIT, lazily built code paths).
  for (let i = 0; i < 2; i++) for (const t of targets) for (const url of [t.api, t.bare]) await run(url);
  const verdicts: string[] = [];
  for (const t of targets) {
    let api = { rate: 0, p99: 0 };
    let bare = { rate: 0, p99: 0 };
    const paired: number[] = [];
    const cpu = { api: Infinity, bare: Infinity };
    for (let i = 0; i < ROUNDS; i++) {
      const a = await run(t.api);
      const b = await run(t.bare);
      paired.push(a.requests.average / b.requests.average);
      if (a.requests.average > api.rate) api = { rate: a.requests.average, p99: a.latency.p99 };
      if (b.requests.average > bare.rate) bare = { rate: b.requests.average, p99: b.latency.p99 };
      cpu.api = Math.min(cpu.api, a.cpuPerRequest);
      cpu.bare = Math.min(cpu.bare, b.cpuPerRequest);
    }
    const ratio = api.rate / bare.rate;
    const met = ratio >= t.ratio;
    report(t.name, `${fmt(api.rate)} req/s`, `p99 ${api.p99} ms, server CPU ${cpu.api.toFixed(0)} us/req`);
    report('  bare Fastify, same JSON', `${fmt(bare.rate)} req/s`, `p99 ${bare.p99} ms, server CPU ${cpu.bare.toFixed(0)} us/req`);
    report(`  ratio, best rounds (target >= ${t.ratio})`, ratio.toFixed(2), met ? 'met' : 'NOT MET');
    report('  ratio of each paired round', `${Math.min(...paired).toFixed(2)}-${Math.max(...paired).toFixed(2)}`);
    report('  server CPU per request, bare / API', (cpu.bare / cpu.api).toFixed(2));
    verdicts.push(`${t.name}: ${ratio.toFixed(2)} of bare, target ${t.ratio} ${met ? 'met' : 'NOT MET'}`);
  }
  console.log(`\n${verdicts.join('\n')}`);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.disconnect();
  await exited;
  process.exitCode = verdicts.some((v) => v.endsWith('NOT MET')) ? 1 : 0;
}

if (process.argv[2] === 'serve') await serve();
else await measure(process.argv[2]);
