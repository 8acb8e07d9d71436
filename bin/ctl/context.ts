// What every gunyahctl command works with: the API client built from the global options, the output mode
// (`--json` prints the API's JSON as is; otherwise human text), and VM names resolved to VMIDs.
import { InvalidArgumentError, type Command } from 'commander';
import { ApiClient, type Endpoint } from './client.js';
import { NotFound, UsageError } from './errors.js';

/** A VM as GET /v1/vms answers it (product brief, "REST API"). */
export interface Vm {
  vmid: number;
  name: string;
  type: 'rm' | 'primary' | 'secondary';
  status: string;
  os_status: string;
  image: string | null;
  vcpus: number;
  memory: { base: string; size: string } | null;
}

export interface GlobalOptions {
  url: string;
  socket?: string;
  token?: string;
  json: boolean;
}

export class Ctl {
  constructor(
    readonly client: ApiClient,
    readonly json: boolean,
  ) {}

  /** `--json`: the value as JSON (nothing for an answer without a body); else the human text. */
  print(value: unknown, human: () => string): void {
    if (!this.json) this.write(human());
    else if (value !== undefined) this.write(JSON.stringify(value, null, 2));
  }

  /** One line of output. */
  write(line: string): void {
    process.stdout.write(`${line}\n`);
  }

  /** The VMID a command argument names: a VMID (decimal or 0x hex), else a VM name looked up in GET /v1/vms. */
  async vmid(arg: string): Promise<number> {
    const asNumber = parseVmid(arg);
    if (asNumber !== null) return asNumber;
    const vm = (await this.client.get<Vm[]>('/v1/vms')).find((v) => v.name === arg);
    if (vm === undefined) throw new NotFound('VM_NOT_FOUND', `no VM named "${arg}" (gunyahctl vm ls lists them)`);
    return vm.vmid;
  }
}

/** A VMID written as a number, or null when `arg` is a name. */
export function parseVmid(arg: string): number | null {
  if (!/^(\d+|0x[0-9a-f]+)$/i.test(arg)) return null;
  const n = Number(arg);
  if (n > 0xffff) throw new UsageError(`VMID ${arg} is out of range (at most 65535)`);
  return n;
}

/**
 * The endpoint from the global options. An option given on the command line beats the environment: `--url` wins
 * over GUNYAH_SOCKET, `--socket` over GUNYAH_URL; otherwise a socket (from either) wins over the URL.
 */
export function endpointOf(cmd: Command): Endpoint {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  const source = (name: string) => {
    for (let c: Command | null = cmd; c !== null; c = c.parent) {
      const s = c.getOptionValueSource(name);
      if (s !== undefined) return s;
    }
    return undefined;
  };
  const useSocket = opts.socket !== undefined && !(source('url') === 'cli' && source('socket') !== 'cli');
  if (!useSocket) {
    try {
      new URL(opts.url);
    } catch {
      const given = source('url') === 'env' ? 'GUNYAH_URL' : '--url';
      throw new UsageError(`${given} "${opts.url}" is not a URL (e.g. http://127.0.0.1:8080)`);
    }
  }
  return { url: opts.url, socket: useSocket ? opts.socket : undefined, token: opts.token };
}

export function ctlOf(cmd: Command): Ctl {
  return new Ctl(new ApiClient(endpointOf(cmd)), cmd.optsWithGlobals<GlobalOptions>().json);
}

/**
 * A commander action that gets the command's Ctl first, then the command's arguments and options as commander
 * passes them (the trailing Command is taken off).
 */
export function action<A extends unknown[]>(fn: (ctl: Ctl, ...args: A) => Promise<void>) {
  return (...params: unknown[]): Promise<void> => {
    const cmd = params[params.length - 1] as Command;
    return fn(ctlOf(cmd), ...(params.slice(0, -1) as A));
  };
}

/** An option or argument parser for commander: an integer, decimal or 0x hex, within [min, max]. */
export function intArg(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = /^(\d+|0x[0-9a-f]+)$/i.test(value) ? Number(value) : NaN;
    if (!(n >= min && n <= max)) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}.`);
    return n;
  };
}

/** Aborted on Ctrl-C (SIGINT) or SIGTERM: how following commands (events, top) learn to stop. */
export function interruption(): AbortSignal {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return controller.signal;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
