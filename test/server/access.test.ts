import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { isLoopback, startServer } from '../../server/start.js';
import { assertProblem, fixtureApp, hex, serverFixture, VMID_A } from './fixture.js';

const TOKEN = 's3cret-token';

/** GET over a Unix socket. */
function getUnix(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const tmpSocket = () => join(mkdtempSync(join(tmpdir(), 'gunyah-rest-')), 'api.sock');

test('access: loopback is 127.0.0.0/8, ::1 and localhost', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopback(host), true, host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.2']) assert.equal(isLoopback(host), false, host);
});

test('access: the server listens on 127.0.0.1 and refuses to go beyond loopback without a token', async () => {
  const f = serverFixture();
  const server = await startServer(f.services, { port: 0 });
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  await supertest(server.url).get('/v1/hypervisor').expect(200);
  await server.close();
  await assert.rejects(startServer(f.services, { host: '0.0.0.0', port: 0 }), /needs a token/);
});

test('access: beyond loopback every change needs the bearer token (401 otherwise); reads do not', async () => {
  const f = serverFixture();
  const server = await startServer(f.services, { host: '0.0.0.0', port: 0, token: TOKEN });
  const http = supertest(server.url.replace('0.0.0.0', '127.0.0.1'));
  const send = `/v1/vms/${VMID_A}/msgqs/${hex(f.msgq.a)}/send`;
  await http.get('/v1/hypervisor').expect(200);
  const missing = await http.post(send).send({ data: 'x' });
  assertProblem(missing, 401, 'UNAUTHORIZED');
  assert.equal(missing.headers['www-authenticate'], 'Bearer realm="gunyah-emu"');
  assertProblem(await http.post(send).set('authorization', 'Bearer wrong').send({ data: 'x' }), 401, 'UNAUTHORIZED');
  assertProblem(await http.post(send).set('authorization', TOKEN).send({ data: 'x' }), 401, 'UNAUTHORIZED');
  await http.post(send).set('authorization', `Bearer ${TOKEN}`).send({ data: 'x' }).expect(200);
  // The token is checked before the body is read: no token, no 413 either.
  assertProblem(await http.post(send).send({ data: 'x'.repeat(100_000) }), 401, 'UNAUTHORIZED');
  await server.close();
});

test('access: a client over its rate gets 429 RATE_LIMITED with Retry-After', async () => {
  const { app, http } = await fixtureApp({ rateLimit: { max: 3, timeWindowMs: 60_000 } });
  for (let i = 0; i < 3; i++) await http.get('/v1/hypervisor').expect(200);
  const res = await http.get('/v1/hypervisor');
  const p = assertProblem(res, 429, 'RATE_LIMITED');
  assert.ok(Number(res.headers['retry-after']) >= 59 && Number(res.headers['retry-after']) <= 60, res.headers['retry-after']);
  assert.match(p.detail, /more than 3 requests/);
  await app.close();
});

test('access: the Unix socket serves the same API, is 0600, and goes away on close', async () => {
  const f = serverFixture();
  const socket = tmpSocket();
  const server = await startServer(f.services, { port: 0, socket });
  assert.equal(statSync(socket).mode & 0o777, 0o600);
  const res = await getUnix(socket, '/v1/hypervisor');
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.body).api_version, 1);
  const missing = await getUnix(socket, '/v1/nothing');
  assert.equal(missing.status, 404);
  await server.close();
  assert.equal(existsSync(socket), false);
});

test('access: a stale socket file is replaced; a live socket or another file is refused', async () => {
  const f = serverFixture();
  // A socket left behind by a process that died without cleaning up.
  const stale = tmpSocket();
  const child = spawn(process.execPath, ['-e', 'require("net").createServer().listen(process.argv[1], () => console.log("up"))', stale]);
  await new Promise((resolve) => child.stdout.once('data', resolve));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(existsSync(stale), true);
  const server = await startServer(f.services, { port: 0, socket: stale });
  assert.equal((await getUnix(stale, '/v1/hypervisor')).status, 200);
  await server.close();

  const live = tmpSocket();
  const other = createServer().listen(live);
  await new Promise((resolve) => other.once('listening', resolve));
  await assert.rejects(startServer(f.services, { port: 0, socket: live }), /in use/);
  other.close();

  const file = tmpSocket();
  writeFileSync(file, 'not a socket');
  await assert.rejects(startServer(f.services, { port: 0, socket: file }), /not a socket/);
});

test('access: the Authorization header never reaches the log', async () => {
  const lines: string[] = [];
  const { app, http } = await fixtureApp({ token: TOKEN, logger: { level: 'info', stream: { write: (l) => lines.push(l) } } });
  await http.post('/v1/vms/128/hypercall').set('authorization', `Bearer ${TOKEN}`).send({ function_id: '0xc6008000' }).expect(200);
  app.log.info({ headers: { authorization: `Bearer ${TOKEN}` } }, 'a request\'s headers');
  assert.ok(lines.length > 2);
  assert.ok(lines.every((l) => !l.includes(TOKEN)));
  assert.ok(lines.some((l) => l.includes('[Redacted]')));
  await app.close();
});
