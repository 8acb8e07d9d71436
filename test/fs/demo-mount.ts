// Runs the demo tree's mount in a child process (fixtures/mount-demo-tree.ts) and reads it only through other
// child processes: a test must never block on a mount its own thread serves.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const FIXTURE = fileURLToPath(new URL('./fixtures/mount-demo-tree.js', import.meta.url));
const READY_TIMEOUT_MS = 10_000;

export interface DemoMount {
  readonly dir: string;
  readonly cleanedStale: boolean;
  readonly child: ChildProcess;
  /** The fixture's exit code (null when killed by a signal), once it exits. */
  readonly exited: Promise<number | null>;
  /** What the fixture wrote on stderr so far. */
  stderr(): string;
  /** Sends one stdin command (`add NAME`, `del NAME`) and waits for its `ok`; `crash` and `exit` get no answer. */
  send(line: string): Promise<void>;
  /** Sends a signal and resolves with the exit code (null when killed by the signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface DemoMountOptions {
  /** The fixture's own flags after DIR (--shutdown-hangs). */
  readonly args?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

export function startDemoMount(dir: string, options: DemoMountOptions = {}): Promise<DemoMount> {
  const child = spawn(process.execPath, [FIXTURE, dir, ...(options.args ?? [])], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const lines = createInterface({ input: child.stdout! });
  const waiting = new Map<string, () => void>();
  return new Promise((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`fixture did not report ready within ${READY_TIMEOUT_MS} ms`));
    }, READY_TIMEOUT_MS);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`fixture exited with ${code} before it was ready: ${stderr}`));
    });
    lines.on('line', (line) => {
      const ready = /^ready (.+) cleaned-stale=(true|false)$/.exec(line);
      if (ready !== null) {
        clearTimeout(timer);
        done({
          dir: ready[1]!,
          cleanedStale: ready[2] === 'true',
          child,
          exited,
          stderr: () => stderr,
          send(command) {
            child.stdin!.write(`${command}\n`);
            if (command === 'crash' || command === 'exit') return Promise.resolve();
            return new Promise((acked) => waiting.set(`ok ${command}`, acked));
          },
          stop(signal = 'SIGTERM') {
            child.kill(signal);
            return exited;
          },
        });
      } else if (line.startsWith('unavailable ')) {
        clearTimeout(timer);
        fail(new Error(line));
      } else {
        waiting.get(line)?.();
        waiting.delete(line);
      }
    });
  });
}

export interface ShellResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a shell command in a child process. */
export function sh(command: string, cwd: string): Promise<ShellResult> {
  return new Promise((done) => {
    execFile('sh', ['-c', command], { cwd, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      done({ code, stdout, stderr });
    });
  });
}

/** The outcome of one fs call made in a child process: 'OK' or the error code (EACCES, EINVAL...). */
export function fsCode(cwd: string, op: 'read' | 'write', path: string, data = ''): Promise<string> {
  const call = op === 'read' ? 'fs.readFileSync(p)' : 'fs.writeFileSync(p, d)';
  const script = `const fs = require('node:fs'); const [p, d] = process.argv.slice(1);
    try { ${call}; console.log('OK'); } catch (e) { console.log(e.code); }`;
  return new Promise((done) => {
    execFile(process.execPath, ['-e', script, path, data], { cwd }, (_err, stdout) => done(stdout.trim()));
  });
}

/** Whether /proc/mounts lists dir (a live or a stale mount). */
export async function isMounted(dir: string): Promise<boolean> {
  const mounts = await readFile('/proc/mounts', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[1] === dir);
}
