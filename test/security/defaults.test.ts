// Security defaults of gunyahd as a user gets them from the command line (issue 8, item 6), each proven on the
// real daemon process: the API listens on loopback unless told otherwise; beyond loopback it refuses to start
// without a token, and with one every change needs it while reads stay open; the Unix socket is 0600; request
// bodies have size limits (413 with a code); clients have a rate limit (429 with Retry-After); and the token never
// reaches the logs, even at trace level. The server-level rules themselves are unit-tested in
// test/server/access.test.ts; here the flags, defaults and process are what is checked.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GUNYAHD, spawnDaemon, type DaemonProcess } from '../helpers/daemon-process.js';

const TOKEN = 's3cr3t-t0ken-7f3a9c';
const JSON_HEADERS = { 'content-type': 'application/json' };
let dir: string;
let loopback: DaemonProcess;
let socket: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gunyah-defaults-'));
  socket = join(dir, 'gunyahd.sock');
  loopback = await spawnDaemon(['--port', '0', '--no-mount', '--seed', '5', '--socket', socket, '--log-level', 'silent']);
});
after(async () => {
  await loopback.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request over TCP or the Unix socket (node:http, so the socket path works too). */
function call(target: { url?: string; socketPath?: string }, method: string, path: string, body?: string | Buffer,
  headers: Record<string, string> = {}, agent?: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const opts = { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent };
    const req = target.socketPath !== undefined ? request({ ...opts, socketPath: target.socketPath, path }) : request(`${target.url}${path}`, opts);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function problem(a: Answer, status: number, code: string): void {
  assert.equal(a.status, status, a.body);
  assert.match(String(a.headers['content-type']), /^application\/problem\+json/);
  assert.equal((JSON.parse(a.body) as { code: string }).code, code);
}

const input = (data: string) => JSON.stringify({ data });

describe('gunyahd security defaults', () => {
  test('loopback by default: the ready line names 127.0.0.1, and no other address of the machine answers', async (t) => {
    assert.match(loopback.url, /^http:\/\/127\.0\.0\.1:\d+$/, loopback.readyLine);
    assert.equal((await call(loopback, 'GET', '/v1/hypervisor')).status, 200);
    // On loopback without a token, changes are open to local users (as the daemon's own user runs them).
    assert.equal((await call(loopback, 'POST', '/v1/vms/128/console', input('hi\n'), JSON_HEADERS)).status, 200);
    const port = Number(new URL(loopback.url).port);
    const outside = Object.values(networkInterfaces()).flat().find((a) => a !== undefined && a.family === 'IPv4' && !a.internal);
    if (outside === undefined) {
      t.diagnostic('no non-loopback IPv4 address on this machine: the listener could only be checked on 127.0.0.1');
      return;
    }
    const refused = await new Promise<string>((resolve) => {
      const s = connect(port, outside.address);
      s.once('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
    });
    assert.equal(refused, 'ECONNREFUSED', `port ${port} on ${outside.address}`);
  });

  test('beyond loopback without a token the daemon refuses to start, saying why', () => {
    const r = spawnSync(process.execPath, [GUNYAHD, '--host', '0.0.0.0', '--port', '0', '--no-mount', '--log-level', 'silent'], { encoding: 'utf8', timeout: 20_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /0\.0\.0\.0 \(beyond loopback\) needs a token: pass --token/);
    assert.equal(r.stdout, '', 'no ready line');
  });

  test('beyond loopback with a token: reads are open, every change needs the token (401 otherwise); the token is never logged', async () => {
    const d = await spawnDaemon(['--host', '0.0.0.0', '--port', '0', '--no-mount', '--seed', '5', '--token', TOKEN, '--log-level', 'trace']);
    try {
      assert.match(d.url, /^http:\/\/0\.0\.0\.0:\d+$/, d.readyLine);
      const target = { url: d.url.replace('0.0.0.0', '127.0.0.1') };
      assert.equal((await call(target, 'GET', '/v1/vms')).status, 200, 'reads need no token');
      const missing = await call(target, 'POST', '/v1/vms/128/console', input('x'), JSON_HEADERS);
      problem(missing, 401, 'UNAUTHORIZED');
      assert.equal(missing.headers['www-authenticate'], 'Bearer realm="gunyah-emu"');
      problem(await call(target, 'POST', '/v1/vms/128/console', input('x'), { ...JSON_HEADERS, authorization: 'Bearer wrong' }), 401, 'UNAUTHORIZED');
      problem(await call(target, 'DELETE', '/v1/vms/128', undefined, { authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` }), 401, 'UNAUTHORIZED');
      assert.equal((await call(target, 'POST', '/v1/vms/128/console', input('x'), { ...JSON_HEADERS, authorization: `Bearer ${TOKEN}` })).status, 200);
      // Failed and refused requests with the token in them, at trace level: still nothing in the logs.
      await call(target, 'POST', '/v1/vms/999/stop', undefined, { authorization: `Bearer ${TOKEN}` });
      await call(target, 'POST', '/v1/vms', '{bad json', { ...JSON_HEADERS, authorization: `Bearer ${TOKEN}` });
    } finally {
      assert.equal((await d.stop()).code, 0);
    }
    assert.ok(d.stderr().length > 0, 'the daemon did log (trace level)');
    assert.ok(!d.stderr().includes(TOKEN) && !d.stdout().includes(TOKEN), 'the token appears in no log line');
  });

  test('the Unix socket is 0600 and serves the same API', async () => {
    const st = statSync(socket);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    const r = await call({ socketPath: socket }, 'GET', '/v1/hypervisor');
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { api_version: number }).api_version, 1);
  });

  test('request bodies have limits: 413 PAYLOAD_TOO_LARGE for JSON, console input, guest memory and sysfs writes', async () => {
    const over = (bytes: number) => Buffer.alloc(bytes + 1, 0x41);
    problem(await call(loopback, 'POST', '/v1/vms', `{"name":"${'a'.repeat(64 * 1024)}"}`, JSON_HEADERS), 413, 'PAYLOAD_TOO_LARGE');
    problem(await call(loopback, 'POST', '/v1/vms/128/console', over(1 << 20), { 'content-type': 'application/octet-stream' }), 413, 'PAYLOAD_TOO_LARGE');
    problem(await call(loopback, 'PUT', '/v1/vms/128/memory/0x80000000', over(1 << 20), { 'content-type': 'application/octet-stream' }), 413, 'PAYLOAD_TOO_LARGE');
    problem(await call(loopback, 'PUT', '/v1/sysfs/gunyah/vms/128/control', over(4096), { 'content-type': 'text/plain' }), 413, 'PAYLOAD_TOO_LARGE');
    assert.equal((await call(loopback, 'GET', '/v1/hypervisor')).status, 200, 'and the daemon serves on');
  });

  test('every client has a rate limit: past it 429 RATE_LIMITED with Retry-After, and service again after it', async () => {
    // The default is 1000 requests a second per client address: ask faster than that over kept-alive connections.
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    let limited: Answer | undefined;
    let sent = 0;
    const started = Date.now();
    while (limited === undefined && Date.now() - started < 10_000) {
      const batch = await Promise.all(Array.from({ length: 256 }, () => call(loopback, 'GET', '/v1/hypervisor', undefined, {}, agent)));
      sent += batch.length;
      limited = batch.find((a) => a.status === 429);
      assert.deepEqual([...new Set(batch.map((a) => a.status))].filter((s) => s !== 200 && s !== 429), [], 'only 200 or 429');
    }
    assert.ok(limited !== undefined, `no 429 after ${sent} requests in ${Date.now() - started} ms`);
    problem(limited, 429, 'RATE_LIMITED');
    const wait = Number(limited.headers['retry-after']);
    assert.ok(Number.isInteger(wait) && wait >= 1, `Retry-After ${limited.headers['retry-after']}`);
    // Unix-socket clients are limited as one client of their own: the TCP flood did not use their allowance.
    assert.equal((await call({ socketPath: socket }, 'GET', '/v1/hypervisor')).status, 200);
    await new Promise((r) => setTimeout(r, wait * 1000));
    assert.equal((await call(loopback, 'GET', '/v1/hypervisor', undefined, {}, agent)).status, 200, 'served again after Retry-After');
    agent.destroy();
  });
});
