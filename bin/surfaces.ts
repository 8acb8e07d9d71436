// The daemon's surfaces (bin/daemon.ts plug-in points): the REST control plane with /metrics and the consoles, and
// the sysfs tree mounted with FUSE. What they share (the console hub, the sysfs tree, the metrics registry) is made
// once per device, so /metrics, sysfs and REST read the same objects.
import { createRequire } from 'node:module';
import { ConsoleHub } from '../core/hlos/console-hub.js';
import { buildSysfsTree } from '../fs/sysfs.js';
import { mountSysfs } from '../fs/mount-lifecycle.js';
import type { DirNode } from '../fs/tree.js';
import { MetricsRegistry } from '../server/metrics/registry.js';
import { startServer } from '../server/start.js';
import type { DaemonContext, RunningSurface, Surface } from './daemon.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

export interface SharedServices {
  readonly consoles: ConsoleHub;
  readonly sysfs: DirNode;
  readonly metrics: MetricsRegistry;
  close(): void;
}

const shared = new WeakMap<DaemonContext, SharedServices>();

/** The pieces every surface reads, made on first use for this daemon. */
export function sharedServices(ctx: DaemonContext): SharedServices {
  let s = shared.get(ctx);
  if (s !== undefined) return s;
  const { device } = ctx;
  const consoles = new ConsoleHub(device.hlos.rm, device.hlos.vms, { rmEvents: device.system.rm.events });
  const metrics = new MetricsRegistry(device.hyp, { version });
  metrics.attachRm(device.system.rm);
  metrics.attachHlosRpc(device.hlos.client.stats);
  metrics.sources.consoleReaders = consoles;
  s = {
    consoles,
    sysfs: buildSysfsTree(device),
    metrics,
    close() {
      consoles.close();
      metrics.close();
      shared.delete(ctx);
    },
  };
  shared.set(ctx, s);
  return s;
}

/** The REST API (TCP, and the Unix socket when configured), /metrics, consoles and the sysfs mirror. */
export const restSurface: Surface = {
  name: 'rest',
  async start(ctx): Promise<RunningSurface> {
    const s = sharedServices(ctx);
    const { host, port, socket, token } = ctx.config;
    const server = await startServer(
      { hyp: ctx.device.hyp, hlos: ctx.hlos, consoles: s.consoles, sysfs: s.sysfs, metrics: s.metrics },
      { host, port, ...(socket === null ? {} : { socket }), ...(token === null ? {} : { token }) },
    );
    return {
      url: server.url,
      async close() {
        await server.close();
        s.close();
      },
    };
  },
};

/** The sysfs tree mounted at the configured directory; without FUSE the daemon runs on and says what to install. */
export const sysfsSurface: Surface = {
  name: 'sysfs',
  async start(ctx): Promise<RunningSurface> {
    if (ctx.mountDir === null) return { close: async () => {} };
    const tree = sharedServices(ctx).sysfs;
    const r = await mountSysfs(tree, ctx.mountDir, { onFault: (fault) => ctx.log.error({ fault }, 'sysfs callback failed') });
    if (!r.ok) {
      ctx.log.warn({ reason: r.reason, remedy: r.remedy }, 'sysfs not mounted; the daemon runs without it');
      process.stderr.write(`gunyahd: sysfs not mounted: ${r.reason}${r.remedy ? ` (install with: ${r.remedy})` : ''}\n`);
      return { close: async () => {} };
    }
    if (r.mount.cleanedStale) ctx.log.warn({ dir: r.mount.dir }, 'cleaned a stale mount left by an earlier run');
    return { mountPoint: r.mount.dir, close: () => r.mount.unmount() };
  },
};

/** What gunyahd serves: the mount first, so the REST API's ready line can name it. */
export const DEFAULT_SURFACES: readonly Surface[] = [sysfsSurface, restSurface];
