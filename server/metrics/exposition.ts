// The exposition text of GET /metrics, written straight from counters: prom-client's serialiser builds an object
// per sample and took about 790 ms for 270,000 samples with the event loop blocked (platform notes), so the big
// families are written here, line by line, by collectors that yield between objects.
//
// Two formats: the Prometheus text format 0.0.4 and OpenMetrics 1.0.0 (what Prometheus asks for first). They differ
// in the family names of counters (OpenMetrics: `gunyah_hypercalls` with samples `gunyah_hypercalls_total`) and of
// info metrics (`gunyah_vm` of type info, sample `gunyah_vm_info`; the Prometheus format has no info type and says
// gauge), in HELP escaping, and in the `# EOF` line that ends an OpenMetrics exposition.
import { Registry } from 'prom-client';

export type ExpositionFormat = 'prometheus' | 'openmetrics';
/** The family types the writer knows: the catalogue's, and prom-client's summary for registered prom-client metrics. */
export type FamilyType = 'counter' | 'gauge' | 'histogram' | 'info' | 'summary';

export const CONTENT_TYPE: Readonly<Record<ExpositionFormat, string>> = {
  prometheus: Registry.PROMETHEUS_CONTENT_TYPE,
  openmetrics: Registry.OPENMETRICS_CONTENT_TYPE,
};

/**
 * The format an `Accept` header asks for: OpenMetrics when `application/openmetrics-text` has a higher (or equal)
 * q-value than the text format and any wildcard, else the Prometheus text format (also for no header at all).
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (accept === undefined || !accept.includes('application/openmetrics-text')) return 'prometheus';
  let openmetrics = 0;
  let text = 0;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!(q >= 0 && q <= 1)) continue;
    if (type === 'application/openmetrics-text') openmetrics = Math.max(openmetrics, q);
    else if (type === 'text/plain' || type === '*/*' || type === 'text/*') text = Math.max(text, q);
  }
  return openmetrics > 0 && openmetrics >= text ? 'openmetrics' : 'prometheus';
}

const NEEDS_ESCAPE = /[\\"\n]/;

/** A label value as the text formats quote it: backslash, double quote and newline escaped. */
export function labelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value: integers and floats as JavaScript prints them, which Prometheus parses; infinities spelled out. */
export function sampleValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  return value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
}

/** A histogram bucket bound as the `le` label value. */
export const bucketBound = (bound: number): string => sampleValue(bound);

export class ExpositionWriter {
  // The text goes straight into UTF-8 bytes: a third of the cost of growing a string, flattening it and encoding
  // it for the socket (a 1000-VM scrape is some 27,000 lines).
  private buf: Buffer;
  private pos = 0;
  private samples = 0;

  /** @param sizeHint the expected size in bytes (the previous scrape's), to allocate once */
  constructor(readonly format: ExpositionFormat, sizeHint = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(1 << 12, sizeHint));
  }

  /** Samples written so far. */
  get sampleCount(): number {
    return this.samples;
  }

  /** The HELP and TYPE lines of one family; its samples follow, before the next family. */
  family(name: string, type: FamilyType, help: string): void {
    if (this.format === 'prometheus') {
      const escaped = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
      this.write(`# HELP ${name} ${escaped}\n# TYPE ${name} ${type === 'info' ? 'gauge' : type}\n`);
      return;
    }
    const escaped = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
    const familyName =
      type === 'counter' ? name.replace(/_total$/, '') : type === 'info' ? name.replace(/_info$/, '') : name;
    this.write(`# TYPE ${familyName} ${type}\n# HELP ${familyName} ${escaped}\n`);
  }

  /** One sample: `labels` is the inside of the braces (`msgq="3",direction="sent"`), or '' for none. */
  sample(name: string, labels: string, value: number): void {
    this.write(labels === '' ? `${name} ${sampleValue(value)}\n` : `${name}{${labels}} ${sampleValue(value)}\n`);
    this.samples++;
  }

  /**
   * One histogram series: `counts[b]` observations in bucket b (not cumulative) for each bound in `le`, then the
   * +Inf bucket at `counts[offset + le.length]`; written cumulative with `_sum` and `_count`.
   */
  histogram(
    name: string, labels: string, le: readonly string[], counts: ArrayLike<number>, offset: number, sum: number,
  ): void {
    const prefix = labels === '' ? `${name}_bucket{le="` : `${name}_bucket{${labels},le="`;
    let cumulative = 0;
    for (let b = 0; b < le.length; b++) {
      cumulative += counts[offset + b]!;
      this.write(`${prefix}${le[b]}"} ${cumulative}\n`);
    }
    cumulative += counts[offset + le.length]!;
    const braced = labels === '' ? '' : `{${labels}}`;
    this.write(`${prefix}+Inf"} ${cumulative}\n${name}_sum${braced} ${sampleValue(sum)}\n${name}_count${braced} ${cumulative}\n`);
    this.samples += le.length + 3;
  }

  /** The whole exposition as UTF-8, `# EOF` included for OpenMetrics. */
  finish(): Buffer {
    if (this.format === 'openmetrics') this.write('# EOF\n');
    return this.buf.subarray(0, this.pos);
  }

  private write(text: string): void {
    // A UTF-16 unit takes at most 3 UTF-8 bytes.
    if (this.pos + text.length * 3 > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + text.length * 3));
      this.buf.copy(grown, 0, 0, this.pos);
      this.buf = grown;
    }
    this.pos += this.buf.write(text, this.pos);
  }
}
