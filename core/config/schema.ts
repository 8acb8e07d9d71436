// The gunyahd configuration file: its keys, their checks and their defaults. Every command-line flag has a key here
// (product brief, "Daemon"); the YAML text is parsed with `yaml` and checked by hand so that each refusal names the
// key at fault (`vms[1].image: ...`). Unknown keys are refused, never ignored.
//
//   parseConfig(yamlText, source) -> DaemonConfig | ConfigError     a whole file, defaults filled in
//   checkConfig(value, source)    -> DaemonConfig | ConfigError     an already parsed value
import { parseDocument } from 'yaml';
import { PAGE_SIZE } from '../abi/memory.js';
import { FIXED_VMID_LIMIT } from '../abi/vmid.js';
import { DEFAULT_CONFIG_YAML } from './default.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One secondary VM to create at start (through the HLOS, over RM RPC). */
export interface VmConfig {
  readonly name: string;
  readonly image: string;
  readonly vcpus: number;
  /** Guest memory in bytes (a multiple of the page size). */
  readonly memory: number;
  readonly params: Readonly<Record<string, unknown>>;
  /** A fixed VMID below 64, or null for a dynamic one. */
  readonly vmid: number | null;
}

export interface DaemonConfig {
  readonly host: string;
  readonly port: number;
  /** Also serve on this Unix socket. */
  readonly socket: string | null;
  /** Where sysfs is mounted: a directory, `default` for the documented default, or null for no mount. */
  readonly mount: string | null;
  readonly stateDir: string | null;
  /** Bearer token for changes (required beyond loopback). */
  readonly token: string | null;
  /** Seed for reproducible capids; null for random ones. */
  readonly seed: number | null;
  readonly logLevel: LogLevel;
  /** Deadline of each RM call of the HLOS driver, ms. */
  readonly rmTimeoutMs: number;
  readonly vms: readonly VmConfig[];
}

/** The `mount` value that asks for the documented default directory. */
export const DEFAULT_MOUNT = 'default';

export class ConfigError {
  constructor(
    /** The file (or `--flag`) the value came from. */
    readonly source: string,
    /** The key path at fault, e.g. `vms[1].image`; empty for the whole document. */
    readonly key: string,
    readonly detail: string,
  ) {}

  get message(): string {
    return `${this.source}: ${this.key ? `${this.key}: ` : ''}${this.detail}`;
  }
}

/** A value a check refused, with the sentence that says why. */
class Bad {
  constructor(readonly why: string) {}
}
type Check<T> = (v: unknown) => T | Bad;

const SIZE = /^(\d+)\s*([KMG])(i?B)?$/i;
const UNIT = { K: 1 << 10, M: 1 << 20, G: 1 << 30 } as const;

const str: Check<string> = (v) => (typeof v === 'string' && v.length > 0 ? v : new Bad('must be a non-empty string'));
const nullable = <T>(check: Check<T>): Check<T | null> => (v) => (v === null ? null : check(v));
const int = (min: number, max: number): Check<number> => (v) =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : new Bad(`must be an integer from ${min} to ${max}`);

/** A byte count: an integer, or a string such as "1M", "512KiB", "2G". */
const bytes: Check<number> = (v) => {
  const m = typeof v === 'string' ? SIZE.exec(v) : null;
  const n = m ? Number(m[1]) * UNIT[m[2]!.toUpperCase() as keyof typeof UNIT] : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 && n % PAGE_SIZE === 0
    ? n
    : new Bad(`must be a size in bytes that is a multiple of ${PAGE_SIZE} (a number, or like "1M", "512K")`);
};

const mount: Check<string | null> = (v) => {
  if (v === false || v === null) return null;
  return typeof v === 'string' && v.length > 0 ? v : new Bad(`must be a directory, "${DEFAULT_MOUNT}", or false for no mount`);
};

const logLevel: Check<LogLevel> = (v) =>
  (LOG_LEVELS as readonly unknown[]).includes(v) ? (v as LogLevel) : new Bad(`must be one of ${LOG_LEVELS.join(', ')}`);

const paramsMap: Check<Record<string, unknown>> = (v) => (isMap(v) ? v : new Bad('must be a map of image parameters'));

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownKey(obj: Record<string, unknown>, known: readonly string[]): string | null {
  return Object.keys(obj).find((k) => !known.includes(k)) ?? null;
}

/** The fields of a VM entry: [key, check, default (undefined = required)]. */
const VM_FIELDS: readonly [keyof VmConfig, Check<unknown>, unknown][] = [
  ['name', str, undefined],
  ['image', str, undefined],
  ['vcpus', int(1, 64), 1],
  ['memory', bytes, 1 << 20],
  ['params', paramsMap, {}],
  ['vmid', nullable(int(1, FIXED_VMID_LIMIT - 1)), null],
];
const VM_KEYS: readonly string[] = VM_FIELDS.map(([name]) => name);

function checkVm(v: unknown, key: string, source: string): VmConfig | ConfigError {
  if (!isMap(v)) return new ConfigError(source, key, 'must be a map with name and image');
  const extra = unknownKey(v, VM_KEYS);
  if (extra !== null) return new ConfigError(source, `${key}.${extra}`, `unknown key (known: ${VM_KEYS.join(', ')})`);
  const out: Record<string, unknown> = {};
  for (const [name, check, fallback] of VM_FIELDS) {
    if (!(name in v)) {
      if (fallback === undefined) return new ConfigError(source, `${key}.${name}`, 'is required');
      out[name] = fallback;
      continue;
    }
    const r = check(v[name]);
    if (r instanceof Bad) return new ConfigError(source, `${key}.${name}`, r.why);
    out[name] = r;
  }
  return out as unknown as VmConfig;
}

/** Top-level keys: [field, YAML key, check]. */
const TOP_FIELDS: readonly [keyof DaemonConfig, string, Check<unknown>][] = [
  ['host', 'host', str],
  ['port', 'port', int(0, 65535)],
  ['socket', 'socket', nullable(str)],
  ['mount', 'mount', mount],
  ['stateDir', 'state_dir', nullable(str)],
  ['token', 'token', nullable(str)],
  ['seed', 'seed', nullable(int(0, 0xffffffff))],
  ['logLevel', 'log_level', logLevel],
  ['rmTimeoutMs', 'rm_timeout_ms', int(10, 600_000)],
];
const TOP_KEYS: readonly string[] = [...TOP_FIELDS.map(([, key]) => key), 'vms'];

/** Values of the keys the embedded default leaves out. */
const BASE: DaemonConfig = {
  host: '127.0.0.1', port: 8080, socket: null, mount: DEFAULT_MOUNT, stateDir: null, token: null, seed: null,
  logLevel: 'info', rmTimeoutMs: 2000, vms: [],
};

/** Check a parsed document; keys it lacks take the values of `defaults` (the embedded default). */
export function checkConfig(doc: unknown, source: string, defaults: DaemonConfig = DEFAULT_CONFIG): DaemonConfig | ConfigError {
  if (doc === null || doc === undefined) return defaults;
  if (!isMap(doc)) return new ConfigError(source, '', 'the configuration must be a map of keys');
  const extra = unknownKey(doc, TOP_KEYS);
  if (extra !== null) return new ConfigError(source, extra, `unknown key (known: ${TOP_KEYS.join(', ')})`);
  const out: Record<string, unknown> = { ...defaults };
  for (const [field, key, check] of TOP_FIELDS) {
    if (!(key in doc)) continue;
    const r = check(doc[key]);
    if (r instanceof Bad) return new ConfigError(source, key, r.why);
    out[field] = r;
  }
  if ('vms' in doc) {
    const vms = doc.vms;
    if (!Array.isArray(vms)) return new ConfigError(source, 'vms', 'must be a list of VMs');
    const list: VmConfig[] = [];
    for (let i = 0; i < vms.length; i++) {
      const vm = checkVm(vms[i], `vms[${i}]`, source);
      if (vm instanceof ConfigError) return vm;
      if (list.some((o) => o.name === vm.name)) return new ConfigError(source, `vms[${i}].name`, `"${vm.name}" is used twice`);
      list.push(vm);
    }
    out.vms = list;
  }
  return out as unknown as DaemonConfig;
}

/** Parse and check the text of a configuration file. */
export function parseConfig(text: string, source: string, defaults: DaemonConfig = DEFAULT_CONFIG): DaemonConfig | ConfigError {
  const doc = parseDocument(text);
  const error = doc.errors[0];
  if (error !== undefined) return new ConfigError(source, '', `not valid YAML: ${error.message.split('\n')[0]}`);
  return checkConfig(doc.toJS(), source, defaults);
}

/** The embedded default configuration (default.ts), checked like any file. */
export const DEFAULT_CONFIG: DaemonConfig = (() => {
  const c = parseConfig(DEFAULT_CONFIG_YAML, 'embedded default', BASE);
  if (c instanceof ConfigError) throw new Error(`the embedded default configuration is invalid: ${c.message}`);
  return c;
})();
