// HTTP request counts and durations, kept by the metrics plugin's hooks and written at scrape time. Labels are
// bounded by construction: the route is the pattern Fastify matched (UNKNOWN when none did), the method one of
// HTTP's, the status a three-digit code.
import { labelValue } from './exposition.js';
import { HTTP_DURATION_BUCKETS } from './families.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT']);
export const UNKNOWN_LABEL = 'UNKNOWN';

interface Durations {
  /** Observations per bucket, not cumulative; +Inf last. */
  readonly counts: Float64Array;
  sum: number;
}

/** The label text of one method and route, made once: its durations and its request keys by status. */
interface RouteLabels {
  readonly base: string;
  readonly keys: Map<number, string>;
}

export class HttpStats {
  /** Answered requests by `method="…",route="…",status="…"`. */
  readonly requests = new Map<string, number>();
  /** Durations by `method="…",route="…"`. */
  readonly durations = new Map<string, Durations>();
  /** Label texts by route, then method (both bounded: route patterns, HTTP methods), so a request builds no text. */
  private readonly labels = new Map<string | undefined, Map<string, RouteLabels>>();

  /** One request answered; `seconds` null for streams, which are counted when they open and never observed. */
  answered(method: string, route: string | undefined, status: number, seconds: number | null): void {
    const labels = this.labelsOf(method, route);
    let key = labels.keys.get(status);
    if (key === undefined) labels.keys.set(status, (key = `${labels.base},status="${status >= 100 && status <= 599 ? status : UNKNOWN_LABEL}"`));
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    if (seconds === null) return;
    const base = labels.base;
    let d = this.durations.get(base);
    if (d === undefined) this.durations.set(base, (d = { counts: new Float64Array(HTTP_DURATION_BUCKETS.length + 1), sum: 0 }));
    let b = 0;
    while (b < HTTP_DURATION_BUCKETS.length && seconds > HTTP_DURATION_BUCKETS[b]!) b++;
    d.counts[b]!++;
    d.sum += seconds;
  }

  private labelsOf(method: string, route: string | undefined): RouteLabels {
    let byMethod = this.labels.get(route);
    if (byMethod === undefined) this.labels.set(route, (byMethod = new Map()));
    let labels = byMethod.get(method);
    if (labels === undefined) {
      const base = `method="${METHODS.has(method) ? method : UNKNOWN_LABEL}",route="${route === undefined ? UNKNOWN_LABEL : labelValue(route)}"`;
      byMethod.set(method, (labels = { base, keys: new Map() }));
    }
    return labels;
  }
}
