// The event hub behind GET /v1/events: it subscribes once to every event source (event-sources.ts), gives each
// event the next id, keeps the last `historySize` events so a client can resume after Last-Event-ID, and fans
// events out to the connected streams. It holds the core's listeners from attach() to detach(); streams only hold
// the hub's.
import type { Services } from './services.js';

export interface HubEvent {
  readonly id: number;
  readonly type: string;
  /** ISO 8601 time of publication. */
  readonly time: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export type Publish = (type: string, data: Record<string, unknown>) => void;

/** One source of events: the types it may publish, and how it subscribes (null when its service is absent). */
export interface EventSourceSpec {
  readonly types: readonly string[];
  subscribe(services: Services, publish: Publish): (() => void) | null;
}

type Subscriber = (event: HubEvent) => void;

export class EventHub {
  private nextId = 1;
  private readonly history: HubEvent[] = [];
  private readonly subscribers = new Set<Subscriber>();
  private readonly detachers: (() => void)[] = [];
  /** Events published per type (the gunyah_events_total counter reads it). */
  readonly published = new Map<string, number>();
  readonly types: readonly string[];

  constructor(private readonly sources: readonly EventSourceSpec[], readonly historySize = 1024) {
    this.types = [...new Set(sources.flatMap((s) => s.types))];
  }

  /** Subscribe to every source whose service exists. */
  attach(services: Services): void {
    const publish: Publish = (type, data) => this.publish(type, data);
    for (const source of this.sources) {
      const off = source.subscribe(services, publish);
      if (off !== null) this.detachers.push(off);
    }
  }

  detach(): void {
    for (const off of this.detachers.splice(0)) off();
  }

  publish(type: string, data: Record<string, unknown>): HubEvent {
    const event: HubEvent = { id: this.nextId++, type, time: new Date().toISOString(), data };
    this.history.push(event);
    if (this.history.length > this.historySize) this.history.shift();
    this.published.set(type, (this.published.get(type) ?? 0) + 1);
    for (const fn of this.subscribers) fn(event);
    return event;
  }

  /** The id the next event will get. */
  get next(): number {
    return this.nextId;
  }

  /** How many events after `lastId` fell out of the history: a resuming client cannot get them back. */
  lostAfter(lastId: number): number {
    const oldest = this.history[0]?.id ?? this.nextId;
    return Math.max(0, oldest - lastId - 1);
  }

  /**
   * Replay the events after `lastId` still in the history, then deliver new ones, in one synchronous step so none
   * is missed or repeated. Returns the unsubscribe function.
   */
  subscribe(fn: Subscriber, lastId: number | null = null): () => void {
    if (lastId !== null) for (const event of this.history) if (event.id > lastId) fn(event);
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }
}
