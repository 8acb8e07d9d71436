// Consoles (spec §10): bytes each way as the RM moves them, and the streaming layer's readers and the bytes they
// skipped, for every VM.
import type { ExpositionWriter } from '../exposition.js';
import { FAMILY } from '../families.js';
import { header, type Scrape } from './scrape.js';

const BYTES = FAMILY.gunyah_console_bytes_total;
const DROPPED = FAMILY.gunyah_console_dropped_bytes_total;
const READERS = FAMILY.gunyah_console_readers;

export function* consoleCollector(w: ExpositionWriter, s: Scrape): Generator<void> {
  const { consoleTraffic: traffic, consoleReaders: readers } = s.sources;
  const { vms, vmLabels } = s;
  header(w, BYTES);
  if (traffic !== undefined) {
    for (let i = 0; i < vms.length; i++) {
      w.sample(BYTES.name, `${vmLabels[i]},direction="out"`, traffic.bytesOut(vms[i]!.vmid));
      w.sample(BYTES.name, `${vmLabels[i]},direction="in"`, traffic.bytesIn(vms[i]!.vmid));
      yield;
    }
  }
  header(w, DROPPED);
  if (readers !== undefined) {
    for (let i = 0; i < vms.length; i++) {
      w.sample(DROPPED.name, vmLabels[i]!, readers.droppedBytes(vms[i]!.vmid));
      yield;
    }
  }
  header(w, READERS);
  if (readers !== undefined) {
    for (let i = 0; i < vms.length; i++) {
      w.sample(READERS.name, vmLabels[i]!, readers.readers(vms[i]!.vmid));
      yield;
    }
  }
}
