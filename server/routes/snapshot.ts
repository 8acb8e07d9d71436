// POST /v1/snapshot: write what a user can observe of the device (VMs, queued messages, doorbell flags and masks,
// console logs, their counters: core/persist/capture.ts) to a file in the daemon's state directory, for
// `gunyahd --restore FILE`. The state is taken in one synchronous pass; the file is written atomically.
import { isAbsolute, relative, resolve, dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ensureDir, writeFileAtomic } from '../../core/persist/atomic-file.js';
import { captureSnapshot, summarize } from '../../core/persist/capture.js';
import { encodeSnapshot } from '../../core/persist/format.js';
import { STATE_FILE } from '../../core/persist/state-store.js';
import { ApiError } from '../problem.js';
import { operation } from '../schemas/operation.js';

export interface SnapshotRouteOptions {
  /** The daemon's --state-dir; without one, snapshots are refused (409 NO_STATE_DIR). */
  stateDir: string | null;
}

interface SnapshotBody {
  path?: string;
}

const body = {
  type: 'object',
  additionalProperties: false,
  properties: {
    path: {
      type: 'string', minLength: 1, maxLength: 255,
      description: 'File name, relative to the state directory (subdirectories are created). Default: '
        + '`snapshot-<UTC time>.json`.',
    },
  },
} as const;

const count = (description: string) => ({ type: 'integer', description }) as const;

const Snapshot = {
  type: 'object',
  required: ['path', 'created', 'summary'],
  properties: {
    path: { type: 'string', description: 'The file written (absolute): pass it to `gunyahd --restore`.' },
    created: { type: 'string', format: 'date-time' },
    summary: {
      type: 'object',
      required: ['vms', 'running', 'msgqs', 'messages', 'doorbells', 'doorbells_flagged', 'consoles', 'console_bytes'],
      properties: {
        vms: count('Secondary VMs.'),
        running: count('Of them, running (they are started again at restore).'),
        msgqs: count('Message queues (the vdevices between each VM and its owner).'),
        messages: count('Messages queued in them.'),
        doorbells: count('Doorbells.'),
        doorbells_flagged: count('Of them, with flags set.'),
        consoles: count('Console logs.'),
        console_bytes: count('Bytes held in them.'),
      },
    },
  },
} as const;

const badPath = (detail: string) => ApiError.control('VALIDATION_FAILED', detail, { field: '/body/path' });

/** The file inside the state directory a requested name means; refuses names that leave it or hit the VM record. */
function snapshotPath(stateDir: string, requested: string | undefined, created: Date): string {
  const name = requested ?? `snapshot-${created.toISOString().replace(/[:.]/g, '-')}.json`;
  if (isAbsolute(name) || name.includes('\0')) throw badPath('path must be a file name relative to the state directory');
  const full = resolve(stateDir, name);
  const rel = relative(resolve(stateDir), full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw badPath('path must stay inside the state directory');
  if (rel === STATE_FILE) throw badPath(`${STATE_FILE} is the daemon's VM record; choose another name`);
  return full;
}

export default async function snapshotRoutes(app: FastifyInstance, opts: SnapshotRouteOptions) {
  const hlos = app.services.hlos;
  if (hlos === undefined) return; // a bare hypervisor has no VMs to save

  app.post<{ Body: SnapshotBody | undefined }>('/v1/snapshot', {
    schema: operation({
      operationId: 'createSnapshot',
      tag: 'vms',
      summary: 'Save a snapshot of the device',
      description: 'Writes the secondary VMs (definitions and whether they run), the messages queued in their '
        + 'queues, their doorbells\' flags and masks, their console logs and the counters of each to a file in the '
        + 'state directory, taken at one instant. `gunyahd --restore FILE` brings them back: VMs are recreated '
        + 'and their images restart from their entry; guest program state and RM calls in flight are not saved. '
        + 'Without --state-dir: 409 NO_STATE_DIR.',
      change: true,
      body,
      response: { 201: { description: 'The snapshot was written.', ...Snapshot } },
      problems: [409, 500],
    }),
  }, async (request, reply) => {
    if (opts.stateDir === null) {
      throw new ApiError(409, 'NO_STATE_DIR', 'The daemon has no state directory', 'snapshots are written to the state directory: start gunyahd with --state-dir DIR');
    }
    const created = new Date();
    const path = snapshotPath(opts.stateDir, request.body?.path, created);
    const state = captureSnapshot({ hyp: app.hyp, hlos, consoles: app.services.consoles ?? null });
    try {
      await ensureDir(dirname(path));
      await writeFileAtomic(path, encodeSnapshot(state, created));
    } catch (err) {
      throw new ApiError(500, 'SNAPSHOT_WRITE_FAILED', 'The snapshot could not be written',
        `${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    reply.code(201);
    return { path, created: created.toISOString(), summary: summarize(state) };
  });
}
