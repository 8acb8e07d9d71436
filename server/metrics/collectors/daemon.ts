// The daemon itself: events published, HTTP requests answered, and the build.
import { bucketBound, labelValue, type ExpositionWriter } from '../exposition.js';
import { FAMILY, HTTP_DURATION_BUCKETS } from '../families.js';
import type { HttpStats } from '../http-stats.js';
import { header, type Scrape } from './scrape.js';

const EVENTS = FAMILY.gunyah_events_total;
const REQUESTS = FAMILY.gunyah_http_requests_total;
const DURATION = FAMILY.gunyah_http_request_duration_seconds;
const BUILD = FAMILY.gunyah_build_info;
const LE = HTTP_DURATION_BUCKETS.map(bucketBound);

export function daemonCollector(http: HttpStats, version: string) {
  const buildLabels = `version="${labelValue(version)}"`;
  return function* collect(w: ExpositionWriter, s: Scrape): Generator<void> {
    header(w, EVENTS);
    const events = s.sources.events;
    if (events !== undefined) {
      for (const type of events.types) w.sample(EVENTS.name, `type="${labelValue(type)}"`, events.published.get(type) ?? 0);
    }
    yield;
    header(w, REQUESTS);
    for (const [labels, count] of http.requests) w.sample(REQUESTS.name, labels, count.n);
    yield;
    header(w, DURATION);
    for (const [labels, d] of http.durations) w.histogram(DURATION.name, labels, LE, d.counts, 0, d.sum);
    yield;
    header(w, BUILD);
    w.sample(BUILD.name, buildLabels, 1);
  };
}
