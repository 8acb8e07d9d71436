import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppOptions } from '../../server/app.js';
import { assertProblem, hex, MSGQ_DEPTH, serverFixture, VMID_A, VMID_B } from './fixture.js';

interface SseEvent {
  id: number | null;
  event: string;
  data: Record<string, unknown>;
}

/** A real-socket SSE reader: parses frames as they arrive, keeps comments apart. */
class SseClient {
  readonly events: SseEvent[] = [];
  comments = 0;
  status = 0;
  contentType = '';
  private buffer = '';
  private waiters: (() => void)[] = [];
  private res: IncomingMessage | null = null;
  readonly ended: Promise<void>;

  constructor(port: number, path: string, headers: Record<string, string> = {}) {
    this.ended = new Promise((resolve, reject) => {
      const req = get({ port, host: '127.0.0.1', path, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        this.res = res;
        this.status = res.statusCode!;
        this.contentType = res.headers['content-type'] ?? '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => this.feed(chunk));
        res.on('end', () => resolve());
        res.on('close', () => resolve());
        this.notify();
      });
      req.on('error', reject);
    });
  }

  private feed(chunk: string): void {
    const frames = (this.buffer + chunk).split('\n\n');
    this.buffer = frames.pop()!;
    for (const frame of frames) {
      if (frame.startsWith(':')) {
        this.comments++;
        continue;
      }
      const fields = new Map(frame.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
      this.events.push({ id: fields.has('id') ? Number(fields.get('id')) : null, event: fields.get('event')!, data: JSON.parse(fields.get('data')!) });
    }
    this.notify();
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Wait until `check` holds (re-checked on every chunk). */
  async until(check: () => boolean, what: string, ms = 3000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; have ${this.events.length} events, the last ${JSON.stringify(this.events.at(-1))?.slice(0, 200)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  pause(): void {
    this.res?.pause();
  }

  resume(): void {
    this.res?.resume();
  }

  close(): void {
    this.res?.destroy();
  }
}

async function listening(opts: AppOptions = {}) {
  const f = serverFixture();
  const baseline = f.hyp.events.listenerCount();
  const app = await buildApp(f.services, { rateLimit: false, ...opts });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const sse = (path = '/v1/events', headers: Record<string, string> = {}) => new SseClient(port, path, headers);
  return { f, app, port, sse, baseline };
}

/** Fill A's queue to the brim (msgq-full), then take one message (msgq-drain). */
async function fillAndDrain(app: FastifyInstance, f: ReturnType<typeof serverFixture>): Promise<void> {
  for (let i = 0; i < MSGQ_DEPTH; i++) {
    await app.inject({ method: 'POST', url: `/v1/vms/${VMID_A}/msgqs/${hex(f.msgq.a)}/send`, payload: { data: `m${i}` } });
  }
  await app.inject({ method: 'POST', url: `/v1/vms/${VMID_B}/msgqs/${hex(f.msgq.b)}/receive` });
}

test('events: VM creation and queue full/drain arrive as server-sent events with increasing ids', async () => {
  const { f, app, sse } = await listening();
  const client = sse();
  await client.until(() => client.comments > 0, 'the opening comment');
  assert.equal(client.status, 200);
  assert.match(client.contentType, /^text\/event-stream/);
  f.hyp.createVm({ vmid: 0x90, name: 'late', vcpus: 1 });
  await fillAndDrain(app, f);
  f.hyp.destroyVm(0x90);
  await client.until(() => client.events.length === 4, 'four events');
  assert.deepEqual(client.events.map((e) => e.event), ['vm-created', 'msgq-full', 'msgq-drain', 'vm-destroyed']);
  const ids = client.events.map((e) => e.id!);
  assert.deepEqual(ids, [ids[0]!, ids[0]! + 1, ids[0]! + 2, ids[0]! + 3]);
  assert.deepEqual(client.events[0]!.data, { id: ids[0], type: 'vm-created', time: client.events[0]!.data.time, vmid: 0x90, name: 'late' });
  assert.match(client.events[0]!.data.time as string, /^\d{4}-\d\d-\d\dT/);
  assert.deepEqual(client.events[1]!.data.depth, MSGQ_DEPTH);
  assert.deepEqual(client.events[1]!.data.count, MSGQ_DEPTH);
  assert.deepEqual(client.events[2]!.data.count, MSGQ_DEPTH - 1);
  client.close();
  await app.close();
});

test('events: ?types= delivers only the types asked for', async () => {
  const { f, app, sse } = await listening();
  const client = sse('/v1/events?types=msgq-drain,vm-destroyed');
  await client.until(() => client.comments > 0, 'the opening comment');
  f.hyp.createVm({ vmid: 0x90, name: 'late', vcpus: 1 });
  await fillAndDrain(app, f);
  f.hyp.destroyVm(0x90);
  await client.until(() => client.events.length === 2, 'two events');
  assert.deepEqual(client.events.map((e) => e.event), ['msgq-drain', 'vm-destroyed']);
  client.close();
  await app.close();
});

test('events: reconnecting with Last-Event-ID replays exactly the events after it', async () => {
  const { f, app, sse } = await listening();
  const first = sse();
  await first.until(() => first.comments > 0, 'the opening comment');
  await fillAndDrain(app, f);
  await first.until(() => first.events.length === 2, 'full and drain');
  const last = first.events[1]!.id!;
  first.close();
  await first.ended;
  f.hyp.createVm({ vmid: 0x90, name: 'while-away', vcpus: 1 });
  f.hyp.destroyVm(0x90);
  const second = sse('/v1/events', { 'last-event-id': String(last) });
  await second.until(() => second.events.length === 2, 'the two missed events');
  assert.deepEqual(second.events.map((e) => [e.id, e.event]), [[last + 1, 'vm-created'], [last + 2, 'vm-destroyed']]);
  // And live events follow the replay.
  await fillAndDrain(app, f);
  await second.until(() => second.events.length === 4, 'live events');
  assert.deepEqual(second.events.map((e) => e.event), ['vm-created', 'vm-destroyed', 'msgq-full', 'msgq-drain']);
  second.close();
  await app.close();
});

test('events: a resume beyond the bounded history says how many events were lost', async () => {
  const { f, app, sse } = await listening({ eventHistory: 2 });
  for (let i = 0; i < 5; i++) {
    f.hyp.createVm({ vmid: 0x90, name: `v${i}`, vcpus: 1 });
    f.hyp.destroyVm(0x90);
  }
  // Ten events published, ids 1-10; the history keeps 9 and 10.
  const client = sse('/v1/events', { 'last-event-id': '0' });
  await client.until(() => client.events.length === 3, 'the loss notice and the kept events');
  assert.deepEqual(client.events[0], { id: null, event: 'events-lost', data: { type: 'events-lost', lost: 8 } });
  assert.deepEqual(client.events.slice(1).map((e) => e.id), [9, 10]);
  client.close();
  await app.close();
});

test('events: bad filters and ids are 400 VALIDATION_FAILED', async () => {
  const { app, port } = await listening();
  const http = (await import('supertest')).default(`http://127.0.0.1:${port}`);
  const unknown = assertProblem(await http.get('/v1/events?types=vm-created,vm-exploded'), 400, 'VALIDATION_FAILED');
  assert.equal(unknown.field, '/querystring/types');
  assert.match(unknown.detail, /vm-exploded/);
  assertProblem(await http.get('/v1/events?types=VM'), 400, 'VALIDATION_FAILED');
  assertProblem(await http.get('/v1/events').set('last-event-id', 'yesterday'), 400, 'VALIDATION_FAILED');
  await app.close();
});

test('events: idle streams carry heartbeat comments', async () => {
  const { app, sse } = await listening({ eventHeartbeatMs: 20 });
  const client = sse();
  await client.until(() => client.comments >= 4, 'heartbeats');
  assert.equal(client.events.length, 0);
  client.close();
  await app.close();
});

test('events: disconnects leave nothing behind, and closing the app ends streams and detaches from the core', async () => {
  const { f, app, sse, baseline } = await listening({ eventHeartbeatMs: 10 });
  assert.ok(f.hyp.events.listenerCount() > baseline, 'the hub listens to the core');
  const attached = f.hyp.events.listenerCount();
  const clients = [sse(), sse('/v1/events?types=msgq-full'), sse()];
  for (const c of clients) await c.until(() => c.comments > 0, 'the opening comment');
  assert.equal(app.events.subscriberCount, 3);
  assert.equal(f.hyp.events.listenerCount(), attached, 'streams hold no core listeners');
  clients[0]!.close();
  clients[1]!.close();
  while (app.events.subscriberCount > 1) await new Promise((r) => setTimeout(r, 5));
  assert.equal(app.events.subscriberCount, 1);
  // Closing the app ends the last stream instead of waiting for the client.
  await app.close();
  await clients[2]!.ended;
  assert.equal(app.events.subscriberCount, 0);
  assert.equal(f.hyp.events.listenerCount(), baseline);
});

test('events: a reader too slow to keep up loses events, and is told exactly how many', async () => {
  const { app, sse } = await listening();
  const client = sse();
  await client.until(() => client.comments > 0, 'the opening comment');
  client.pause();
  const filler = 'x'.repeat(1024);
  const published = 20_000; // 20 MB: more than the stream's buffer and the socket's together
  for (let i = 0; i < published; i++) app.events.publish('vm-created', { vmid: i, name: filler });
  client.resume();
  // The loss notice comes once the reader has caught up, without waiting for another event.
  await client.until(() => client.events.some((e) => e.event === 'events-lost'), 'the loss notice', 20_000);
  app.events.publish('vm-destroyed', { vmid: 0, name: 'last' });
  await client.until(() => client.events.at(-1)?.event === 'vm-destroyed', 'the last event', 20_000);
  const lost = client.events.filter((e) => e.event === 'events-lost').reduce((n, e) => n + (e.data.lost as number), 0);
  const delivered = client.events.filter((e) => e.event !== 'events-lost').length;
  assert.ok(lost > 0, 'the slow reader lost events');
  assert.equal(delivered + lost, published + 1, 'every event is either delivered or counted as lost');
  const ids = client.events.filter((e) => e.id !== null).map((e) => e.id!);
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'in order');
  client.close();
  await app.close();
});
