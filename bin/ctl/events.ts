// gunyahctl events: follow GET /v1/events (server-sent events), one line per event. When the stream breaks, it
// reconnects with Last-Event-ID so the daemon replays what was missed from its history (product brief, "REST API").
import type { Command } from 'commander';
import { action, intArg, interruption, pause, type Ctl } from './context.js';
import { ApiProblem, ConnectError } from './errors.js';
import { readSse, type SseEvent } from './sse.js';

/** The wait before reconnecting; doubles on each failed attempt up to the maximum. */
const RECONNECT_MS = { FIRST: 500, MAX: 5000 } as const;

interface EventsOptions {
  types?: string;
  count?: number;
  since?: number;
  reconnect: boolean;
}

const scalar = (value: unknown): string => (typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value));

/** `time  id  type  key=value ...`, or the data as the API sent it (JSON, one object per line). */
function eventLine(e: SseEvent, json: boolean): string {
  if (json) return e.data;
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(e.data) as Record<string, unknown>;
  } catch {
    return `${e.event} ${e.data}`;
  }
  const { id, type, time, ...rest } = data;
  const members = Object.entries(rest).map(([key, value]) => `${key}=${scalar(value)}`);
  return [time ?? '-', id ?? '-', type ?? e.event, ...members].join(' ');
}

interface FollowState {
  /** The id of the last event printed: Last-Event-ID on reconnection. */
  lastId: string | null;
  printed: number;
  /** A stream has been open once: the daemon exists, so later failures are worth retrying. */
  connected: boolean;
}

/** One connection: prints events until the stream ends or --count is reached. */
async function follow(ctl: Ctl, opts: EventsOptions, state: FollowState, signal: AbortSignal): Promise<void> {
  const headers: Record<string, string> = { accept: 'text/event-stream, application/problem+json' };
  if (state.lastId !== null) headers['last-event-id'] = state.lastId;
  const response = await ctl.client.request('GET', '/v1/events', { query: { types: opts.types }, headers, signal });
  state.connected = true;
  process.stderr.write(`gunyahctl: following events from ${ctl.client.target}${state.lastId === null ? '' : ` after event ${state.lastId}`}\n`);
  for await (const e of readSse(response.chunks())) {
    if (e.id !== undefined) state.lastId = e.id;
    ctl.write(eventLine(e, ctl.json));
    if (e.id !== undefined && ++state.printed === opts.count) return;
  }
}

export function registerEvents(program: Command): void {
  program.command('events')
    .description('follow the event stream (VM state changes, RM notifications, queue full and drain, ...): one line per event')
    .option('--types <types>', 'comma-separated event types to follow (default: all), e.g. vm-status,vm-exited')
    .option('--count <n>', 'exit after this many events', intArg(1))
    .option('--since <id>', 'start after this event id (the daemon replays later ones from its history)', intArg(0))
    .option('--no-reconnect', 'exit when the stream ends instead of reconnecting')
    .addHelpText('after', '\nLines: TIME ID TYPE key=value...; with --json, each event\'s JSON data. Ctrl-C stops (exit 0).')
    .action(action(async (ctl, opts: EventsOptions) => {
      const signal = interruption();
      const state: FollowState = { lastId: opts.since === undefined ? null : String(opts.since), printed: 0, connected: false };
      let delay: number = RECONNECT_MS.FIRST;
      while (!signal.aborted) {
        try {
          await follow(ctl, opts, state, signal);
          if (state.printed === opts.count || !opts.reconnect) return;
          process.stderr.write('gunyahctl: the event stream ended; reconnecting\n');
          delay = RECONNECT_MS.FIRST;
        } catch (err) {
          if (signal.aborted) return;
          // The daemon refused the request, or was never there: nothing to retry.
          if (err instanceof ApiProblem || !state.connected || !opts.reconnect) throw err;
          const why = err instanceof ConnectError ? err.message : 'the event stream broke';
          process.stderr.write(`gunyahctl: ${why}; retrying in ${delay / 1000} s\n`);
          await pause(delay, signal);
          delay = Math.min(delay * 2, RECONNECT_MS.MAX);
        }
      }
    }));
}
