// Doorbells (spec §5): sends, labelled with the VM holding the send end, and the flags pending now, labelled with
// the VM holding the receive end.
import type { ExpositionWriter } from '../exposition.js';
import { FAMILY } from '../families.js';
import { header, type Scrape } from './scrape.js';

const SENDS = FAMILY.gunyah_doorbell_sends_total;
const FLAGS = FAMILY.gunyah_doorbell_flags;

export function* doorbellCollector(w: ExpositionWriter, s: Scrape): Generator<void> {
  const { doorbells, doorbellLabels: labels } = s;
  header(w, SENDS);
  for (let i = 0; i < doorbells.length; i++) {
    w.sample(SENDS.name, `${labels[i]},vmid="${s.ends(doorbells[i]!).sender}"`, doorbells[i]!.sends);
    yield;
  }
  header(w, FLAGS);
  for (let i = 0; i < doorbells.length; i++) {
    w.sample(FLAGS.name, `${labels[i]},vmid="${s.ends(doorbells[i]!).receiver}"`, Number(doorbells[i]!.flags));
    yield;
  }
}
