// Mounting the sysfs tree with fuse-native: find out whether FUSE can work here, clean a mount left behind by a
// crashed run, mount, and unmount on the way out (signals, fatal errors, exit). Nothing here throws: when FUSE is
// unavailable the caller gets a result saying what to install, and the daemon keeps running without the mount.
import { spawn, spawnSync } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, resolve as resolvePath } from 'node:path';
import { fuseOps, type FuseOpsOptions, type SysfsFuseOps } from './fuse-mount.js';
import type { DirNode } from './tree.js';

export const INSTALL_FUSE = 'apt-get install -y libfuse2 fuse';

/**
 * Where the tree is mounted when no directory is given: `$XDG_RUNTIME_DIR/gunyah-emu/hypervisor` when the session
 * has a runtime directory, else `<tmpdir>/gunyah-emu-<uid>/hypervisor` (root usually has no runtime directory).
 */
export function defaultMountDir(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string {
  const runtime = env.XDG_RUNTIME_DIR;
  return runtime ? join(runtime, 'gunyah-emu', 'hypervisor') : join(tmpdir(), `gunyah-emu-${uid}`, 'hypervisor');
}

export const DEFAULT_MOUNT_DIR = defaultMountDir();

/**
 * The kernel caches entries and attributes this long (seconds, as a string: fuse-native drops a numeric 0). With
 * the adapter's own DEFAULT_NODE_CACHE_MS, a vanished node is gone everywhere within 0.5 s.
 */
const KERNEL_CACHE_S = '0.4';
const STALE_PROBE_MS = 1000;
const UNMOUNT_TIMEOUT_MS = 3000;

// ---- Is FUSE usable here?

/** The part of fuse-native's class this module uses. */
interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
}
type FuseClass = new (dir: string, ops: SysfsFuseOps, opts: Record<string, unknown>) => FuseInstance;

export type FuseAvailability =
  | { readonly ok: true; readonly Fuse: FuseClass }
  | { readonly ok: false; readonly reason: string; readonly remedy: string };

/** Turns a failure to load fuse-native into what to do about it. */
export function explainLoadFailure(err: unknown): { reason: string; remedy: string } {
  const message = err instanceof Error ? err.message : String(err);
  if (/libfuse\.so/.test(message)) {
    return { reason: `libfuse2 is not installed (${message})`, remedy: INSTALL_FUSE };
  }
  if (/Cannot find module 'fuse-native'/.test(message)) {
    return { reason: 'the optional package fuse-native is not installed', remedy: `npm install, then ${INSTALL_FUSE}` };
  }
  return { reason: `fuse-native failed to load: ${message}`, remedy: `${INSTALL_FUSE}, then npm rebuild fuse-native` };
}

async function onPath(command: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  for (const folder of (env.PATH ?? '').split(delimiter)) {
    if (folder === '') continue;
    try {
      await access(join(folder, command), fsConstants.X_OK);
      return true;
    } catch {
      // not in this folder
    }
  }
  return false;
}

export interface AvailabilityOptions {
  /** The FUSE device node (default /dev/fuse). */
  readonly device?: string;
  /** Where fusermount is looked for (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

export async function fuseAvailability(options: AvailabilityOptions = {}): Promise<FuseAvailability> {
  const device = options.device ?? '/dev/fuse';
  try {
    await access(device, fsConstants.R_OK | fsConstants.W_OK);
  } catch (err) {
    return {
      ok: false,
      reason: `${device} is not usable (${(err as NodeJS.ErrnoException).code})`,
      remedy: `${INSTALL_FUSE}; modprobe fuse, or start the container with --device /dev/fuse --cap-add SYS_ADMIN`,
    };
  }
  if (!(await onPath('fusermount', options.env ?? process.env))) {
    return { ok: false, reason: 'fusermount is not on PATH', remedy: INSTALL_FUSE };
  }
  try {
    const Fuse = createRequire(import.meta.url)('fuse-native') as FuseClass;
    return { ok: true, Fuse };
  } catch (err) {
    return { ok: false, ...explainLoadFailure(err) };
  }
}

// ---- Stale mounts

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescapeMountinfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** The FUSE mounts listed in /proc/self/mountinfo (mount points, as the kernel spells them). */
export async function fuseMountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points: string[] = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (right === undefined) continue;
    const fstype = right.split(' ')[0] ?? '';
    if (fstype === 'fuse' || fstype.startsWith('fuse.')) points.push(unescapeMountinfo(left!.split(' ')[4] ?? ''));
  }
  return points;
}

/** The path the kernel shows for dir: its parent resolved (never the mount itself, which may be dead). */
async function canonical(dir: string): Promise<string> {
  const absolute = resolvePath(dir);
  try {
    return join(await realpath(dirname(absolute)), basename(absolute));
  } catch {
    return absolute;
  }
}

type Probe = 'alive' | 'dead';

/** Asks the mount's server for the root's attributes, asynchronously, so even our own mount can answer. */
function probe(dir: string): Promise<Probe> {
  return new Promise((done) => {
    const timer = setTimeout(() => done('dead'), STALE_PROBE_MS);
    stat(dir).then(
      () => { clearTimeout(timer); done('alive'); },
      () => { clearTimeout(timer); done('dead'); },
    );
  });
}

function run(command: string, args: string[]): Promise<boolean> {
  return new Promise((done) => {
    const child = spawn(command, args, { stdio: 'ignore', timeout: UNMOUNT_TIMEOUT_MS });
    child.on('error', () => done(false));
    child.on('exit', (code) => done(code === 0));
  });
}

/** Lazy unmount, as fuse-native does, with umount -l where fusermount cannot. */
async function detach(dir: string): Promise<boolean> {
  return (await run('fusermount', ['-uz', dir])) || run('umount', ['-l', dir]);
}

function detachSync(dir: string): boolean {
  const options = { stdio: 'ignore', timeout: UNMOUNT_TIMEOUT_MS } as const;
  return spawnSync('fusermount', ['-uz', dir], options).status === 0
    || spawnSync('umount', ['-l', dir], options).status === 0;
}

export type StaleCheck =
  | { readonly state: 'clear' }
  | { readonly state: 'cleaned' }
  | { readonly state: 'busy'; readonly reason: string };

/**
 * Makes dir free to mount on. A FUSE mount whose server is gone (ENOTCONN, or no answer within a second) is left by a
 * crashed run and is detached; a mount that still answers belongs to a running process and is left alone.
 */
export async function cleanStaleMount(dir: string): Promise<StaleCheck> {
  const point = await canonical(dir);
  let mounted: string[];
  try {
    mounted = await fuseMountPoints();
  } catch {
    mounted = [];
  }
  if (!mounted.includes(point)) return { state: 'clear' };
  if ((await probe(point)) === 'alive') {
    return { state: 'busy', reason: `${point} is already served by a running FUSE process (fusermount -u ${point})` };
  }
  if (await detach(point)) return { state: 'cleaned' };
  return { state: 'busy', reason: `a stale mount on ${point} could not be detached (try fusermount -uz ${point})` };
}

// ---- Mounting

export interface SysfsMount {
  /** The mount point, as the kernel shows it. */
  readonly dir: string;
  /** True when a dead mount from an earlier run had to be cleaned first. */
  readonly cleanedStale: boolean;
  readonly ops: SysfsFuseOps;
  /** Unmounts (lazily, so open files do not block it); safe to call more than once; rejects if it cannot. */
  unmount(): Promise<void>;
  /** Last-resort synchronous unmount for exit paths; does nothing once unmounted. */
  unmountSync(): void;
  isMounted(): boolean;
}

export type MountResult =
  | { readonly ok: true; readonly mount: SysfsMount }
  | { readonly ok: false; readonly reason: string; readonly remedy?: string };

export interface MountOptions extends AvailabilityOptions, Pick<FuseOpsOptions, 'onFault'> {
  /**
   * Let other users read the tree (allow_other, with the kernel checking mode bits for them). Defaults to true for
   * root, where it needs no /etc/fuse.conf change; a mount by another user is private to that user.
   */
  readonly allowOther?: boolean;
}

function fuseOptions(allowOther: boolean): Record<string, unknown> {
  return {
    // platform notes: fuse-native has no direct_io option, but fsname reaches libfuse's -o list. direct_io sends every
    // read to us, so a value longer than the 4096 bytes getattr claims is never cut to that size.
    fsname: 'gunyah-emu,direct_io',
    subtype: 'gunyah-emu',
    entryTimeout: KERNEL_CACHE_S,
    attrTimeout: KERNEL_CACHE_S,
    // Our operations answer synchronously and exactly once (fuse-mount.ts), so fuse-native's per-call watchdog timer
    // would only cost a setTimeout on every call.
    timeout: false,
    allowOther,
    defaultPermissions: allowOther,
  };
}

function failed(reason: string, remedy?: string): MountResult {
  return remedy === undefined ? { ok: false, reason } : { ok: false, reason, remedy };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Why folder must not hold the mount, when someone other than us (or root) owns it. */
async function foreignOwner(folder: string): Promise<string | undefined> {
  try {
    const { uid } = await stat(folder);
    if (uid === 0 || uid === process.getuid?.()) return undefined;
    // The default lives in a shared /tmp: a folder another user made there could be swapped under us.
    return `${folder} belongs to uid ${uid}, not to this user; choose another mount directory`;
  } catch (err) {
    return `cannot inspect ${folder}: ${errorText(err)}`;
  }
}

/** Mounts the tree on dir (created if missing), first cleaning a stale mount a crashed run left there. */
export async function mountSysfs(root: DirNode, dir = DEFAULT_MOUNT_DIR, options: MountOptions = {}): Promise<MountResult> {
  const fuse = await fuseAvailability(options);
  if (!fuse.ok) return failed(fuse.reason, fuse.remedy);

  const stale = await cleanStaleMount(dir);
  if (stale.state === 'busy') return failed(stale.reason);
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    return failed(`cannot create the mount directory ${dir}: ${errorText(err)}`);
  }
  const point = await canonical(dir);
  const foreign = await foreignOwner(dirname(point));
  if (foreign !== undefined) return failed(foreign);
  const ops = fuseOps(root, { onFault: options.onFault });
  const allowOther = options.allowOther ?? process.getuid?.() === 0;
  let instance: FuseInstance;
  try {
    instance = new fuse.Fuse(point, ops, fuseOptions(allowOther));
    await new Promise<void>((done, fail) => instance.mount((err) => (err ? fail(err) : done())));
  } catch (err) {
    // fuse-native only says "fuse failed"; libfuse has already printed the cause on stderr.
    return failed(`mounting ${point} failed: ${errorText(err)} (the cause is on stderr)`);
  }

  let mounted = true;
  let unmounting: Promise<void> | undefined;
  const mount: SysfsMount = {
    dir: point,
    cleanedStale: stale.state === 'cleaned',
    ops,
    isMounted: () => mounted,
    unmount() {
      if (!mounted) return Promise.resolve();
      unmounting ??= new Promise<void>((done, fail) => {
        let settled = false;
        const settle = async (err: Error | null): Promise<void> => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          // fuse-native's own fusermount can fail (the binary vanished, a race with a signal): fall back once.
          if (err && !(await detach(point))) {
            unmounting = undefined;
            return fail(new Error(`cannot unmount ${point}: ${errorText(err)}; try fusermount -uz ${point}`));
          }
          mounted = false;
          done();
        };
        // fuse-native runs fusermount with no time limit, so a fusermount that never returns would hold the unmount
        // (and a daemon's shutdown) forever: past the limit, detach with our own time-limited commands instead.
        const deadline = setTimeout(
          () => void settle(new Error(`fusermount did not finish within ${UNMOUNT_TIMEOUT_MS} ms`)), UNMOUNT_TIMEOUT_MS);
        instance.unmount((err) => void settle(err));
      });
      return unmounting;
    },
    unmountSync() {
      if (!mounted) return;
      mounted = !detachSync(point);
      if (mounted) console.error(`cannot unmount ${point}; try fusermount -uz ${point}`);
    },
  };
  return { ok: true, mount };
}

// ---- Leaving cleanly

/** How long SIGINT/SIGTERM may take to shut down and unmount before the process detaches and leaves anyway. */
export const SHUTDOWN_LIMIT_MS = 10_000;

export interface ExitOptions {
  /** Runs first on SIGINT/SIGTERM (close streams, stop VMs); the mount is unmounted after it, then exit code 0. */
  readonly shutdown?: (signal: NodeJS.Signals) => Promise<void> | void;
  /** Default SHUTDOWN_LIMIT_MS. */
  readonly shutdownLimitMs?: number;
}

/**
 * Unmounts synchronously when the process dies of an uncaught exception or exits while still mounted (a forced exit,
 * say). Returns a function that removes the handlers.
 */
export function unmountOnFatal(mount: SysfsMount): () => void {
  const onFatal = (): void => mount.unmountSync();
  process.on('uncaughtExceptionMonitor', onFatal);
  process.on('exit', onFatal);
  return () => {
    process.off('uncaughtExceptionMonitor', onFatal);
    process.off('exit', onFatal);
  };
}

/**
 * Unmounts on SIGINT and SIGTERM (then exits 0; a second signal, or a shutdown still running after the limit,
 * detaches the mount and exits 1), and as unmountOnFatal does. Returns a function that removes the handlers.
 * Install it once, and let it own SIGINT/SIGTERM: pass the daemon's own shutdown as options.shutdown.
 */
export function unmountOnExit(mount: SysfsMount, options: ExitOptions = {}): () => void {
  const limitMs = options.shutdownLimitMs ?? SHUTDOWN_LIMIT_MS;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      mount.unmountSync();
      process.exit(1);
    }
    stopping = true;
    setTimeout(() => {
      console.error(`shutdown on ${signal} did not finish within ${limitMs} ms; detaching the mount and exiting`);
      mount.unmountSync();
      process.exit(1);
    }, limitMs);
    void (async () => {
      try {
        await options.shutdown?.(signal);
      } catch (err) {
        console.error(`shutdown on ${signal} failed: ${errorText(err)}`);
      }
      try {
        await mount.unmount();
      } catch (err) {
        console.error(errorText(err));
        process.exit(1);
      }
      process.exit(0);
    })();
  };
  const offFatal = unmountOnFatal(mount);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    offFatal();
  };
}
