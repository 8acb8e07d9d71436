// Message queues (spec §4): traffic, fill level and configuration of every queue that exists, idle ones included
// (a zero series, so rates and the "stuck full" alert see every queue from its creation on).
import type { ExpositionWriter } from '../exposition.js';
import { FAMILY } from '../families.js';
import { header, type Scrape } from './scrape.js';

const MESSAGES = FAMILY.gunyah_msgq_messages_total;
const BYTES = FAMILY.gunyah_msgq_bytes_total;
const DEPTH = FAMILY.gunyah_msgq_depth;
const CAPACITY = FAMILY.gunyah_msgq_capacity;
const FULL = FAMILY.gunyah_msgq_full_total;
const INFO = FAMILY.gunyah_msgq_info;

export function* msgqCollector(w: ExpositionWriter, s: Scrape): Generator<void> {
  const { msgqs, msgqLabels: labels } = s;
  header(w, MESSAGES);
  for (let i = 0; i < msgqs.length; i++) {
    w.sample(MESSAGES.name, `${labels[i]},direction="sent"`, msgqs[i]!.sent);
    w.sample(MESSAGES.name, `${labels[i]},direction="received"`, msgqs[i]!.received);
    yield;
  }
  header(w, BYTES);
  for (let i = 0; i < msgqs.length; i++) {
    w.sample(BYTES.name, `${labels[i]},direction="sent"`, msgqs[i]!.bytesSent);
    w.sample(BYTES.name, `${labels[i]},direction="received"`, msgqs[i]!.bytesReceived);
    yield;
  }
  header(w, DEPTH);
  for (let i = 0; i < msgqs.length; i++) {
    w.sample(DEPTH.name, labels[i]!, msgqs[i]!.count);
    yield;
  }
  header(w, CAPACITY);
  for (let i = 0; i < msgqs.length; i++) {
    w.sample(CAPACITY.name, labels[i]!, msgqs[i]!.depth);
    yield;
  }
  // spec §4.3: the sends that failed with MSGQUEUE_FULL (not the times the queue filled up).
  header(w, FULL);
  for (let i = 0; i < msgqs.length; i++) {
    w.sample(FULL.name, labels[i]!, msgqs[i]!.fullRejects);
    yield;
  }
  header(w, INFO);
  for (let i = 0; i < msgqs.length; i++) {
    const q = msgqs[i]!;
    const ends = s.ends(q);
    w.sample(INFO.name, `${labels[i]},sender_vmid="${ends.sender}",receiver_vmid="${ends.receiver}",max_msg_size="${q.maxMsgSize}"`, 1);
    yield;
  }
}
