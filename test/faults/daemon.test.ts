// Faults of the real daemon process (issue 8, item 3): a sysfs callback that fails answers EIO through the FUSE
// mount and the mount stays usable; clients that vanish mid-stream leave no console readers behind; SIGTERM in the
// middle of traffic closes every stream with a final event, unmounts and exits 0; SIGKILL leaves a dead mount that
// the next daemon on the same directory cleans before it comes back. Each test starts its own gunyahd
// (test/helpers/daemon-process.ts) on its own mount directory. Without FUSE these tests skip, or fail under CI.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fuseMountPoints } from '../../fs/mount-lifecycle.js';
import { requireFuse } from '../fs/fuse-available.js';
import { spawnDaemon, type DaemonProcess } from '../helpers/daemon-process.js';

const ARGS = ['--port', '0', '--seed', '11', '--log-level', 'info'];
const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true }).catch(() => {});
});

async function mountDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gunyah-faults-'));
  dirs.push(dir);
  return join(dir, 'hypervisor');
}

const mounted = async (dir: string) => (await fuseMountPoints()).includes(dir);
const logLines = (d: DaemonProcess) => d.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);

async function json<T>(res: Response): Promise<T> {
  assert.ok(res.ok, `${res.status} ${await res.clone().text()}`);
  return (await res.json()) as T;
}

/** An SSE or raw stream read to its end; `text` grows as it arrives. */
function follow(d: DaemonProcess, path: string, accept: string) {
  const r = { text: '', trailers: {} as NodeJS.Dict<string>, ended: null as Promise<void> | null, destroy: () => {} };
  r.ended = new Promise<void>((resolve, reject) => {
    const req = request(`${d.url}${path}`, { headers: { accept } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (r.text += chunk));
      res.on('end', () => {
        r.trailers = res.trailers;
        resolve();
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    r.destroy = () => req.destroy();
    req.end();
  });
  return r;
}

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** gunyah_console_readers{vmid} from /metrics. */
async function consoleReaders(d: DaemonProcess, vmid: number): Promise<number> {
  const text = await (await d.api('/metrics')).text();
  const m = new RegExp(`^gunyah_console_readers\\{vmid="${vmid}"[^}]*\\} (\\d+)`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

describe('gunyahd under faults', () => {
  test('a sysfs callback that fails answers EIO through the mount; the mount stays usable and the daemon says why', async (t) => {
    if (!requireFuse(t)) return;
    const d = await spawnDaemon([...ARGS, '--mount', await mountDir()]);
    try {
      assert.ok(d.mount !== null, d.readyLine);
      // A VM's node opened just after the VM is deleted: the tree still has the node for a moment (the adapter's
      // short cache), its show() finds no VM and throws. What a reader sees must be EIO (or ENOENT once the cache
      // let go), never a hang or a crash.
      const seen = new Set<string>();
      for (let attempt = 0; attempt < 12 && !seen.has('EIO'); attempt++) {
        const vm = await json<{ vmid: number }>(await d.api('/v1/vms', {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `doomed${attempt}`, image: 'idle', vcpus: 1 }),
        }));
        await json(await d.api(`/v1/vms/${vm.vmid}/stop`, { method: 'POST' }));
        const node = `${d.mount}/gunyah/vms/${vm.vmid}/name`;
        statSync(node); // the kernel and the adapter now hold the node
        assert.equal((await d.api(`/v1/vms/${vm.vmid}`, { method: 'DELETE' })).status, 204);
        try {
          await readFile(node, 'utf8');
          seen.add('read');
        } catch (err) {
          seen.add((err as NodeJS.ErrnoException).code ?? String(err));
        }
      }
      assert.ok(seen.has('EIO'), `a read of the vanished VM's node answered ${[...seen].join(', ')}`);
      assert.deepEqual([...seen].filter((c) => c !== 'EIO' && c !== 'ENOENT'), [], 'only EIO or ENOENT');
      const faults = logLines(d).filter((l) => l.msg === 'sysfs callback failed');
      assert.ok(faults.length > 0, 'the daemon logs the failed callback');
      assert.match(JSON.stringify(faults[0]), /no longer exists/);
      // The mount and the daemon carry on.
      assert.equal(await readFile(`${d.mount}/type`, 'utf8'), 'gunyah\n');
      assert.ok((await readdir(`${d.mount}/gunyah/vms`)).includes('128'));
      assert.equal((await d.api('/v1/hypervisor')).status, 200);
    } finally {
      assert.equal((await d.stop()).code, 0);
    }
  });

  test('clients that vanish in the middle of console streams leave no reader behind', async () => {
    const d = await spawnDaemon([...ARGS, '--no-mount']);
    try {
      const vmid = 129; // svm2, the traffic VM: its console is busy
      const before = await consoleReaders(d, vmid);
      const clients = Array.from({ length: 20 }, (_, i) => follow(d, `/v1/vms/${vmid}/console?history=4096`, i % 2 === 0 ? 'text/event-stream' : 'text/plain'));
      for (const c of clients) c.ended!.catch(() => {});
      await until(async () => (await consoleReaders(d, vmid)) === before + clients.length, 'every reader attached');
      await until(() => clients.every((c) => c.text.length > 0), 'output flowing to every client');
      for (const c of clients) c.destroy();
      await until(async () => (await consoleReaders(d, vmid)) === before, 'the readers gone with their clients');
      assert.equal((await d.api(`/v1/vms/${vmid}/console/log`)).status, 200, 'the console serves on');
    } finally {
      assert.equal((await d.stop()).code, 0);
    }
  });

  test('SIGTERM during traffic: every stream ends with a final event, the tree is unmounted, exit 0', async (t) => {
    if (!requireFuse(t)) return;
    const dir = await mountDir();
    const d = await spawnDaemon([...ARGS, '--mount', dir]);
    assert.equal(d.mount, dir);
    const events = follow(d, '/v1/events', 'text/event-stream');
    const sse = follow(d, '/v1/vms/128/console?history=1024', 'text/event-stream');
    const raw = follow(d, '/v1/vms/129/console', 'text/plain');
    await until(() => sse.text.includes('event: output') && raw.text.length > 0, 'console output on both streams');
    // Traffic: REST reads and console input, and sysfs reads, until the daemon goes away.
    let stopping = false;
    const served = { rest: 0, sysfs: 0 };
    const rest = (async () => {
      while (!stopping) {
        const r = await d.api('/v1/vms/128/console', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"data":"hello\\n"}' }).catch(() => null);
        if (r?.ok) served.rest++;
        await d.api('/v1/vms').catch(() => null);
      }
    })();
    const sysfs = (async () => {
      while (!stopping) if (await readFile(`${dir}/gunyah/vms/129/status`, 'utf8').catch(() => null) === 'running\n') served.sysfs++;
    })();
    await until(() => served.rest > 5 && served.sysfs > 5, 'traffic on REST and sysfs');
    const exit = await d.stop('SIGTERM');
    stopping = true;
    await Promise.all([rest, sysfs, events.ended, sse.ended, raw.ended]);
    assert.deepEqual(exit, { code: 0, signal: null }, d.stderr().slice(-2000));
    assert.match(events.text, /event: shutdown\ndata: \{"type":"shutdown","reason":"daemon stopping"\}\n\n$/, 'the event stream\'s last event');
    assert.match(sse.text, /event: end\ndata: \{[^}]*"reason":"shutdown"[^}]*\}\n\n$/, 'the console event stream\'s last event');
    assert.match(raw.trailers['x-console-end'] ?? '', /^shutdown/, 'the raw console stream\'s end trailer');
    assert.equal(await mounted(dir), false, 'unmounted');
    assert.equal(d.stdout(), `${d.readyLine}\n`, 'stdout carries the ready line only');
    assert.ok(logLines(d).some((l) => l.msg === 'stopped'));
  });

  test('SIGKILL leaves a dead mount; the next daemon on the same directory cleans it and comes back', async (t) => {
    if (!requireFuse(t)) return;
    const dir = await mountDir();
    const first = await spawnDaemon([...ARGS, '--mount', dir]);
    assert.equal((await first.stop('SIGKILL')).signal, 'SIGKILL');
    assert.equal(await mounted(dir), true, 'the kernel keeps the dead mount');
    await assert.rejects(readFile(`${dir}/type`), /ENOTCONN/, 'nobody serves it');
    const second = await spawnDaemon([...ARGS, '--mount', dir]);
    try {
      assert.equal(second.mount, dir, second.readyLine);
      assert.ok(logLines(second).some((l) => l.msg === 'cleaned a stale mount left by an earlier run'), 'the daemon says it cleaned it');
      assert.equal(await readFile(`${dir}/type`, 'utf8'), 'gunyah\n');
      assert.equal((await second.api('/v1/hypervisor')).status, 200);
    } finally {
      assert.equal((await second.stop()).code, 0);
    }
    assert.equal(await mounted(dir), false);
  });
});
