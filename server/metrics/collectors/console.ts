// Consoles (spec §10): bytes each way, bytes skipped by slow readers, and readers now, for every VM.
import type { ExpositionWriter } from '../exposition.js';
import { FAMILY } from '../families.js';
import { header, type Scrape } from './scrape.js';

const BYTES = FAMILY.gunyah_console_bytes_total;
const DROPPED = FAMILY.gunyah_console_dropped_bytes_total;
const READERS = FAMILY.gunyah_console_readers;

export function* consoleCollector(w: ExpositionWriter, s: Scrape): Generator<void> {
  const consoles = s.sources.consoles;
  const { vms, vmLabels } = s;
  header(w, BYTES);
  if (consoles !== undefined) {
    for (let i = 0; i < vms.length; i++) {
      w.sample(BYTES.name, `${vmLabels[i]},direction="out"`, consoles.bytesOut(vms[i]!.vmid));
      w.sample(BYTES.name, `${vmLabels[i]},direction="in"`, consoles.bytesIn(vms[i]!.vmid));
      yield;
    }
  }
  header(w, DROPPED);
  if (consoles !== undefined) {
    for (let i = 0; i < vms.length; i++) {
      w.sample(DROPPED.name, vmLabels[i]!, consoles.droppedBytes(vms[i]!.vmid));
      yield;
    }
  }
  header(w, READERS);
  if (consoles !== undefined) {
    for (let i = 0; i < vms.length; i++) {
      w.sample(READERS.name, vmLabels[i]!, consoles.readers(vms[i]!.vmid));
      yield;
    }
  }
}
