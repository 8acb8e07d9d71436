// A strict reader of the exposition text for tests: families with their HELP and TYPE, samples with unescaped
// labels, and the structural rules of both formats checked on the way (no sample outside its family, no family
// twice, no series twice, `# EOF` last in OpenMetrics and nowhere in the text format).
import assert from 'node:assert/strict';

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  type: string;
  help: string;
  readonly samples: Sample[];
}

export interface Exposition {
  readonly families: ReadonlyMap<string, Family>;
  readonly samples: readonly Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const SUFFIXES = ['_total', '_info', '_bucket', '_sum', '_count', ''];

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('="', i);
    assert.ok(eq > i, `label name at ${i} in {${text}}`);
    const name = text.slice(i, eq);
    let value = '';
    let j = eq + 2;
    for (; text[j] !== '"'; j++) {
      assert.ok(j < text.length, `unterminated label value in {${text}}`);
      if (text[j] === '\\') {
        const next = text[++j];
        value += next === 'n' ? '\n' : next;
      } else {
        value += text[j];
      }
    }
    assert.equal(labels[name], undefined, `label ${name} twice`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
  }
  return labels;
}

const parseValue = (s: string): number => (s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s));

export function parseExposition(input: string | Uint8Array, format: 'prometheus' | 'openmetrics'): Exposition {
  const text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  const families = new Map<string, Family>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  let current: Family | null = null;
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'the text ends with a newline');
  if (format === 'openmetrics') assert.equal(lines.pop(), '# EOF', 'OpenMetrics ends with # EOF');
  for (const line of lines) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      let family = families.get(name);
      if (family === undefined || family !== current) {
        assert.equal(family, undefined, `family ${name} appears twice`);
        families.set(name, (family = { name, type: 'untyped', help: '', samples: [] }));
        current = family;
      }
      if (kind === 'HELP') family.help = rest.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      else family.type = rest;
      continue;
    }
    assert.ok(!line.startsWith('#'), `unexpected comment ${line}`);
    const m = SAMPLE.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const sample: Sample = { name: m[1]!, labels: parseLabels(m[2] ?? ''), value: parseValue(m[3]!) };
    assert.ok(!Number.isNaN(sample.value) || m[3] === 'NaN', `value of ${line}`);
    assert.ok(current !== null && SUFFIXES.some((s) => current!.name + s === sample.name), `${sample.name} outside its family`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    assert.ok(!seen.has(key), `series repeated: ${line}`);
    seen.add(key);
    current.samples.push(sample);
    samples.push(sample);
  }
  return { families, samples };
}

/** The value of the one sample with this name and exactly these labels (undefined when absent). */
export function valueOf(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return e.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}

/** Every sample of one metric name. */
export const samplesOf = (e: Exposition, name: string): Sample[] => e.samples.filter((s) => s.name === name);
