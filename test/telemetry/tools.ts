// Prometheus's binaries for the telemetry tests: a test that needs one fails under CI (env CI set) when it is
// missing, and skips elsewhere with the install hint.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export const PROMTOOL = '/usr/bin/promtool';
export const PROMETHEUS = '/usr/bin/prometheus';

/** Whether `binary` exists; otherwise skips the test, or fails it under CI. */
export function have(t: TestContext, binary: string): boolean {
  if (existsSync(binary)) return true;
  const message = `${binary} is missing: apt-get install -y --no-install-recommends prometheus`;
  if (process.env['CI']) assert.fail(message);
  t.skip(message);
  return false;
}

/** `promtool check metrics` on an exposition: its exit status and what it printed. */
export function checkMetrics(text: string | Uint8Array): { status: number | null; output: string } {
  const run = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** A TCP port free on loopback now (for a Prometheus started by a test). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Poll `probe` every 250 ms until it gives a value; fail after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
