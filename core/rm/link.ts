// spec §4.5 (R-CFG create_msgqueue / vm_config_add_rm_rpc): the message-queue pair between the RM and one VM, made
// with hypercalls from the RM's vCPU. The RM keeps the master caps; the VM's cspace gets the tx queue with exactly
// SEND and the rx queue with exactly RECEIVE. VM-side vIRQs: the tx cap's send vIRQ ("tx ready") and the rx cap's
// receive vIRQ ("rx pending"); the RM binds the opposite ends on its own vIC.
import { right } from '../abi/objects.js';
import { RM_RPC } from '../abi/rm.js';
import { encodeVirqInfo } from '../abi/virq.js';
import { RmHypercallError, type RmGuestInterface } from './guest-interface.js';
import type { RmLinkInfo } from './port.js';

const SEND = right('msgqueue', 'send');
const RECEIVE = right('msgqueue', 'receive');

/** Capids in the RM's cspace that the link needs. */
export interface RmCaps {
  readonly partition: bigint;
  readonly cspace: bigint;
  readonly vic: bigint;
}

/** The VM's cspace and vIC as the RM holds them (caps in the RM's cspace). */
export interface TargetCaps {
  readonly cspace: bigint;
  readonly vic: bigint;
}

export interface LinkVirqs {
  /** On the VM's vIC. */
  readonly vmTx: number;
  readonly vmRx: number;
  /** On the RM's vIC. */
  readonly rmTx: number;
  readonly rmRx: number;
}

export interface RmLink {
  /** What the VM's devicetree declares: caps in its cspace, vIRQs on its vIC. */
  readonly vm: RmLinkInfo;
  /** The RM's end: master caps in the RM's cspace, vIRQs on the RM's vIC. */
  readonly rm: RmLinkInfo;
}

/** Build the pair; on failure nothing is left behind and the failing call is returned. */
export function createLink(gi: RmGuestInterface, rm: RmCaps, target: TargetCaps, virqs: LinkVirqs): RmLink | RmHypercallError {
  const made: bigint[] = [];
  const fail = (err: RmHypercallError): RmHypercallError => {
    for (const cap of made) gi.deleteCap(rm.cspace, cap);
    return err;
  };
  // "tx"/"rx" are named from the VM's side: it sends on vmToRm and receives on rmToVm.
  const vmToRm = gi.msgqueue(rm.partition, rm.cspace, RM_RPC.QUEUE_DEPTH, RM_RPC.MESSAGE_SIZE);
  if (vmToRm instanceof RmHypercallError) return vmToRm;
  made.push(vmToRm);
  const rmToVm = gi.msgqueue(rm.partition, rm.cspace, RM_RPC.QUEUE_DEPTH, RM_RPC.MESSAGE_SIZE);
  if (rmToVm instanceof RmHypercallError) return fail(rmToVm);
  made.push(rmToVm);
  const binds = [
    gi.call('msgqueue_bind_send_virq', [vmToRm, target.vic, encodeVirqInfo(virqs.vmTx), 0]),
    gi.call('msgqueue_bind_receive_virq', [rmToVm, target.vic, encodeVirqInfo(virqs.vmRx), 0]),
    gi.call('msgqueue_bind_receive_virq', [vmToRm, rm.vic, encodeVirqInfo(virqs.rmRx), 0]),
    gi.call('msgqueue_bind_send_virq', [rmToVm, rm.vic, encodeVirqInfo(virqs.rmTx), 0]),
  ];
  const bindErr = binds.find((e) => e !== null);
  if (bindErr) return fail(bindErr);
  const vmTx = gi.copyCap(rm.cspace, vmToRm, target.cspace, SEND);
  if (vmTx instanceof RmHypercallError) return fail(vmTx);
  const vmRx = gi.copyCap(rm.cspace, rmToVm, target.cspace, RECEIVE);
  if (vmRx instanceof RmHypercallError) {
    gi.deleteCap(target.cspace, vmTx);
    return fail(vmRx);
  }
  return {
    vm: { txCapid: vmTx, rxCapid: vmRx, txVirq: virqs.vmTx, rxVirq: virqs.vmRx },
    rm: { txCapid: rmToVm, rxCapid: vmToRm, txVirq: virqs.rmTx, rxVirq: virqs.rmRx },
  };
}

/**
 * Tear the pair down: the VM's copies go (when its cspace still exists), then the master caps, which destroys the
 * queues and unbinds their vIRQs.
 */
export function destroyLink(gi: RmGuestInterface, rm: RmCaps, target: TargetCaps | null, link: RmLink): void {
  if (target !== null) {
    gi.deleteCap(target.cspace, link.vm.txCapid);
    gi.deleteCap(target.cspace, link.vm.rxCapid);
  }
  gi.deleteCap(rm.cspace, link.rm.txCapid);
  gi.deleteCap(rm.cspace, link.rm.rxCapid);
}
