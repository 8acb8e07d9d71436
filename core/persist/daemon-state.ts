// Where the daemon's VMs come from at start, and how they are kept (bin/daemon.ts calls this in place of creating
// the configured VMs):
//   1. `--restore FILE`: the snapshot's VMs, queues, doorbells and consoles (restore.ts);
//   2. else, with `--state-dir DIR` holding a record (vms.json): the recorded VMs, in their lifecycle state;
//   3. else the configuration's VMs.
// The configuration's VMs are created only when there is nothing to restore: once a state directory holds a record,
// it is the truth (a configured VM deleted through the API stays deleted). With a state directory, the VMs are then
// recorded on every change (state-store.ts).
// A file that cannot be read or restored fails the start with its name and the field at fault, and is left as it is.
import { readFile } from 'node:fs/promises';
import { ensureDir, readIfExists } from './atomic-file.js';
import { decodeSnapshot, PersistError } from './format.js';
import { restoreSnapshot, type RestoreReport, type RestoreTarget } from './restore.js';
import { readStateDir, stateFilePath, VmStateRecorder, type PersistLog } from './state-store.js';
import { recreateVms } from './vm-definitions.js';

export interface DaemonStateOptions {
  readonly stateDir: string | null;
  readonly restoreFile: string | null;
  /** Create the configuration's VMs (what a daemon with nothing to restore starts with). */
  createConfigured(): Promise<void>;
  readonly log: PersistLog;
}

export type VmSource = 'snapshot' | 'state-dir' | 'config';

export interface DaemonState {
  readonly source: VmSource;
  /** The snapshot restore's report, when `source` is `snapshot`. */
  readonly restore: RestoreReport | null;
  readonly recorder: VmStateRecorder | null;
  /** Write the last changes and stop recording. */
  close(): Promise<void>;
}

/** Read and check a snapshot file. */
export async function readSnapshotFile(path: string) {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return new PersistError(path, '', `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return decodeSnapshot(text, path);
}

export async function openDaemonState(target: RestoreTarget, opts: DaemonStateOptions): Promise<DaemonState | PersistError> {
  const { stateDir, restoreFile, log } = opts;
  if (stateDir !== null) {
    try {
      await ensureDir(stateDir);
    } catch (err) {
      return new PersistError(stateDir, '', `the state directory cannot be created (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }
  let source: VmSource = 'config';
  let restore: RestoreReport | null = null;
  if (restoreFile !== null) {
    const snap = await readSnapshotFile(restoreFile);
    if (snap instanceof PersistError) return snap;
    const report = await restoreSnapshot(target, snap.state, restoreFile);
    if (report instanceof PersistError) return report;
    for (const warning of report.warnings) log.warn({ file: restoreFile }, warning);
    log.info({ file: restoreFile, created: snap.created, ...report.restored }, 'snapshot restored');
    source = 'snapshot';
    restore = report;
  } else if (stateDir !== null) {
    const defs = await readStateDir(stateDir);
    if (defs instanceof PersistError) return defs;
    if (defs !== null) {
      const r = await recreateVms(target, defs, stateFilePath(stateDir));
      if (r instanceof PersistError) return r;
      for (const warning of r.warnings) log.warn({ file: stateFilePath(stateDir) }, warning);
      log.info({ file: stateFilePath(stateDir), vms: r.vms.length }, 'VMs recreated from the state directory');
      source = 'state-dir';
    }
  }
  if (source === 'config') await opts.createConfigured();
  let recorder: VmStateRecorder | null = null;
  if (stateDir !== null) {
    const onDisk = await readIfExists(stateFilePath(stateDir)).catch(() => null);
    recorder = new VmStateRecorder(target.hlos, stateDir, log, onDisk);
    recorder.start();
  }
  return { source, restore, recorder, close: async () => recorder?.close() };
}
