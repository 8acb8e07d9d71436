// Reading samples out of GET /metrics (the Prometheus text format 0.0.4): enough for gunyahctl top to compute
// rates from the daemon's counters.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;
const unescape = (s: string) => s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

/** The samples of the families named in `wanted`, in order. */
export function parseSamples(text: string, wanted: ReadonlySet<string>): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (m === null || !wanted.has(m[1]!)) continue;
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    for (let l = LABEL.exec(m[2] ?? ''); l !== null; l = LABEL.exec(m[2] ?? '')) labels[l[1]!] = unescape(l[2]!);
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}
