// The control plane as a Fastify application, built from the services it serves. Everything it is made of is
// registered here, in order: validation and problems first (they shape every route), then access control, the
// VM-state guard, the documentation, and one route file per resource.
import Fastify, { type FastifyInstance } from 'fastify';
import type { LoggerOptions } from 'pino';
import { EventHub } from './events.js';
import { EVENT_SOURCES } from './event-sources.js';
import access, { type AccessOptions } from './plugins/access.js';
import docs from './plugins/docs.js';
import problems, { frameworkProblem } from './plugins/problems.js';
import vmState from './plugins/vm-state.js';
import capabilityRoutes from './routes/capabilities.js';
import consoleRoutes from './routes/console.js';
import doorbellRoutes from './routes/doorbells.js';
import eventRoutes from './routes/events.js';
import hypercallRoutes from './routes/hypercall.js';
import hypervisorRoutes from './routes/hypervisor.js';
import memoryRoutes from './routes/memory.js';
import msgqRoutes from './routes/msgqs.js';
import snapshotRoutes from './routes/snapshot.js';
import sysfsRoutes from './routes/sysfs.js';
import vmRoutes from './routes/vms.js';
import { metricsPlugin } from './metrics/plugin.js';
import { tracingPlugin } from './tracing/http-spans.js';
import { SHARED_SCHEMAS } from './schemas/index.js';
import type { Services } from './services.js';
import { schemaController } from './validation.js';
import { VmAgent } from './vm-agent.js';

/** The largest JSON body any route takes (the memory route takes raw bytes up to its own limit). */
export const JSON_BODY_LIMIT = 64 * 1024;

export interface AppOptions extends AccessOptions {
  /** Fastify's logger: false (default) or pino options and a destination. The Authorization header is always redacted. */
  logger?: boolean | (LoggerOptions & { stream?: { write(line: string): void } });
  /** Events kept for Last-Event-ID resumption. */
  eventHistory?: number;
  /** Milliseconds between keep-alive comments on idle event streams. */
  eventHeartbeatMs?: number;
  /** The daemon's --state-dir, where POST /v1/snapshot writes (without one it answers 409 NO_STATE_DIR). */
  stateDir?: string | null;
}

const REDACT = ['req.headers.authorization', 'headers.authorization'];

function loggerOptions(logger: AppOptions['logger']): AppOptions['logger'] {
  if (logger === undefined || logger === false) return false;
  const base = logger === true ? {} : logger;
  const redact = Array.isArray(base.redact) ? base.redact : (base.redact?.paths ?? []);
  return { ...base, redact: [...REDACT, ...redact] };
}

export async function buildApp(services: Services, opts: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(opts.logger),
    bodyLimit: JSON_BODY_LIMIT,
    schemaController,
    frameworkErrors: frameworkProblem,
  });

  const events = new EventHub(EVENT_SOURCES, opts.eventHistory);
  app.decorate('services', services);
  app.decorate('hyp', services.hyp);
  app.decorate('agent', new VmAgent(services.hyp));
  app.decorate('events', events);
  events.attach(services);
  if (services.metrics) Object.assign(services.metrics.sources, { events, consoleReaders: services.consoles });
  // Streams and waiting receives end when the server closes, so close() never waits on a client.
  const closing = new AbortController();
  app.decorate('closing', closing.signal);
  app.addHook('preClose', async () => closing.abort());
  app.addHook('onClose', async () => events.detach());

  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);

  await app.register(tracingPlugin);
  if (services.metrics) await app.register(metricsPlugin, { metrics: services.metrics });
  await app.register(problems);
  await app.register(access, { token: opts.token, rateLimit: opts.rateLimit });
  await app.register(vmState);
  await app.register(docs);

  await app.register(hypervisorRoutes);
  await app.register(vmRoutes);
  await app.register(capabilityRoutes);
  await app.register(msgqRoutes);
  await app.register(doorbellRoutes);
  await app.register(hypercallRoutes);
  await app.register(memoryRoutes);
  await app.register(eventRoutes, { heartbeatMs: opts.eventHeartbeatMs });
  await app.register(consoleRoutes, { token: opts.token });
  if (services.sysfs) await app.register(sysfsRoutes, { root: services.sysfs });
  await app.register(snapshotRoutes, { stateDir: opts.stateDir ?? null });

  return app;
}
