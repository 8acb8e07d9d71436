// The one metrics registry of gunyahd. The catalogue's families (families.ts) are written by collectors straight
// from the core's counters at scrape time; prom-client's registry holds the process and Node.js metrics (and any
// metric another module registers with prom-client), and its values are written by the same writer, so both
// formats come out of one code path. Rendering hands the event loop back every `sliceMs`: a 1000-VM scrape never
// stalls the requests served beside it.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Hypervisor } from '../../core/hyp/hypervisor.js';
import type { ResourceManager } from '../../core/rm/resource-manager.js';
import { consoleCollector } from './collectors/console.js';
import { daemonCollector } from './collectors/daemon.js';
import { doorbellCollector } from './collectors/doorbell.js';
import { hypervisorCollector } from './collectors/hypervisor.js';
import { msgqCollector } from './collectors/msgq.js';
import { rmCollector } from './collectors/rm.js';
import { Scrape } from './collectors/scrape.js';
import { vmCollector } from './collectors/vm.js';
import { ExpositionWriter, labelValue, type ExpositionFormat, type FamilyType } from './exposition.js';
import { DEFAULT_METRICS_REMOVED } from './families.js';
import { HttpStats } from './http-stats.js';
import { rmSource, type RmSource } from './rm-source.js';
import type { RmClientTelemetry, TelemetrySources } from './sources.js';

/** Writes some families; yields between objects so that rendering can pause there. */
export type Collector = (w: ExpositionWriter, s: Scrape) => Iterable<unknown>;

export interface MetricsOptions {
  /** The running build, for gunyah_build_info (package.json's version). */
  version: string;
  /** prom-client's process and Node.js metrics (default true; tests that build many registries turn them off). */
  processMetrics?: boolean;
  /** Longest stretch of rendering between two turns of the event loop, in milliseconds (default 8). */
  sliceMs?: number;
}

export class MetricsRegistry {
  /** prom-client's registry: the default process metrics and any prom-client metric registered by others. */
  readonly registry = new Registry();
  /** Filled by the HTTP hooks of the metrics plugin. */
  readonly http = new HttpStats();
  /** The counters read at scrape time; the daemon sets the optional views as it brings the layers up. */
  readonly sources: TelemetrySources;
  private readonly collectors: readonly Collector[];
  private readonly sliceMs: number;
  private rm: RmSource | null = null;
  /** The last exposition's size, to allocate the next one at once. */
  private lastSize = 0;

  constructor(hyp: Hypervisor, opts: MetricsOptions) {
    this.sources = { hyp };
    this.sliceMs = opts.sliceMs ?? 8;
    this.collectors = [
      hypervisorCollector, msgqCollector, doorbellCollector, rmCollector, consoleCollector, vmCollector,
      daemonCollector(this.http, opts.version),
    ];
    if (opts.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named _total fail `promtool check metrics` (families.ts).
      for (const name of DEFAULT_METRICS_REMOVED) this.registry.removeSingleMetric(name);
    }
  }

  /** Read the RM's counters, VM records and console traffic from now on. */
  attachRm(rm: ResourceManager): void {
    this.rm?.close();
    this.rm = rmSource(rm);
    this.sources.rm = this.rm;
    this.sources.consoleTraffic = this.rm;
  }

  /** Read the HLOS RM driver's round trips and timeouts (its RmClient's `stats`). */
  attachHlosRpc(stats: RmClientTelemetry): void {
    this.sources.hlosRpc = stats;
  }

  /** Stop following the RM's events (the daemon's shutdown). */
  close(): void {
    this.rm?.close();
    this.rm = null;
  }

  /** The whole exposition in one format (Prometheus text 0.0.4 or OpenMetrics 1.0.0), as UTF-8. */
  async render(format: ExpositionFormat = 'prometheus'): Promise<Buffer> {
    const w = new ExpositionWriter(format, this.lastSize + (this.lastSize >> 2));
    const scrape = new Scrape(this.sources);
    let sliceEnd = performance.now() + this.sliceMs;
    for (const collect of this.collectors) {
      for (const _ of collect(w, scrape)) {
        if (performance.now() < sliceEnd) continue;
        await nextTurn();
        sliceEnd = performance.now() + this.sliceMs;
      }
    }
    writePromClient(w, await this.registry.getMetricsAsJSON());
    const text = w.finish();
    this.lastSize = text.length;
    return text;
  }
}

type PromClientJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/** prom-client's metrics through the writer (its own serialiser renames counters for good after an OpenMetrics run). */
function writePromClient(w: ExpositionWriter, metrics: PromClientJson): void {
  for (const metric of metrics) {
    w.family(metric.name, String(metric.type) as FamilyType, metric.help);
    for (const v of metric.values) {
      const labels = Object.entries(v.labels)
        .map(([k, value]) => `${k}="${labelValue(String(value))}"`)
        .join(',');
      w.sample((v as { metricName?: string }).metricName ?? metric.name, labels, v.value);
    }
  }
}
