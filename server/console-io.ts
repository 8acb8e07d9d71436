// What the console transports share (routes/console.ts: chunked text and server-sent events; routes/console-ws.ts:
// WebSocket): where a reader starts, the pump that moves a hub reader's events into a client, and console errors
// as problems.
//
// The pump pulls from the reader only while the client keeps up: a client whose socket is full is not read for,
// so its backlog stays in the VM's ring (and it is told what it lost when the ring overwrites it). Writes are
// batched (a `next()` returns everything contiguous up to BATCH_BYTES, whatever the number of notifications it came
// in), and after WRITES_PER_TURN writes the pump yields to the event loop so one fast client never starves the
// others (platform notes: HTTP streaming).
import { ConsoleError, type ConsoleEvent, type ConsoleHub, type ConsoleReader } from '../core/hlos/console-hub.js';
import { ApiError } from './problem.js';

/** Bytes of output one pump write carries at most. */
export const BATCH_BYTES = 64 * 1024;
/** Writes a pump makes before it yields to the event loop. */
export const WRITES_PER_TURN = 32;

export interface ConsoleSink {
  /** Send one batch of events (the last may be the end); false when the client is full for now. */
  write(events: readonly ConsoleEvent[]): boolean;
  /** Call `resume` once the client can take more, after `write` returned false. */
  waitDrain(resume: () => void): void;
  /** The end event was written: finish the response. */
  end(): void;
}

export interface Pump {
  /** The reader's wake-up (pass it as `onReadable` through a holder: the pump is made after the reader). */
  readonly wake: () => void;
  /** Stop pumping and close the reader (the client went away); idempotent. */
  stop(): void;
}

export function pumpConsole(reader: ConsoleReader, sink: ConsoleSink): Pump {
  let scheduled = false;
  let stopped = false;
  /** The client is full: nothing is pulled until it drains, whatever the reader says. */
  let draining = false;
  const schedule = () => {
    if (scheduled || stopped || draining) return;
    scheduled = true;
    setImmediate(run);
  };
  const stop = () => {
    stopped = true;
    reader.close();
  };
  function run(): void {
    scheduled = false;
    for (let writes = 0; !stopped; writes++) {
      if (writes === WRITES_PER_TURN) return schedule();
      const batch: ConsoleEvent[] = [];
      let bytes = 0;
      for (let e = reader.next(BATCH_BYTES); e !== null; e = bytes < BATCH_BYTES ? reader.next(BATCH_BYTES - bytes) : null) {
        batch.push(e);
        if (e.kind === 'data') bytes += e.bytes.length;
        if (e.kind === 'end') break;
      }
      if (batch.length === 0) return; // the reader waits: it calls `wake` when there is more
      const more = sink.write(batch);
      if (batch[batch.length - 1]!.kind === 'end') {
        stop();
        sink.end();
        return;
      }
      if (!more) {
        draining = true;
        return sink.waitDrain(() => {
          draining = false;
          schedule();
        });
      }
    }
  }
  schedule();
  return { wake: schedule, stop };
}

/** A hub error as the problem the API answers. */
export function consoleProblem(err: ConsoleError, field?: string): ApiError {
  switch (err.code) {
    case 'NO_CONSOLE':
      return ApiError.control('CONSOLE_NOT_FOUND', err.detail);
    case 'OFFSET_AHEAD':
      return ApiError.control('VALIDATION_FAILED', err.detail, { field: field ?? `/querystring/${err.field}` });
    case 'INPUT_BUSY':
      return ApiError.control('CONSOLE_INPUT_BUSY', err.detail, { headers: { 'retry-after': '1' } });
    case 'RM_CALL_FAILED': {
      const failure = err.failure!;
      if (failure.rmError !== null) return ApiError.rm(failure.rmError, err.detail);
      if (failure.reason === 'timeout' || failure.reason === 'closed') {
        return ApiError.control('RM_TIMEOUT', err.detail, { headers: { 'retry-after': '1' } });
      }
      return ApiError.control('INTERNAL_ERROR', err.detail);
    }
  }
}

export interface StartQuery {
  history?: number;
  offset?: number;
}

/** Where a reader starts: `?history=N` (the last N bytes) or `?offset=O` (an absolute offset), not both. */
export const startQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    history: { type: 'integer', minimum: 0, description: 'Replay the last N bytes of output (what the log still holds of them) first.' },
    offset: { type: 'integer', minimum: 0, description: 'Start at this absolute byte offset (before the log\'s start: from its start, and the bytes missed are reported).' },
  },
} as const;

/** The hub's start options from the query (and an SSE Last-Event-ID, which wins: it is a reconnection). */
export function startFrom(query: StartQuery, lastEventId?: number): { offset?: number; history?: number } {
  if (lastEventId !== undefined) return { offset: lastEventId };
  if (query.history !== undefined && query.offset !== undefined) {
    throw ApiError.control('VALIDATION_FAILED', 'give history or offset, not both', { field: '/querystring/offset' });
  }
  return query.offset !== undefined ? { offset: query.offset } : { history: query.history ?? 0 };
}

/** Subscribe to a VM's console, or throw the problem. `wake` is called through a holder set once the pump exists. */
export function subscribe(hub: ConsoleHub, vmid: number, start: { offset?: number; history?: number }, field?: string) {
  const holder = { wake: () => {} };
  const reader = hub.subscribe(vmid, { ...start, onReadable: () => holder.wake() });
  if (reader instanceof ConsoleError) throw consoleProblem(reader, field);
  return { reader, holder };
}
