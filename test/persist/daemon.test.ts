// gunyahd itself: --state-dir across a restart of the process, and --restore FILE.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { encodeSnapshot } from '../../core/persist/format.js';
import { tempDir } from './fixture.js';

const GUNYAHD = join(dirname(fileURLToPath(import.meta.url)), '../../bin/gunyahd.js');

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  stop(): Promise<number | null>;
}

/** Start gunyahd and wait for its ready line; rejects with its stderr if it exits first. */
function gunyahd(...args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [GUNYAHD, '--no-mount', '--port', '0', '--log-level', 'warn', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line; stderr: ${stderr}`)), 20_000);
    void exit.then((code) => reject(new Error(`gunyahd exited ${code}: ${stderr}`)));
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d;
      const url = /API (http:\/\/\S+),/.exec(stdout)?.[1];
      if (url === undefined) return;
      clearTimeout(timer);
      resolve({ child, url, stop: () => (child.kill('SIGTERM'), exit) });
    });
  });
}

/** The exit code and stderr of a gunyahd that fails to start. */
function failedStart(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [GUNYAHD, '--no-mount', '--port', '0', '--log-level', 'silent', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

async function api(url: string, method = 'GET', body?: object): Promise<any> {
  const res = await fetch(url, { method, ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${url}: ${res.status} ${text}`);
  return text === '' ? null : JSON.parse(text);
}

const secondaries = async (url: string) =>
  ((await api(`${url}/v1/vms`)) as { vmid: number; name: string; image: string; status: string; vcpus: number }[])
    .filter((v) => v.vmid !== 3 && v.vmid !== 255)
    .map((v) => [v.vmid, v.name, v.image, v.vcpus, v.status === 'running' ? 'running' : 'stopped']);

test('gunyahd --state-dir: VMs created, stopped and deleted through the API are the same after a restart', async () => {
  const dir = tempDir();
  const first = await gunyahd('--state-dir', dir);
  await api(`${first.url}/v1/vms`, 'POST', { name: 'extra', image: 'msgq-echo', vcpus: 2 });
  await api(`${first.url}/v1/vms/${0x80}/stop`, 'POST'); // svm1
  await api(`${first.url}/v1/vms/${0x81}`, 'DELETE'); // svm2
  const before = await secondaries(first.url);
  assert.deepEqual(before, [[0x80, 'svm1', 'console-echo', 1, 'stopped'], [0x82, 'extra', 'msgq-echo', 2, 'running']]);
  assert.equal(await first.stop(), 0);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'vms.json'), 'utf8')).vms.map((v: { name: string }) => v.name), ['svm1', 'extra']);

  const second = await gunyahd('--state-dir', dir);
  assert.deepEqual(await secondaries(second.url), before);
  assert.equal(await second.stop(), 0);
});

test('gunyahd --restore FILE starts from the snapshot, and refuses a corrupt one naming the file', async () => {
  const dir = tempDir();
  const file = join(dir, 'snap.json');
  writeFileSync(file, encodeSnapshot({
    vms: [{ vmid: 0x85, fixed_vmid: false, name: 'kept', image: 'idle', vcpus: 1, memory: 1 << 20, params: {}, lifecycle: 'running' }],
    msgqs: [{
      vmid: 0x85, direction: 'vm-to-owner', label: 0, depth: 16, max_msg_size: 240, messages: [Buffer.from('still here').toString('base64')],
      counters: { sent: 4, received: 3, bytes_sent: 40, bytes_received: 30, full_events: 0, full_rejects: 0, flushes: 0 },
    }],
    doorbells: [],
    consoles: [],
  }));
  const d = await gunyahd('--restore', file);
  assert.deepEqual(await secondaries(d.url), [[0x85, 'kept', 'idle', 1, 'running']]);
  const queue = ((await api(`${d.url}/v1/vms/3/msgqs`)) as { capid: string; send_vmids: number[] }[]).find((q) => q.send_vmids.includes(0x85))!;
  assert.deepEqual((await api(`${d.url}/v1/vms/3/msgqs/${queue.capid}/receive`, 'POST')).data, 'still here');
  assert.equal(await d.stop(), 0);

  writeFileSync(file, readFileSync(file, 'utf8').replace('"kept"', '"kept2"'));
  const { code, stderr } = await failedStart('--restore', file);
  assert.equal(code, 1);
  assert.equal(stderr, `gunyahd: start failed: ${file}: sha256: does not match the state: the file was changed or is corrupt\n`);
});
