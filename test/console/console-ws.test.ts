// Interactive consoles: the WebSocket protocol (server/routes/console-ws.ts) and `gunyahctl console`'s attach over
// TCP and over the Unix socket.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import WebSocket from 'ws';
import { attachConsole, type AttachEnd } from '../../bin/ctl/console.js';
import { ApiProblem } from '../../bin/ctl/errors.js';
import { banner, PROMPT } from '../../core/guests/images/console-echo.js';
import { buildApp } from '../../server/app.js';
import { until } from './fixture.js';
import { withServer } from './http.js';

/** A WebSocket client that keeps output bytes and control messages apart. */
class WsClient {
  readonly output: Buffer[] = [];
  readonly control: Record<string, unknown>[] = [];
  closed: { code: number; reason: string } | null = null;

  constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) this.output.push(data);
      else this.control.push(JSON.parse(data.toString()) as Record<string, unknown>);
    });
    socket.on('close', (code: number, reason: Buffer) => (this.closed = { code, reason: reason.toString() }));
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers });
      const client = new WsClient(socket);
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
  }

  text(): string {
    return Buffer.concat(this.output).toString();
  }
}

const wsUrl = (base: string, vmid: number, query = '') => `${base.replace('http', 'ws')}/v1/vms/${vmid}/console/ws${query}`;

test('a WebSocket gets a start message, the history and live output as binary frames; its frames are input', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('echo1', 'console-echo');
  await until(() => s.hub.bytesOut(vm.vmid) === banner(vm.vmid).length + PROMPT.length, 'banner');
  const ws = await WsClient.open(wsUrl(base, vm.vmid, '?history=4096'));
  await until(() => ws.text() === banner(vm.vmid) + PROMPT, 'the history');
  assert.deepEqual(ws.control[0], { type: 'start', vmid: vm.vmid, offset: 0 });
  ws.socket.send('typed as text\r');
  await until(() => ws.text().endsWith(`typed as text\r\n${PROMPT}`), 'the echo of a text frame');
  ws.socket.send(Buffer.from('sent as bytes\r'), { binary: true });
  await until(() => ws.text().endsWith(`sent as bytes\r\n${PROMPT}`), 'the echo of a binary frame');
  assert.equal(s.hub.readers(vm.vmid), 1);
  ws.socket.close();
  await until(() => s.hub.readers(vm.vmid) === 0, 'the reader gone with the socket');
}));

test('a VM that stops ends the WebSocket with an end message and a normal close', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('svm1');
  const ws = await WsClient.open(wsUrl(base, vm.vmid));
  await s.guests.get(vm.vmid)!.write('bye\r\n');
  await until(() => ws.text() === 'bye\r\n', 'output');
  await s.vms.stop(vm.vmid);
  await until(() => ws.closed !== null, 'the close');
  assert.deepEqual(ws.control.at(-1), { type: 'end', offset: 5, reason: 'vm-stopped', status: 'exited' });
  assert.deepEqual(ws.closed, { code: 1000, reason: 'console ended' });
  assert.equal(s.hub.readerCount, 0);
}));

test('a WebSocket to a VM without a console is refused before the upgrade, with a problem', () => withServer(async ({ base }) => {
  const refusal = await new Promise<{ status: number; body: string }>((resolve) => {
    const socket = new WebSocket(wsUrl(base, 3)); // the HLOS: a VM, but not one whose console the daemon serves
    socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    socket.on('error', () => {});
  });
  assert.equal(refusal.status, 404);
  assert.equal((JSON.parse(refusal.body) as { code: string }).code, 'CONSOLE_NOT_FOUND');
}));

test('with a token, WebSocket input needs it; output does not', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('svm1');
  const guest = s.guests.get(vm.vmid)!;
  const anonymous = await WsClient.open(wsUrl(base, vm.vmid));
  anonymous.socket.send('let me in');
  await until(() => anonymous.control.length === 2, 'an error message');
  assert.equal(anonymous.control[1]!.type, 'error');
  assert.equal(anonymous.control[1]!.code, 'UNAUTHORIZED');
  await guest.write('visible to all\r\n');
  await until(() => anonymous.text() === 'visible to all\r\n', 'output without the token');
  const owner = await WsClient.open(wsUrl(base, vm.vmid), { authorization: 'Bearer s3cret' });
  owner.socket.send('with the token');
  const browser = await WsClient.open(wsUrl(base, vm.vmid, '?token=s3cret'));
  browser.socket.send(' and from a browser');
  await until(() => Buffer.concat(guest.input).toString() === 'with the token and from a browser', 'the authorized input');
  for (const c of [anonymous, owner, browser]) c.socket.close();
  await until(() => s.hub.readerCount === 0, 'no readers');
}, {}, { token: 's3cret' }));

/** stdin as a TTY would be: raw mode recorded, bytes pushed by the test. */
function fakeTty() {
  const stdin = Object.assign(new PassThrough(), { isTTY: true, rawModes: [] as boolean[], setRawMode(raw: boolean) {
    stdin.rawModes.push(raw);
  } });
  const stdout = new PassThrough();
  const out: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  return { stdin, stdout, text: () => Buffer.concat(out).toString() };
}

test('gunyahctl console attaches over TCP by VM name: raw mode, output, typed input, Ctrl-] detaches', () => withServer(async ({ s, base }) => {
  const vm = await s.createVm('echo1', 'console-echo');
  await until(() => s.hub.bytesOut(vm.vmid) > 0, 'banner');
  const tty = fakeTty();
  const attached = attachConsole({ baseUrl: base, vmid: 'echo1', stdin: tty.stdin, stdout: tty.stdout });
  await until(() => tty.text().includes(PROMPT), 'the prompt');
  assert.ok(tty.text().startsWith(`Connected to VM echo1 (VMID ${vm.vmid}). Escape character is ^]\r\n`), 'by name');
  assert.ok(tty.text().includes(banner(vm.vmid)), 'the banner from the history');
  tty.stdin.write('hello from the terminal\r');
  await until(() => tty.text().endsWith(`hello from the terminal\r\n${PROMPT}`), 'the echo');
  tty.stdin.write(Buffer.from('no newline yet\x1d'));
  const end = await attached;
  assert.deepEqual(end, { reason: 'detached' });
  assert.deepEqual(tty.stdin.rawModes, [true, false], 'the terminal is put back');
  assert.ok(tty.text().endsWith('\r\n[detached]\r\n'));
  await until(() => s.hub.readerCount === 0, 'the reader gone');
  await until(() => s.hub.bytesIn(vm.vmid) === 'hello from the terminal\rno newline yet'.length, 'the input before the escape');
}));

test('gunyahctl console works over the Unix socket and reports the end of the console', () => withServer(async ({ s }) => {
  const dir = mkdtempSync(join(tmpdir(), 'gunyah-console-'));
  const socketPath = join(dir, 'api.sock');
  const app = await buildApp({ hyp: s.hyp, hlos: s.device.hlos, consoles: s.hub }, { rateLimit: false });
  await app.listen({ path: socketPath });
  try {
    const vm = await s.createVm('svm1');
    const tty = fakeTty();
    let end: AttachEnd | null = null;
    void attachConsole({ socketPath, vmid: vm.vmid, stdin: tty.stdin, stdout: tty.stdout }).then((e) => (end = e));
    await until(() => s.hub.readers(vm.vmid) === 1, 'attached');
    await s.guests.get(vm.vmid)!.write('over the socket\r\n');
    await until(() => tty.text().includes('over the socket\r\n'), 'output');
    await s.vms.stop(vm.vmid);
    await until(() => end !== null, 'the end');
    assert.deepEqual(end, { reason: 'ended', end: 'vm-stopped', status: 'exited' });
    assert.ok(tty.text().endsWith('\r\n[console ended: vm-stopped (exited)]\r\n'));
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}));

test('gunyahctl console reports an unknown VMID as the API problem, an unknown name as not found', () => withServer(async ({ base }) => {
  const tty = fakeTty();
  await assert.rejects(attachConsole({ baseUrl: base, vmid: 0x99, stdin: tty.stdin, stdout: tty.stdout }), (err: unknown) => {
    assert.ok(err instanceof ApiProblem);
    assert.equal(err.status, 404);
    assert.equal(err.problem.code, 'VM_NOT_FOUND');
    return true;
  });
  await assert.rejects(attachConsole({ baseUrl: base, vmid: 'no-such-vm', stdin: tty.stdin, stdout: tty.stdout }), /no VM named "no-such-vm"/);
  assert.deepEqual(tty.stdin.rawModes, [], 'the terminal was never touched');
}));
