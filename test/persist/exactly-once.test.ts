// Every message a queue accepted is delivered exactly once and in order, also across a snapshot. A producer (the
// VM `producer`, sending numbered messages to its owner with msgqueue_send on its own vCPU) outruns a consumer (an
// HTTP client receiving as the HLOS), so the queue is full most of the time. Mid-stream, the snapshot is taken;
// a fresh daemon restores it and both sides carry on from where the snapshot says they were: the producer from
// the queue's `sent` count, the consumer from its `received` count (a restore takes the whole device back to the
// snapshot's instant, so what the old daemon did after it is not part of the restored history).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import pino from 'pino';
import { startDaemon, type Daemon, type Surface } from '../../bin/daemon.js';
import { checkConfig, ConfigError } from '../../core/config/schema.js';
import { ConsoleHub } from '../../core/hlos/console-hub.js';
import { startServer } from '../../server/start.js';
import { tempDir, vmSend } from './fixture.js';

const HLOS = 3;
const PRODUCER = 0x80;

/** The REST API with snapshots into the state directory, handing its console hub to the restore. */
const restSurface: Surface = {
  name: 'rest',
  async start(ctx) {
    const consoles = new ConsoleHub(ctx.hlos.rm, ctx.hlos.vms, { rmEvents: ctx.device.system.rm.events });
    const server = await startServer({ hyp: ctx.device.hyp, hlos: ctx.hlos, consoles }, { port: 0, rateLimit: false, stateDir: ctx.config.stateDir });
    return {
      url: server.url, consoles,
      async close() {
        await server.close();
        consoles.close();
      },
    };
  },
};

async function daemon(stateDir: string, restore: string | null): Promise<Daemon & { url: string }> {
  const config = checkConfig({ port: 0, mount: false, state_dir: stateDir, log_level: 'silent', vms: [{ name: 'producer', image: 'idle' }] }, 'test');
  assert.ok(!(config instanceof ConfigError));
  const d = await startDaemon(config, { surfaces: [restSurface], log: pino({ level: 'silent' }), restore });
  return Object.assign(d, { url: /API (\S+),/.exec(d.readyLine)![1]! });
}

const get = async (url: string) => (await fetch(url)).json() as Promise<any>;

interface Queue {
  capid: string;
  send_vmids: number[];
  receive_vmids: number[];
  counters: { sent: number; received: number };
}

/** The producer's queue to its owner, as `holder` holds it. */
async function queue(d: { url: string }, holder: number): Promise<Queue> {
  const list = await get(`${d.url}/v1/vms/${holder}/msgqs`) as Queue[];
  return list.find((q) => q.send_vmids.includes(PRODUCER) && q.receive_vmids.includes(HLOS))!;
}

const message = (seq: number) => Buffer.from(`seq ${seq}`);
const seqOf = (text: string) => Number(/^seq (\d+)$/.exec(text)![1]);

/** Numbered messages from `from` until stopped; a full queue is retried (what a real producer does). */
function produce(d: Daemon, capid: string, from: number) {
  let next = from;
  let running = true;
  const done = (async () => {
    while (running) {
      const err = vmSend(d.context.device, PRODUCER, capid, message(next));
      if (err === 'OK') next++;
      else assert.equal(err, 'ERROR_MSGQUEUE_FULL');
      await new Promise((r) => setImmediate(r));
    }
  })();
  return { stop: async () => ((running = false), await done) };
}

/** Receive as the HLOS until `enough` holds, recording each sequence number. */
async function consume(d: { url: string }, capid: string, seen: number[], enough: () => boolean): Promise<void> {
  while (!enough()) {
    const res = await fetch(`${d.url}/v1/vms/${HLOS}/msgqs/${capid}/receive?timeout_ms=1000`, { method: 'POST' });
    const body = await res.json() as { data: string };
    assert.equal(res.status, 200, JSON.stringify(body));
    seen.push(seqOf(body.data));
  }
}

test('each message is delivered exactly once and in order across a snapshot taken mid-stream', async () => {
  const dir = tempDir();
  const a = await daemon(dir, null);
  const producer = produce(a, (await queue(a, PRODUCER)).capid, 0);
  const seenA: number[] = [];
  let snapshot: { path: string; summary: { messages: number } } | null = null;
  const consumer = consume(a, (await queue(a, HLOS)).capid, seenA, () => snapshot !== null && seenA.length >= 300);
  while (seenA.length < 150) await new Promise((r) => setTimeout(r, 5));
  const res = await fetch(`${a.url}/v1/snapshot`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"path":"mid-stream.json"}' });
  assert.equal(res.status, 201);
  snapshot = await res.json() as { path: string; summary: { messages: number } };
  await consumer;
  await producer.stop();
  await a.close();

  const saved = JSON.parse(readFileSync(snapshot.path, 'utf8')).state.msgqs.find((q: { vmid: number; direction: string }) => q.vmid === PRODUCER && q.direction === 'vm-to-owner');
  const { sent, received } = saved.counters as { sent: number; received: number };
  const queued = (saved.messages as string[]).map((m) => seqOf(Buffer.from(m, 'base64').toString()));
  assert.ok(queued.length > 0, 'the snapshot caught messages in the queue');
  assert.deepEqual(queued, Array.from({ length: sent - received }, (_, i) => received + i), 'the queue held exactly the accepted, undelivered messages');
  assert.deepEqual(seenA, Array.from({ length: seenA.length }, (_, i) => i), 'in order, once each, before the snapshot too');
  assert.ok(seenA.length >= received);

  const b = await daemon(dir, snapshot.path);
  const restored = await queue(b, PRODUCER);
  assert.deepEqual([restored.counters.sent, restored.counters.received], [sent, received], 'the counters say where each side was');
  const producerB = produce(b, restored.capid, restored.counters.sent);
  const seen = seenA.slice(0, received);
  await consume(b, (await queue(b, HLOS)).capid, seen, () => seen.length >= sent + 200);
  await producerB.stop();
  await b.close();
  assert.deepEqual(seen, Array.from({ length: seen.length }, (_, i) => i), 'every sequence number exactly once, in order');
});
