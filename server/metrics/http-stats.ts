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

/** Requests answered with one set of labels: a cell the hot path increments in place. */
interface Count {
  n: number;
}

/** One method and route: its label text (made once), its counts by status and its durations, found in one lookup. */
interface RouteLabels {
  readonly base: string;
  readonly byStatus: Map<number, Count>;
  durations: Durations | null;
}

export class HttpStats {
  /** Answered requests by `method="…",route="…",status="…"`. */
  readonly requests = new Map<string, Count>();
  /** Durations by `method="…",route="…"`. */
  readonly durations = new Map<string, Durations>();
  /** Label texts by route, then method (both bounded: route patterns, HTTP methods), so a request builds no text. */
  private readonly labels = new Map<string | undefined, Map<string, RouteLabels>>();

  /** One request answered; `seconds` null for streams, which are counted when they open and never observed. */
  answered(method: string, route: string | undefined, status: number, seconds: number | null): void {
    const labels = this.labelsOf(method, route);
    const code = status >= 100 && status <= 599 ? status : 0; // every other value is the one UNKNOWN label
    let count = labels.byStatus.get(code);
    if (count === undefined) {
      count = { n: 0 };
      labels.byStatus.set(code, count);
      this.requests.set(`${labels.base},status="${code === 0 ? UNKNOWN_LABEL : code}"`, count);
    }
    count.n++;
    if (seconds === null) return;
    let d = labels.durations;
    if (d === null) {
      labels.durations = d = { counts: new Float64Array(HTTP_DURATION_BUCKETS.length + 1), sum: 0 };
      this.durations.set(labels.base, d);
    }
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
      byMethod.set(method, (labels = { base, byStatus: new Map(), durations: null }));
    }
    return labels;
  }
}
