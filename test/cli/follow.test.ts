// gunyahctl events and top: the commands that follow the daemon, against one running gunyahd; and the events
// reconnection (Last-Event-ID) against a stand-in server that drops its stream on purpose.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { ctl, ctlEnv, spawnCtl, startGunyahd, waitFor, type Gunyahd } from './fixture.js';

let gunyahd: Gunyahd;
let env: NodeJS.ProcessEnv;

before(async () => {
  gunyahd = await startGunyahd();
  env = ctlEnv({ GUNYAH_URL: gunyahd.url });
});
after(() => gunyahd.close());

const exitOf = (child: ReturnType<typeof spawnCtl>) =>
  new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));

test('events prints a VM state change as one line, and --count ends it with exit 0', async () => {
  await ctl(['vm', 'create', '--image', 'idle', 'ev1'], env);
  const events = spawnCtl(['events', '--types', 'vm-status', '--count', '1'], env);
  const exited = exitOf(events);
  let stdout = '';
  events.stdout.on('data', (d: Buffer) => (stdout += d));
  await waitFor(events.stderr, /following events from http:/, 10_000);
  const stopped = await ctl(['vm', 'stop', 'ev1'], env);
  assert.equal(stopped.code, 0, stopped.stderr);
  const timer = setTimeout(() => events.kill(), 10_000);
  assert.equal(await exited, 0);
  clearTimeout(timer);
  assert.match(stdout, /^\d{4}-\d\d-\d\dT\S+Z \d+ vm-status vmid=\d+ name=ev1 status=\S+ os_status=\S+\n$/);
});

test('events --json prints each event\'s data; --since replays the history after an id', async () => {
  const r = await ctl(['--json', 'events', '--since', '0', '--count', '3'], env);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: number; type: string; time: string });
  assert.deepEqual(lines.map((e) => e.id), [1, 2, 3]);
  for (const e of lines) assert.match(e.time, /^\d{4}-/);
  assert.match(r.stderr, /following events from .* after event 0/);
  const unknown = await ctl(['events', '--types', 'no-such-type'], env);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /^gunyahctl: VALIDATION_FAILED: unknown event type no-such-type/);
});

test('events ends with exit 0 on SIGINT', async () => {
  const events = spawnCtl(['events'], env);
  const exited = exitOf(events);
  await waitFor(events.stderr, /following events/, 10_000);
  events.kill('SIGINT');
  assert.equal(await exited, 0);
});

test('events ends with exit 0 when its reader goes away (a closed pipe)', async () => {
  const events = spawnCtl(['events', '--types', 'vm-status'], env);
  const exited = exitOf(events);
  await waitFor(events.stderr, /following events/, 10_000);
  events.stdout.destroy();
  // The next event finds the pipe closed.
  await ctl(['vm', 'create', '--image', 'idle', 'ev-pipe'], env);
  const timer = setTimeout(() => events.kill(), 10_000);
  assert.equal(await exited, 0);
  clearTimeout(timer);
});

test('console attaches to a VM\'s console: its output comes out, input goes in, the escape character detaches (exit 0)', async () => {
  const attached = spawnCtl(['console', 'svm1', '--escape', '^A'], env);
  const exited = exitOf(attached);
  let stderr = '';
  attached.stderr.on('data', (d: Buffer) => (stderr += d));
  await waitFor(attached.stdout, /echo> $/, 10_000);
  attached.stdin.write('from gunyahctl\r');
  await waitFor(attached.stdout, /from gunyahctl\r\n/, 10_000);
  attached.stdin.write('\x01');
  assert.equal(await exited, 0);
  assert.match(stderr, /^Connected to VM svm1 \(VMID 128\)\. Escape character is \^A/);
  assert.match(stderr, /\[detached\]/);
  const unknown = await ctl(['console', '77'], env);
  assert.equal(unknown.code, 4);
  assert.match(unknown.stderr, /^gunyahctl: (VM|CONSOLE)_NOT_FOUND: /);
});

test('top --once prints one frame: every VM with its rates over the interval; the traffic VM makes hypercalls', async () => {
  const r = await ctl(['top', '--once', '--interval', '500'], env);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^gunyahctl top {2}http:\/\/127\.0\.0\.1:\d+ {2}\d\d:\d\d:\d\d {2}\d+ VMs {2}hypercalls [\d.]+\/s {2}messages [\d.]+\/s {2}rings [\d.]+\/s$/);
  assert.match(lines[2]!, /^VMID +NAME +TYPE +STATUS +OS STATUS +IMAGE +VCPUS +HCALL\/S +MSG TX\/S +MSG RX\/S +RINGS\/S$/);
  for (const name of ['HLOS', 'svm1', 'svm2', 'RM']) assert.match(r.stdout, new RegExp(`^ +\\d+ +${name} `, 'm'));
  const svm2 = /^ +129 +svm2 +secondary +running +\S+ +traffic +1 +([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+)$/m.exec(r.stdout);
  assert.ok(svm2, `svm2's row: ${r.stdout}`);
  assert.ok(Number(svm2[1]) > 0, 'svm2 makes hypercalls');
  assert.ok(Number(svm2[2]) > 0, 'svm2 sends messages');

  const json = await ctl(['--json', 'top', '--once', '--interval', '300'], env);
  const frame = JSON.parse(json.stdout) as { vms: { name: string; rates: { hypercalls: number } }[] };
  assert.ok(frame.vms.find((v) => v.name === 'svm2')!.rates.hypercalls > 0);
});

test('events reconnects with Last-Event-ID after its stream breaks, and sends the bearer token', async () => {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    // First connection: events 1 and 2, then the stream ends. Second: the event after the id it was given.
    const next = req.headers['last-event-id'] === undefined ? [1, 2] : [Number(req.headers['last-event-id']) + 1];
    for (const id of next) res.write(`id: ${id}\nevent: vm-status\ndata: {"id":${id},"type":"vm-status","time":"t${id}","vmid":128}\n\n`);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const r = await ctl(['events', '--count', '3'], ctlEnv({ GUNYAH_URL: url, GUNYAH_TOKEN: 's3cret' }));
  server.close();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 't1 1 vm-status vmid=128\nt2 2 vm-status vmid=128\nt3 3 vm-status vmid=128\n');
  assert.deepEqual(seen.map((h) => h['last-event-id']), [undefined, '2']);
  assert.deepEqual(seen.map((h) => h.authorization), ['Bearer s3cret', 'Bearer s3cret']);
  assert.match(r.stderr, /the event stream ended; reconnecting/);
});
