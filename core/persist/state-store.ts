// `--state-dir DIR`: the HLOS's secondary VMs (their definitions and whether they run) kept in DIR/vms.json, written
// whenever they change, so a restarted daemon recreates them (daemon-state.ts). libvirt's persistent domain
// definitions, for the emulator.
//
// Changes are the HLOS's VM events (created, status, deleted). They come in bursts (a bring-up is several status
// changes), so the record is recomputed once per turn of the event loop, written only when its text differs from
// the last one, and writes never overlap: a write that a newer text overtook while it waited is skipped.
import { join } from 'node:path';
import type { Hlos } from '../hlos/hlos.js';
import { readIfExists, writeFileAtomic } from './atomic-file.js';
import { decodeState, encodeState, PersistError, type VmDefinition } from './format.js';
import { vmDefinitions } from './vm-definitions.js';

export const STATE_FILE = 'vms.json';

/** Where failures go: the daemon's pino logger fits. */
export interface PersistLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export const stateFilePath = (dir: string): string => join(dir, STATE_FILE);

/** The VMs recorded in a state directory: null when it has no record yet. */
export async function readStateDir(dir: string): Promise<VmDefinition[] | null | PersistError> {
  const path = stateFilePath(dir);
  let text: string | null;
  try {
    text = await readIfExists(path);
  } catch (err) {
    return new PersistError(path, '', `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (text === null) return null;
  const file = decodeState(text, path);
  return file instanceof PersistError ? file : [...file.vms];
}

export class VmStateRecorder {
  readonly path: string;
  /** Files written, and writes that failed (each logged). */
  writes = 0;
  failures = 0;
  /** The newest record text, and the last one on disk. */
  private latest: string | null = null;
  private onDisk: string | null;
  private chain: Promise<void> = Promise.resolve();
  private pending: NodeJS.Immediate | null = null;
  private readonly off: (() => void)[] = [];

  /** `onDisk`: the text the file holds now (null: no file), so an unchanged record is not rewritten. */
  constructor(private readonly hlos: Hlos, dir: string, private readonly log: PersistLog, onDisk: string | null = null) {
    this.path = stateFilePath(dir);
    this.onDisk = onDisk;
  }

  /** Follow the HLOS's VMs from now on; the current ones are recorded at once. */
  start(): void {
    const changed = () => this.schedule();
    this.off.push(
      this.hlos.events.on('vm-created', changed),
      this.hlos.events.on('vm-status', changed),
      this.hlos.events.on('vm-deleted', changed),
    );
    this.record();
  }

  /** Resolves once every change seen so far is on disk (or its write has failed and been logged). */
  async flush(): Promise<void> {
    if (this.pending !== null) {
      clearImmediate(this.pending);
      this.pending = null;
      this.record();
    }
    await this.chain;
  }

  /** Stop following and write what is left. */
  async close(): Promise<void> {
    for (const f of this.off.splice(0)) f();
    await this.flush();
  }

  private schedule(): void {
    this.pending ??= setImmediate(() => {
      this.pending = null;
      this.record();
    });
  }

  private record(): void {
    const text = encodeState(vmDefinitions(this.hlos));
    if (text === this.latest || (this.latest === null && text === this.onDisk)) return;
    this.latest = text;
    this.chain = this.chain.then(() => this.write(text));
  }

  private async write(text: string): Promise<void> {
    if (text !== this.latest || text === this.onDisk) return;
    try {
      await writeFileAtomic(this.path, text);
      this.onDisk = text;
      this.writes++;
    } catch (err) {
      this.failures++;
      this.log.error({ path: this.path, err: (err as Error).message }, 'the VM state could not be written; the last good record stays');
    }
  }
}
