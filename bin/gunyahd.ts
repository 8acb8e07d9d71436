#!/usr/bin/env node
// gunyahd: the emulated Gunyah device as a daemon (product brief, "Daemon"). Flags override the configuration
// file's keys, which override the embedded default (core/config/default.ts). Prints one line on stdout when ready;
// logs JSON lines on stderr; exits 0 on SIGINT/SIGTERM after closing everything (1 when that takes longer than
// SHUTDOWN_LIMIT_MS), non-zero with a message naming the problem for a bad flag, a bad configuration file or a
// failed start.
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import {
  checkConfig, ConfigError, DEFAULT_CONFIG, LOG_LEVELS, parseConfig, type DaemonConfig,
} from '../core/config/schema.js';
import { startDaemon, type Daemon } from './daemon.js';
import { DEFAULT_SURFACES } from './surfaces.js';
import { SHUTDOWN_LIMIT_MS } from '../fs/mount-lifecycle.js';
import { VERSION } from '../server/device-services.js';
import { initTracingFromEnv } from '../server/tracing/otel-sdk.js';

interface Flags {
  config?: string;
  host?: string;
  port?: number;
  socket?: string;
  mount?: string | false;
  stateDir?: string;
  restore?: string;
  token?: string;
  seed?: number;
  logLevel?: string;
}

const integer = (name: string, min: number, max: number) => (value: string): number => {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
  return n;
};

function parseFlags(argv: readonly string[]): Flags {
  const program = new Command('gunyahd')
    .description('An emulated Gunyah hypervisor and Resource Manager, with its REST control plane and sysfs tree')
    .option('--config <file>', 'YAML configuration file (default: the embedded default)')
    .option('--host <host>', 'address the REST API listens on (default 127.0.0.1)')
    .option('--port <port>', 'TCP port of the REST API; 0 picks a free one (default 8080)', integer('port', 0, 65535))
    .option('--socket <path>', 'also serve the REST API on this Unix socket')
    .option('--mount <dir>', 'directory where the /sys/hypervisor tree is mounted (default: a documented one)')
    .option('--no-mount', 'do not mount the sysfs tree')
    .option('--state-dir <dir>', "directory for the daemon's state: its VMs, kept across restarts, and snapshots")
    .option('--restore <file>', 'start from a snapshot (POST /v1/snapshot) instead of the recorded or configured VMs')
    .option('--token <token>', 'bearer token required for changes (required beyond loopback)')
    .option('--seed <n>', 'seed for reproducible capability IDs', integer('seed', 0, 0xffffffff))
    .option('--log-level <level>', `log level on stderr: ${LOG_LEVELS.join(', ')}`)
    .allowExcessArguments(false)
    .showHelpAfterError('(run gunyahd --help for the flags)');
  program.parse(argv as string[], { from: 'user' });
  const flags = program.opts<Flags>();
  // commander's --no-mount makes `mount` default to true: only an explicit --mount or --no-mount counts.
  if (flags.mount === (true as unknown)) delete flags.mount;
  return flags;
}

/** Each flag's option name, the configuration key it sets (--no-mount sets mount: false) and its spelling. */
const FLAG_KEYS: readonly [keyof Flags, string, string][] = [
  ['host', 'host', '--host'], ['port', 'port', '--port'], ['socket', 'socket', '--socket'], ['mount', 'mount', '--mount'],
  ['stateDir', 'state_dir', '--state-dir'], ['token', 'token', '--token'], ['seed', 'seed', '--seed'],
  ['logLevel', 'log_level', '--log-level'],
];

/** The configuration: the file's (or the embedded default), then the flags given. */
function configure(flags: Flags): DaemonConfig | ConfigError {
  let base = DEFAULT_CONFIG;
  if (flags.config !== undefined) {
    let text: string;
    try {
      text = readFileSync(flags.config, 'utf8');
    } catch (err) {
      return new ConfigError(flags.config, '', `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    const parsed = parseConfig(text, flags.config);
    if (parsed instanceof ConfigError) return parsed;
    base = parsed;
  }
  // The flags go through the same checks as the file's keys; a refusal names the flag.
  const given: Record<string, unknown> = {};
  for (const [flag, key] of FLAG_KEYS) {
    const value = flags[flag];
    if (value !== undefined) given[key] = value;
  }
  const merged = checkConfig(given, 'command line', base);
  if (!(merged instanceof ConfigError)) return merged;
  const flag = FLAG_KEYS.find(([, key]) => key === merged.key)?.[2] ?? merged.key;
  return new ConfigError('command line', flag, merged.detail);
}

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const config = configure(flags);
  if (config instanceof ConfigError) {
    process.stderr.write(`gunyahd: ${config.message}\n`);
    process.exit(2);
  }
  // Tracing first, so the app's spans reach the SDK; without OTEL_* variables nothing is loaded.
  const stopTracing = await initTracingFromEnv({ version: VERSION });
  // Signal handlers come first: a signal during start-up closes what has started once the start ends.
  let daemon: Daemon | null = null;
  let signalled: NodeJS.Signals | null = null;
  const shutdown = (signal: NodeJS.Signals) => {
    if (signalled !== null) process.exit(1); // a second signal: do not wait any more
    signalled = signal;
    if (daemon !== null) void stop(daemon, signal, stopTracing);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  try {
    daemon = await startDaemon(config, { surfaces: DEFAULT_SURFACES, restore: flags.restore ?? null });
  } catch (err) {
    process.stderr.write(`gunyahd: start failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  if (signalled !== null) return stop(daemon, signalled, stopTracing);
  process.stdout.write(`${daemon.readyLine}\n`);
}

async function stop(daemon: Daemon, signal: NodeJS.Signals, stopTracing: () => Promise<void>): Promise<void> {
  daemon.context.log.info({ signal }, 'shutting down');
  // Something that never finishes (a client, a stuck fusermount) must not keep the daemon from exiting; the mount is
  // then detached by the exit handler bin/surfaces.ts installs.
  setTimeout(() => {
    process.stderr.write(`gunyahd: shutdown did not finish within ${SHUTDOWN_LIMIT_MS} ms; exiting\n`);
    process.exit(1);
  }, SHUTDOWN_LIMIT_MS);
  try {
    await daemon.close();
    await stopTracing(); // flushes the spans still batched
    process.exit(0);
  } catch (err) {
    process.stderr.write(`gunyahd: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}

void main();
