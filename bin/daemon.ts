// The gunyahd daemon as a function: boot one emulated device (hypervisor, RM, HLOS), start the surfaces (REST API,
// sysfs mount, ...), create the configured VMs through the HLOS over RM RPC, and name the surfaces in one ready
// line. `close()` stops the surfaces in reverse order, then the device. bin/gunyahd.ts is the command line around
// it; tests and other tools call it in-process.
//
// Plug-in point: a Surface starts right after the device boots, before the configured VMs are created, so it sees
// every VM from its creation (a console log gets the boot banner); it reports the URL or mount point it serves.
import pino, { type Logger } from 'pino';
import { traceLogMixin } from '../server/tracing/tracer.js';
import { bootDevice, type Device } from '../core/hlos/device.js';
import type { Hlos } from '../core/hlos/hlos.js';
import type { ConsoleHub } from '../core/hlos/console-hub.js';
import { VmError } from '../core/hlos/vm-manager.js';
import { openDaemonState, type DaemonState } from '../core/persist/daemon-state.js';
import { PersistError } from '../core/persist/format.js';
import { DEFAULT_MOUNT, type DaemonConfig } from '../core/config/schema.js';
import { defaultMountDir } from '../fs/mount-lifecycle.js';

export interface DaemonContext {
  readonly config: DaemonConfig;
  readonly device: Device;
  readonly hlos: Hlos;
  readonly log: Logger;
  /** The sysfs mount directory (the documented default resolved), or null with --no-mount. */
  readonly mountDir: string | null;
}

export interface RunningSurface {
  /** The API URL this surface serves, for the ready line. */
  readonly url?: string;
  /** The directory this surface mounted, for the ready line. */
  readonly mountPoint?: string;
  /** The console hub this surface serves: a snapshot restore puts the saved console logs back into it. */
  readonly consoles?: ConsoleHub;
  close(): Promise<void>;
}

export interface Surface {
  readonly name: string;
  start(ctx: DaemonContext): Promise<RunningSurface>;
}

export interface Daemon {
  readonly context: DaemonContext;
  /** The line printed when ready: the API URL and the mount point. */
  readonly readyLine: string;
  close(): Promise<void>;
}

export interface DaemonOptions {
  surfaces?: readonly Surface[];
  /** Default: pino at the configured level, to stderr. */
  log?: Logger;
  /** `--restore FILE`: a snapshot (POST /v1/snapshot) to restore instead of the recorded or configured VMs. */
  restore?: string | null;
}

/** The structured log of the daemon: JSON lines on stderr (stdout carries only the ready line). */
export function daemonLogger(config: DaemonConfig): Logger {
  // Each line written inside a traced request carries its trace and span ids (pino merges into the mixin's object,
  // which must therefore be a fresh one).
  return pino({ name: 'gunyahd', level: config.logLevel, mixin: () => ({ ...traceLogMixin() }) }, pino.destination({ fd: 2, sync: true }));
}

/** The VMs of the configuration, created in order through the HLOS; the first failure is the error. */
async function createConfiguredVms(ctx: DaemonContext): Promise<void> {
  for (const vm of ctx.config.vms) {
    const r = await ctx.hlos.createVm({
      name: vm.name, image: vm.image, vcpus: vm.vcpus, memory: vm.memory, params: { ...vm.params },
      ...(vm.vmid === null ? {} : { vmid: vm.vmid }),
    });
    if (r instanceof VmError) {
      // The loader's reason, when it refused the image (VM_INIT then fails with a bare RM error).
      const refused = [...ctx.device.loader.refusals.values()].pop();
      throw new Error(`VM ${vm.name} (image ${vm.image}) could not be created: ${r.detail}${refused ? ` (${refused})` : ''}`);
    }
    ctx.log.info({ vmid: r.vmid, vm: r.name, image: r.image, vcpus: r.vcpus }, 'VM created');
  }
}

function readyLine(ctx: DaemonContext, running: readonly RunningSurface[]): string {
  const { host, port } = ctx.config;
  const url = running.find((s) => s.url)?.url ?? `http://${host.includes(':') ? `[${host}]` : host}:${port} (API not served yet)`;
  const mounted = running.find((s) => s.mountPoint)?.mountPoint;
  const mount = mounted ?? (ctx.mountDir === null ? 'not mounted (--no-mount)' : `${ctx.mountDir} (not mounted yet)`);
  return `gunyahd ready: API ${url}, sysfs ${mount}`;
}

export async function startDaemon(config: DaemonConfig, opts: DaemonOptions = {}): Promise<Daemon> {
  const log = opts.log ?? daemonLogger(config);
  const device = bootDevice({ ...(config.seed === null ? {} : { seed: config.seed }), timeoutMs: config.rmTimeoutMs });
  const hlos = device.hlos;
  const mountDir = config.mount === null ? null : config.mount === DEFAULT_MOUNT ? defaultMountDir() : config.mount;
  const ctx: DaemonContext = { config, device, hlos, log, mountDir };
  log.info({ seed: config.seed, vms: config.vms.length }, 'device booted: RM (VMID 255) and HLOS (VMID 3) running');
  const offStatus = hlos.events.on('vm-status', (v) => log.debug({ vmid: v.vmid, status: v.status, os_status: v.os_status }, 'VM status'));
  const offExit = hlos.events.on('vm-exited', (v) => log.info({ vmid: v.vmid, exit_type: v.exitType }, 'VM exited'));
  const running: RunningSurface[] = [];
  let state: DaemonState | null = null;
  const stop = async () => {
    await state?.close();
    for (const s of running.splice(0).reverse()) await s.close();
    offStatus();
    offExit();
    device.close();
  };
  try {
    for (const surface of opts.surfaces ?? []) {
      running.push(await surface.start(ctx));
      log.info({ surface: surface.name }, 'surface started');
    }
    // The VMs: a snapshot's, else the state directory's record, else the configuration's (core/persist).
    const consoles = running.find((s) => s.consoles)?.consoles ?? null;
    const opened = await openDaemonState({ hyp: device.hyp, hlos, rm: device.system.rm, consoles }, {
      stateDir: config.stateDir, restoreFile: opts.restore ?? null, createConfigured: () => createConfiguredVms(ctx), log,
    });
    if (opened instanceof PersistError) throw new Error(opened.message);
    state = opened;
  } catch (err) {
    await stop();
    throw err;
  }
  let closing: Promise<void> | null = null;
  return {
    context: ctx,
    readyLine: readyLine(ctx, running),
    close: () => (closing ??= stop().then(() => log.info('stopped'))),
  };
}
