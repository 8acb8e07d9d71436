import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const GUNYAHD = join(dirname(fileURLToPath(import.meta.url)), '../../bin/gunyahd.js');
const run = (...args: string[]) => spawnSync(process.execPath, [GUNYAHD, ...args], { encoding: 'utf8', timeout: 20_000 });
const configFile = (text: string) => {
  const path = join(mkdtempSync(join(tmpdir(), 'gunyahd-test-')), 'gunyahd.yaml');
  writeFileSync(path, text);
  return path;
};

test('gunyahd prints one ready line naming the URL and the mount point, and exits 0 on SIGTERM', async (t) => {
  const child = spawn(process.execPath, [GUNYAHD, '--no-mount', '--port', '0', '--seed', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line; stderr: ${stderr}`)), 15_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (stdout.includes('\n')) {
        clearTimeout(timer);
        resolve(stdout.split('\n')[0]!);
      }
    });
  });
  assert.match(ready, /^gunyahd ready: API http:\/\/127\.0\.0\.1:\d+, sysfs not mounted \(--no-mount\)$/);
  // The API named in the ready line answers.
  const url = /API (\S+),/.exec(ready)![1]!;
  assert.equal(((await (await fetch(`${url}/v1/hypervisor`)).json()) as { api_version: number }).api_version, 1);
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exit, 0);
  assert.equal(stdout, `${ready}\n`, 'stdout carries the ready line only');
  const logs = stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; vm?: string; image?: string });
  assert.deepEqual(logs.filter((l) => l.msg === 'VM created').map((l) => [l.vm, l.image]), [['svm1', 'console-echo'], ['svm2', 'traffic']]);
  assert.ok(logs.some((l) => l.msg === 'stopped'));
});

test('SIGINT exits 0 too', async (t) => {
  const child = spawn(process.execPath, [GUNYAHD, '--no-mount', '--port', '0', '--log-level', 'silent'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  assert.equal(await exit, 0);
});

test('an unknown flag is refused with a message naming it', () => {
  const r = run('--bogus');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown option '--bogus'/);
  assert.equal(r.stdout, '');
});

test('a bad flag value is refused with a message naming the flag', () => {
  const port = run('--port', '70000');
  assert.notEqual(port.status, 0);
  assert.match(port.stderr, /--port <port>.*70000.*port must be an integer from 0 to 65535/);
  const level = run('--no-mount', '--log-level', 'loud');
  assert.notEqual(level.status, 0);
  assert.match(level.stderr, /gunyahd: command line: --log-level: must be one of fatal, error, warn, info, debug, trace, silent/);
});

test('a bad configuration file is refused with a message naming the file and the key', () => {
  const unknown = configFile('port: 8081\nvms:\n  - name: a\n    image: idle\n    vcpu: 2\n');
  const r = run('--config', unknown);
  assert.equal(r.status, 2);
  assert.equal(r.stderr, `gunyahd: ${unknown}: vms[0].vcpu: unknown key (known: name, image, vcpus, memory, params, vmid)\n`);
  const badValue = configFile('port: eighty\n');
  assert.match(run('--config', badValue).stderr, /: port: must be an integer from 0 to 65535/);
  const notYaml = configFile('vms: [\n');
  assert.match(run('--config', notYaml).stderr, /: not valid YAML: /);
  assert.match(run('--config', '/nonexistent/gunyahd.yaml').stderr, /\/nonexistent\/gunyahd\.yaml: cannot be read \(ENOENT\)/);
});

test('a configured VM that cannot be created fails the start, naming the VM and why', () => {
  const file = configFile('vms:\n  - name: odd\n    image: no-such-image\n');
  const r = run('--config', file, '--no-mount', '--port', '0', '--log-level', 'silent');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /start failed: VM odd \(image no-such-image\) could not be created: VM_INIT: RM_ERROR_MEM_INVALID \(unknown image "no-such-image"/);
});
