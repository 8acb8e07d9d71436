// The daemon's surfaces (bin/daemon.ts plug-in points): the REST control plane with /metrics, consoles and the
// sysfs mirror, and the sysfs tree mounted with FUSE. Both read one set of device services (server/device-services.ts).
import { mountSysfs, unmountOnFatal } from '../fs/mount-lifecycle.js';
import { deviceServices, type DeviceServices } from '../server/device-services.js';
import { startServer } from '../server/start.js';
import type { DaemonContext, RunningSurface, Surface } from './daemon.js';

const made = new WeakMap<DaemonContext, DeviceServices>();

/** The device services of this daemon, made on first use; closed with the REST surface. */
function servicesOf(ctx: DaemonContext): DeviceServices {
  let s = made.get(ctx);
  if (s === undefined) made.set(ctx, (s = deviceServices(ctx.device)));
  return s;
}

/** The REST API (TCP, and the Unix socket when configured), /metrics, consoles and the sysfs mirror. */
export const restSurface: Surface = {
  name: 'rest',
  async start(ctx): Promise<RunningSurface> {
    const services = servicesOf(ctx);
    const { host, port, socket, token } = ctx.config;
    const server = await startServer(services, {
      host, port, ...(socket === null ? {} : { socket }), ...(token === null ? {} : { token }),
      stateDir: ctx.config.stateDir,
    });
    return {
      url: server.url,
      // The console hub, so a --restore brings the console logs back too.
      consoles: services.consoles,
      async close() {
        await server.close();
        services.close();
      },
    };
  },
};

/** The sysfs tree mounted at the configured directory; without FUSE the daemon runs on and says what to install. */
export const sysfsSurface: Surface = {
  name: 'sysfs',
  async start(ctx): Promise<RunningSurface> {
    if (ctx.mountDir === null) return { close: async () => {} };
    const r = await mountSysfs(servicesOf(ctx).sysfs, ctx.mountDir, {
      onFault: (fault) => ctx.log.error({ fault }, 'sysfs callback failed'),
    });
    if (!r.ok) {
      ctx.log.warn({ reason: r.reason, remedy: r.remedy }, 'sysfs not mounted; the daemon runs without it');
      process.stderr.write(`gunyahd: sysfs not mounted: ${r.reason}${r.remedy ? ` (install with: ${r.remedy})` : ''}\n`);
      return { close: async () => {} };
    }
    if (r.mount.cleanedStale) ctx.log.warn({ dir: r.mount.dir }, 'cleaned a stale mount left by an earlier run');
    // gunyahd owns its signals (bin/gunyahd.ts); a crash or a forced exit must still not leave the mount behind.
    const offFatal = unmountOnFatal(r.mount);
    return {
      mountPoint: r.mount.dir,
      async close() {
        await r.mount.unmount();
        offFatal();
      },
    };
  },
};

/** What gunyahd serves: the mount first, so the ready line can name both. */
export const DEFAULT_SURFACES: readonly Surface[] = [sysfsSurface, restSurface];
