// The real daemon as a child process (dist/bin/gunyahd.js), for tests that need what only a process has: signals,
// a FUSE mount served by another process, the listening socket, its stderr. spawnDaemon waits for the ready line
// (`gunyahd ready: API <url>, sysfs <dir>`) and parses it; stop() signals and waits for the exit with a bound;
// every daemon still running when the test process exits is killed, so a failed test leaves no daemon behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const GUNYAHD = join(dirname(fileURLToPath(import.meta.url)), '../../bin/gunyahd.js');
const READY = /^gunyahd ready: API (\S+)(?: \(API not served yet\))?, sysfs (.+)$/;
const DEFAULT_READY_MS = 20_000;
const DEFAULT_EXIT_MS = 10_000;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface DaemonProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly readyLine: string;
  /** The API's base URL, e.g. http://127.0.0.1:40123. */
  readonly url: string;
  /** The directory the sysfs tree is mounted on, or null when not mounted. */
  readonly mount: string | null;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Everything written to stdout so far (the ready line only, for a well-behaved daemon). */
  stdout(): string;
  readonly exited: Promise<Exit>;
  /** fetch() on the API. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** Send a signal and wait for the exit; fails (after SIGKILL) when it takes longer than `ms`. */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<Exit>;
}

export interface SpawnOptions {
  readonly readyTimeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Start `gunyahd ARGS` and resolve once it printed its ready line; reject with its stderr if it exits first. */
export function spawnDaemon(args: readonly string[], opts: SpawnOptions = {}): Promise<DaemonProcess> {
  const child = spawn(process.execPath, [GUNYAHD, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  child.stderr!.on('data', (d: Buffer) => (err += d));
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => {
    running.delete(child);
    resolve({ code, signal });
  }));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', ms = DEFAULT_EXIT_MS): Promise<Exit> => {
    if (child.exitCode !== null || child.signalCode !== null) return exited;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), ms)));
    const r = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (r !== 'late') return r;
    child.kill('SIGKILL');
    await exited;
    throw new Error(`gunyahd did not exit within ${ms} ms of ${signal}; stderr:\n${err}`);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gunyahd printed no ready line within ${opts.readyTimeoutMs ?? DEFAULT_READY_MS} ms; stderr:\n${err}`));
    }, opts.readyTimeoutMs ?? DEFAULT_READY_MS);
    void exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`gunyahd exited (${e.code ?? e.signal}) before it was ready; stderr:\n${err}`));
    });
    const onData = () => {
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      child.stdout!.off('data', onData);
      clearTimeout(timer);
      const readyLine = out.slice(0, nl);
      const m = READY.exec(readyLine);
      if (m === null) {
        child.kill('SIGKILL');
        reject(new Error(`unexpected first line ${JSON.stringify(readyLine)}`));
        return;
      }
      const sysfs = m[2]!;
      resolve({
        child, pid: child.pid!, readyLine, url: m[1]!,
        mount: sysfs.startsWith('/') && !sysfs.includes(' (') ? sysfs : null,
        stderr: () => err,
        stdout: () => out,
        exited,
        api: (path, init) => fetch(`${m[1]!}${path}`, init),
        stop,
      });
    };
    child.stdout!.on('data', onData);
  });
}
