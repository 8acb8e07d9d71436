// The HLOS end of a `traffic` VM's devices: a host driver that consumes what the guest sends, so its load stays
// steady instead of stalling on a full queue. It drains the VM -> HLOS message queue (MSG_QUEUE_RECV resource) on
// its RX vIRQ and takes the flags of the doorbell the VM rings (DOORBELL resource) on its vIRQ, all by hypercalls
// on the HLOS's vCPU 0 (MsgqPort, VirqRouter). VMs running other images keep their queues for the control plane
// (REST send and receive act on them instead).
import { GH_ERROR } from '../abi/errors.js';
import { HYP_RESOURCE_TYPE } from '../abi/rm.js';
import { hvc } from '../hyp/call.js';
import { MsgqPort } from '../rm/port.js';
import { VirqRouter } from '../rm/virq-router.js';
import type { Vm } from '../vm/vm.js';
import type { HypResource } from './rm-calls.js';

const ALL_FLAGS = 0xffff_ffff_ffff_ffffn;

export interface SinkCounters {
  messages: number;
  bytes: number;
  /** Doorbell interrupts taken (each may carry several rings' flags). */
  rings: number;
}

export interface TrafficSink {
  readonly counters: SinkCounters;
  close(): void;
}

/**
 * Consume a VM's traffic on the HLOS side; null when the VM has no VM -> HLOS queue pair (nothing to drain).
 * `bufferIpa` is a page of HLOS RAM for the port's buffers.
 */
export function attachTrafficSink(hlos: Vm, resources: readonly HypResource[], bufferIpa: number): TrafficSink | null {
  const find = (type: number) => resources.find((r) => r.type === type);
  const rx = find(HYP_RESOURCE_TYPE.MSG_QUEUE_RECV);
  const tx = find(HYP_RESOURCE_TYPE.MSG_QUEUE_SEND);
  if (rx === undefined || tx === undefined) return null;
  const counters: SinkCounters = { messages: 0, bytes: 0, rings: 0 };
  const vcpu = hlos.vcpus[0]!;
  const port = new MsgqPort(vcpu, { txCapid: tx.capid, rxCapid: rx.capid, txVirq: tx.virq, rxVirq: rx.virq }, bufferIpa);
  port.onPacket = (packet) => {
    counters.messages++;
    counters.bytes += packet.length;
  };
  port.drain(); // what the VM sent before the sink existed
  const bell = find(HYP_RESOURCE_TYPE.DOORBELL);
  const release = bell
    ? VirqRouter.of(hlos.vic).claim(bell.virq, () => {
      if (hvc(vcpu, 'doorbell_receive', [bell.capid, ALL_FLAGS]).err === GH_ERROR.OK) counters.rings++;
    })
    : () => {};
  return {
    counters,
    close() {
      port.close();
      release();
    },
  };
}
