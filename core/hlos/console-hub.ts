// The consoles of the VMs the HLOS manages, as the daemon serves them (spec §10): what each VM writes arrives as
// VM_CONSOLE_CHARS notifications and is appended to that VM's ConsoleRing; readers follow a ring from an absolute
// offset; input goes to the VM as VM_CONSOLE_WRITE. The VM manager opens the HLOS's (owner) end of each console at
// bring-up, before VM_START, so the boot banner is not dropped (spec §10.1: a write whose other end is closed is
// silently dropped); the hub subscribes to VM_CONSOLE_CHARS once, for every VM, from its construction.
//
//   subscribe(vmid, {offset|history, onReadable}) -> ConsoleReader    reader.next(max) pulls data, loss, end
//   write(vmid, bytes) -> bytes written | ConsoleError                 serialised per VM, bounded
//   log(vmid) / clear(vmid)                                           the ring's bytes and offsets
//
// Readers pull: the ring holds every reader's backlog, so a reader that stops reading costs nothing and never
// slows the guest or another reader. When the ring overwrites bytes a reader has not read yet, the reader skips
// to the ring's start and its next event says how many bytes it lost (counted per VM in `droppedBytes`).
// A console ends when its VM stops running, is deleted, or closes its end; every reader then gets the bytes
// written before that and a final `end` event.
import { VM_STATUS, type VmStatus } from '../abi/rm.js';
import type { RmEvents } from '../rm/resource-manager.js';
import type { TypedEmitter } from '../hyp/events.js';
import { ConsoleRing } from './console-ring.js';
import type { RmCalls } from './rm-calls.js';
import { RmFailure } from './rm-failure.js';
import { statusName, type VmManager, type VmRecord } from './vm-manager.js';

/** Bytes of output each VM's ring keeps. */
export const DEFAULT_RING_BYTES = 256 * 1024;
/** Bytes one `next()` returns at most unless asked otherwise. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024;
/** Input bytes that may wait for the RM per VM; more is refused (INPUT_BUSY), never dropped. */
export const MAX_PENDING_INPUT = 1 << 20;

/** Statuses in which a VM's console is live (spec §9.5): from allocation until it stops. */
const LIVE_STATUSES: readonly VmStatus[] = [VM_STATUS.LOAD, VM_STATUS.INIT, VM_STATUS.READY, VM_STATUS.RUNNING, VM_STATUS.PAUSED];

export type ConsoleEndReason =
  /** The VM left the running states (exited, reset, init failed); `status` names the state. */
  | 'vm-stopped'
  | 'vm-deleted'
  /** An end of the console was closed (spec §10.1 VM_CONSOLE_CLOSE). */
  | 'console-closed'
  /** The hub was closed (the daemon is shutting down). */
  | 'shutdown';

export type LossReason =
  /** The reader fell behind and the ring overwrote what it had not read. */
  | 'overwritten'
  /** The log was cleared while the reader was behind. */
  | 'cleared'
  /** The reader asked to start before the oldest byte the ring still holds. */
  | 'not-buffered';

export type ConsoleEvent =
  /** Output bytes starting at absolute offset `offset`. */
  | { readonly kind: 'data'; readonly offset: number; readonly bytes: Buffer }
  /** `lost` bytes were skipped; reading goes on at `offset`. */
  | { readonly kind: 'lost'; readonly offset: number; readonly lost: number; readonly reason: LossReason }
  /** The last event of a reader: the console ended at `offset`. */
  | { readonly kind: 'end'; readonly offset: number; readonly reason: ConsoleEndReason; readonly status: string };

export type ConsoleErrorCode =
  /** The hub has no console for this VMID (not a VM the HLOS manages). */
  | 'NO_CONSOLE'
  /** A read starts past the end of the output (`field` names the parameter). */
  | 'OFFSET_AHEAD'
  /** Too much input is waiting for the RM already. */
  | 'INPUT_BUSY'
  /** VM_CONSOLE_WRITE failed: `failure` says why. */
  | 'RM_CALL_FAILED';

export class ConsoleError {
  constructor(
    readonly code: ConsoleErrorCode,
    readonly detail: string,
    readonly field: string | null = null,
    readonly failure: RmFailure | null = null,
  ) {}

  get message(): string {
    return this.detail;
  }
}

export interface ConsoleHubOptions {
  /** Bytes of output kept per VM (default DEFAULT_RING_BYTES). */
  ringBytes?: number;
  /**
   * The RM's events, for console-open and console-close. Spec §10.1 has no notification for a VM closing its end of
   * its console, so only the emulator's own RM can tell; without it, streams end when the VM stops or is deleted.
   */
  rmEvents?: TypedEmitter<RmEvents>;
}

export interface SubscribeOptions {
  /** Start at this absolute offset (before the ring's start: from the start, with a `not-buffered` loss). */
  offset?: number;
  /** Start this many bytes before the end (what the ring holds of them); default 0: only new output. */
  history?: number;
  /**
   * Called when a reader whose `next()` returned null has something again. It runs in the path that delivered the
   * notification: schedule the reading, do not do it here.
   */
  onReadable: () => void;
}

export interface ConsoleLog {
  /** Absolute offset of `bytes[0]`. */
  readonly start: number;
  /** Absolute offset one past the last byte: the total output so far. */
  readonly end: number;
  readonly bytes: Buffer;
}

interface Ending {
  readonly offset: number;
  readonly reason: ConsoleEndReason;
  readonly status: string;
}

/** One VM's console as the hub keeps it. */
class VmConsole {
  readonly readers = new Set<ConsoleReader>();
  bytesOut = 0;
  bytesIn = 0;
  droppedBytes = 0;
  /** Why the console is not live, or null while it is. */
  ended: Omit<Ending, 'offset'> | null = null;
  /** Input bytes accepted and not yet written to the RM. */
  pendingInput = 0;
  /** The last write in the VM's input chain: writes reach the RM in the order they were accepted. */
  inputTail: Promise<unknown> = Promise.resolve();

  constructor(readonly vmid: number, readonly ring: ConsoleRing) {}

  append(bytes: Uint8Array): void {
    const before = this.ring.start;
    this.ring.append(bytes);
    this.bytesOut += bytes.length;
    const start = this.ring.start;
    for (const reader of this.readers) {
      if (start > before) this.droppedBytes += reader.skipTo(start, 'overwritten');
      reader.wake();
    }
  }

  clear(): void {
    this.ring.clear();
    for (const reader of this.readers) reader.skipTo(this.ring.start, 'cleared');
  }

  end(reason: ConsoleEndReason, status: string): void {
    if (this.ended !== null) return;
    this.ended = { reason, status };
    const ending = { offset: this.ring.end, reason, status };
    for (const reader of this.readers) reader.endAt(ending);
  }
}

/** One reader of one console: a cursor into the ring, a pending loss, and its end once the console ends. */
export class ConsoleReader {
  /** Absolute offset of the next byte this reader gets. */
  offset: number;
  private lost: { overwritten: number; cleared: number; 'not-buffered': number } = { overwritten: 0, cleared: 0, 'not-buffered': 0 };
  private ending: Ending | null = null;
  private waiting = false;
  private done = false;

  /** @internal the hub creates readers */
  constructor(private readonly cons: VmConsole, offset: number, private readonly onReadable: () => void) {
    this.offset = offset;
    if (offset < cons.ring.start) this.skipTo(cons.ring.start, 'not-buffered');
    if (cons.ended !== null) this.ending = { offset: cons.ring.end, ...cons.ended };
  }

  get vmid(): number {
    return this.cons.vmid;
  }

  /** True once the reader returned its end event or was closed. */
  get closed(): boolean {
    return this.done;
  }

  /** The next event would be the end: the console ended and this reader has nothing left before it. */
  get atEnd(): boolean {
    const { overwritten, cleared } = this.lost;
    const nothingLost = overwritten === 0 && cleared === 0 && this.lost['not-buffered'] === 0;
    return this.ending !== null && nothingLost && this.offset >= Math.min(this.cons.ring.end, this.ending.offset);
  }

  /**
   * The next event: a loss first if bytes were skipped, then up to `max` bytes of data, then the end; null when
   * there is nothing now (`onReadable` is called when there is). After the end the reader is closed.
   */
  next(max: number = DEFAULT_CHUNK_BYTES): ConsoleEvent | null {
    if (this.done) return null;
    for (const reason of ['not-buffered', 'overwritten', 'cleared'] as const) {
      const lost = this.lost[reason];
      if (lost === 0) continue;
      this.lost[reason] = 0;
      return { kind: 'lost', offset: this.offset, lost, reason };
    }
    const ring = this.cons.ring;
    const limit = this.ending === null ? ring.end : Math.min(ring.end, this.ending.offset);
    if (this.offset < limit) {
      const bytes = ring.copy(this.offset, Math.min(max, limit - this.offset));
      const at = this.offset;
      this.offset += bytes.length;
      return { kind: 'data', offset: at, bytes };
    }
    if (this.ending !== null) {
      const { reason, status } = this.ending;
      this.close();
      return { kind: 'end', offset: this.offset, reason, status };
    }
    this.waiting = true;
    return null;
  }

  /** Stop reading: the reader leaves its console (idempotent). */
  close(): void {
    this.done = true;
    this.waiting = false;
    this.cons.readers.delete(this);
  }

  /** @internal The ring dropped bytes below `start`: move up to it; returns the bytes this reader lost. */
  skipTo(start: number, reason: LossReason): number {
    if (this.offset >= start) return 0;
    const lost = start - this.offset;
    this.lost[reason] += lost;
    this.offset = start;
    this.wake();
    return lost;
  }

  /** @internal The console ended: deliver what came before `ending.offset`, then the end. */
  endAt(ending: Ending): void {
    this.ending ??= ending;
    this.wake();
  }

  /** @internal Something new to read: tell a reader that was waiting for it. */
  wake(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.onReadable();
  }
}

export class ConsoleHub {
  readonly ringBytes: number;
  private readonly consoles = new Map<number, VmConsole>();
  private readonly unsubscribe: (() => void)[];
  private closed = false;

  constructor(private readonly rm: RmCalls, vms: VmManager, opts: ConsoleHubOptions = {}) {
    this.ringBytes = opts.ringBytes ?? DEFAULT_RING_BYTES;
    for (const rec of vms.list()) this.created(rec);
    this.unsubscribe = [
      rm.on('VM_CONSOLE_CHARS', (n) => this.consoles.get(n.vmid)?.append(n.bytes)),
      vms.events.on('vm-created', (rec) => this.created(rec)),
      vms.events.on('vm-status', (rec) => this.statusChanged(rec)),
      vms.events.on('vm-deleted', ({ vmid }) => this.deleted(vmid)),
    ];
    const rmEvents = opts.rmEvents;
    if (rmEvents !== undefined) {
      this.unsubscribe.push(
        rmEvents.on('console-close', ({ vmid }) => this.consoles.get(vmid)?.end('console-closed', 'console closed')),
        rmEvents.on('console-open', ({ vmid }) => this.reopen(vmid)),
      );
    }
  }

  /** VMIDs with a console. */
  vmids(): number[] {
    return [...this.consoles.keys()];
  }

  has(vmid: number): boolean {
    return this.consoles.has(vmid);
  }

  /** Follow a VM's output from an offset, or from `history` bytes back, or from now. */
  subscribe(vmid: number, opts: SubscribeOptions): ConsoleReader | ConsoleError {
    const cons = this.consoles.get(vmid);
    if (cons === undefined) return noConsole(vmid);
    const ring = cons.ring;
    let from = ring.end;
    if (opts.offset !== undefined) {
      if (opts.offset > ring.end) {
        return new ConsoleError('OFFSET_AHEAD', `offset ${opts.offset} is past the end of VM ${vmid}'s output (${ring.end})`, 'offset');
      }
      from = opts.offset;
    } else if (opts.history !== undefined) {
      from = Math.max(ring.start, ring.end - opts.history);
    }
    const reader = new ConsoleReader(cons, from, opts.onReadable);
    cons.readers.add(reader);
    return reader;
  }

  /**
   * VM_CONSOLE_WRITE to the VM (spec §10.1), in chunks of the RM's maximum (RmCalls.consoleWrite). Writes to one
   * VM go out one after the other in the order they were made; resolves with the bytes written.
   */
  write(vmid: number, bytes: Uint8Array): Promise<number | ConsoleError> {
    const cons = this.consoles.get(vmid);
    if (cons === undefined) return Promise.resolve(noConsole(vmid));
    if (cons.pendingInput + bytes.length > MAX_PENDING_INPUT) {
      return Promise.resolve(new ConsoleError('INPUT_BUSY',
        `VM ${vmid} has ${cons.pendingInput} input bytes waiting for the RM; at most ${MAX_PENDING_INPUT} may wait`));
    }
    cons.pendingInput += bytes.length;
    const written = cons.inputTail.then(async () => {
      const r = await this.rm.consoleWrite(vmid, bytes);
      cons.pendingInput -= bytes.length;
      if (r instanceof RmFailure) return new ConsoleError('RM_CALL_FAILED', r.message, null, r);
      cons.bytesIn += r;
      return r;
    });
    cons.inputTail = written;
    return written;
  }

  /** The bytes the ring holds, with their offsets. */
  log(vmid: number): ConsoleLog | ConsoleError {
    const cons = this.consoles.get(vmid);
    if (cons === undefined) return noConsole(vmid);
    const { start, end } = cons.ring;
    return { start, end, bytes: cons.ring.copy(start) };
  }

  /** Forget the buffered output; offsets carry on. Readers behind are told what they lost (`cleared`). */
  clear(vmid: number): ConsoleLog | ConsoleError {
    const cons = this.consoles.get(vmid);
    if (cons === undefined) return noConsole(vmid);
    cons.clear();
    return { start: cons.ring.start, end: cons.ring.end, bytes: Buffer.alloc(0) };
  }

  /**
   * Put back a VM's log as a snapshot held it (core/persist/restore.ts): its bytes at their absolute offsets, and its
   * byte counters. Only onto a console with no output yet (a VM just recreated, before it runs): the offsets of
   * what it writes next then carry on from the saved end.
   */
  restore(vmid: number, saved: { start: number; bytes: Uint8Array; bytesOut: number; bytesIn: number }): ConsoleError | null {
    const cons = this.consoles.get(vmid);
    if (cons === undefined) return noConsole(vmid);
    if (cons.ring.end !== 0) {
      return new ConsoleError('OFFSET_AHEAD', `VM ${vmid}'s console has output already; a saved log goes back only before the VM runs`, 'offset');
    }
    cons.ring.start = cons.ring.end = saved.start;
    cons.ring.append(saved.bytes);
    cons.bytesOut = saved.bytesOut;
    cons.bytesIn = saved.bytesIn;
    return null;
  }

  // ---- counters (the metrics layer's ConsoleTelemetry) ----

  /** Bytes the VM wrote to its console and the HLOS received. */
  bytesOut(vmid: number): number {
    return this.consoles.get(vmid)?.bytesOut ?? 0;
  }

  /** Bytes written to the VM's console from the HLOS. */
  bytesIn(vmid: number): number {
    return this.consoles.get(vmid)?.bytesIn ?? 0;
  }

  /** Output bytes skipped by readers that fell behind, summed over readers. */
  droppedBytes(vmid: number): number {
    return this.consoles.get(vmid)?.droppedBytes ?? 0;
  }

  /** Readers following the VM's console now. */
  readers(vmid: number): number {
    return this.consoles.get(vmid)?.readers.size ?? 0;
  }

  /** Readers over every console (tests assert that disconnects leave none). */
  get readerCount(): number {
    let n = 0;
    for (const cons of this.consoles.values()) n += cons.readers.size;
    return n;
  }

  /** End every reader (`shutdown`) and stop listening. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.unsubscribe) off();
    for (const cons of this.consoles.values()) cons.end('shutdown', 'daemon stopping');
  }

  private created(rec: VmRecord): void {
    if (this.consoles.has(rec.vmid)) return;
    this.consoles.set(rec.vmid, new VmConsole(rec.vmid, new ConsoleRing(this.ringBytes)));
    this.statusChanged(rec);
  }

  private statusChanged(rec: VmRecord): void {
    const cons = this.consoles.get(rec.vmid);
    if (cons === undefined) return;
    if (!LIVE_STATUSES.includes(rec.status)) cons.end('vm-stopped', statusName(rec.status));
    else if (cons.ended?.reason === 'vm-stopped') cons.ended = null; // started again
  }

  private reopen(vmid: number): void {
    const cons = this.consoles.get(vmid);
    if (cons?.ended?.reason === 'console-closed') cons.ended = null;
  }

  private deleted(vmid: number): void {
    const cons = this.consoles.get(vmid);
    if (cons === undefined) return;
    this.consoles.delete(vmid);
    cons.ended = null; // whatever ended it before, deletion is the last word
    cons.end('vm-deleted', 'deleted');
  }
}

const noConsole = (vmid: number) => new ConsoleError('NO_CONSOLE', `the HLOS manages no VM ${vmid}, so it has no console for it`);
