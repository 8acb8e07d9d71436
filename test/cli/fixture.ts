// gunyahctl tests run the real programs: gunyahd as a child process (TCP on a free port and a Unix socket, no
// mount), and gunyahctl as a child process per command, with an environment of its own.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const GUNYAHCTL = join(HERE, '../../bin/gunyahctl.js');
const GUNYAHD = join(HERE, '../../bin/gunyahd.js');

export interface Gunyahd {
  readonly url: string;
  readonly socket: string;
  close(): Promise<void>;
}

/** gunyahd with the default topology (and `flags`), once its ready line names the API's URL. */
export async function startGunyahd(flags: readonly string[] = []): Promise<Gunyahd> {
  const dir = mkdtempSync(join(tmpdir(), 'gunyahctl-test-'));
  const socket = join(dir, 'gunyahd.sock');
  const args = [GUNYAHD, '--no-mount', '--port', '0', '--socket', socket, '--seed', '1', '--log-level', 'silent', ...flags];
  // stderr is piped, not inherited: a daemon outliving this process must not hold the test runner's output open.
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('gunyahd printed no ready line in 15 s')), 15_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.split('\n')[0]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`gunyahd exited (${code}) before its ready line`)));
  });
  const url = /^gunyahd ready: API (http:\/\/[^\s,]+),/.exec(ready)?.[1];
  if (url === undefined) {
    child.kill('SIGTERM');
    throw new Error(`gunyahd's ready line names no API URL: ${ready}`);
  }
  return {
    url,
    socket,
    async close() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The environment gunyahctl runs in: the test's, without GUNYAH_* variables, plus `extra`. */
export function ctlEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GUNYAH_')));
  return { ...env, ...extra };
}

export interface CtlRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running gunyahctl, for commands that follow (events, top). */
export function spawnCtl(args: readonly string[], env: NodeJS.ProcessEnv): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [GUNYAHCTL, ...args], { env });
}

/** Run gunyahctl to its end; `input` is its standard input. */
export function ctl(args: readonly string[], env: NodeJS.ProcessEnv, input?: string | Buffer): Promise<CtlRun> {
  const child = spawnCtl(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  child.stdin.end(input);
  // Generous: a loaded machine can take seconds to start node; a hung command still ends.
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Resolves with the text once `pattern` appears in the stream. */
export function waitFor(stream: NodeJS.ReadableStream, pattern: RegExp, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}; got: ${text}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      text += d;
      if (pattern.test(text)) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(text);
      }
    };
    stream.on('data', onData);
  });
}
