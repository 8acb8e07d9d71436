// Clients that vanish mid-stream (issue 8, item 3), over real sockets to the app the daemon serves on a booted
// device: console streams (event stream and raw) and event streams cut while output flows, including clients that
// stopped reading first so the server was waiting for their socket to drain. Afterwards nothing is left: no console
// reader, no event subscriber, no listener on the core, and new clients are served as before.
// (test/server/events.test.ts and test/console/console-http.test.ts cover orderly disconnects of idle streams.)
import assert from 'node:assert/strict';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { after, before, test } from 'node:test';
import { VmError } from '../../core/hlos/vm-manager.js';
import { deviceServices, type DeviceServices } from '../../server/device-services.js';
import { startServer, type ServerHandle } from '../../server/start.js';
import { eventually, testDevice, type TestDevice } from '../hlos/device-fixture.js';

let dev: TestDevice;
let services: DeviceServices;
let server: ServerHandle;
let vmid: number;
before(async () => {
  dev = testDevice();
  // A traffic guest writing its console fast, and queue events for the event stream.
  const vm = await dev.hlos.createVm({ name: 'chatty', image: 'traffic', params: { rate: 500, console_rate: 500 } }, { start: true });
  assert.ok(!(vm instanceof VmError));
  vmid = vm.vmid;
  services = deviceServices(dev, { processMetrics: false });
  server = await startServer(services, { port: 0, rateLimit: false });
});
after(async () => {
  await server.close();
  services.close();
  dev.close();
});

interface Client {
  readonly req: ClientRequest;
  res: IncomingMessage | null;
  received: number;
}

/** A streaming GET whose response is read (or, with `stall`, left unread once the first bytes came). */
function open(path: string, accept: string, stall: boolean): Promise<Client> {
  return new Promise((resolve, reject) => {
    const c: Client = { req: request(`${server.url}${path}`, { headers: { accept } }), res: null, received: 0 };
    c.req.on('response', (res) => {
      c.res = res;
      res.on('data', (chunk: Buffer) => {
        c.received += chunk.length;
        if (stall) res.pause();
        resolve(c);
      });
    });
    c.req.on('error', () => {}); // destroyed on purpose
    c.req.once('error', reject);
    c.req.end();
  });
}

test('console and event streams cut mid-flow, read or stalled, leave no reader, subscriber or listener behind', async () => {
  const hub = services.consoles;
  const app = server.app;
  const readersBefore = hub.readers(vmid);
  const subscribersBefore = app.events.subscriberCount;
  const coreListeners = dev.hyp.events.listenerCount();

  const clients = await Promise.all([
    ...Array.from({ length: 8 }, (_, i) => open(`/v1/vms/${vmid}/console?history=65536`, 'text/event-stream', i % 2 === 0)),
    ...Array.from({ length: 8 }, (_, i) => open(`/v1/vms/${vmid}/console`, 'text/plain', i % 2 === 0)),
    ...Array.from({ length: 8 }, (_, i) => open('/v1/events', 'text/event-stream', i % 2 === 0)),
  ]);
  assert.equal(hub.readers(vmid), readersBefore + 16, 'a reader per console client');
  assert.equal(app.events.subscriberCount, subscribersBefore + 8, 'a subscriber per event client');
  // Let output pile up behind the stalled clients, then cut everyone at once.
  await new Promise((r) => setTimeout(r, 100));
  for (const c of clients) c.req.destroy();
  await eventually(() => hub.readers(vmid) === readersBefore && app.events.subscriberCount === subscribersBefore, 2000,
    'every reader and subscriber gone with its client');
  assert.equal(dev.hyp.events.listenerCount(), coreListeners, 'no listener left on the core');
  assert.equal(hub.readers(vmid), readersBefore);

  // New clients are served as before.
  const again = await open(`/v1/vms/${vmid}/console?history=16`, 'text/event-stream', false);
  assert.ok(again.received > 0);
  again.req.destroy();
  await eventually(() => hub.readers(vmid) === readersBefore, 2000, 'the last reader gone');
});
