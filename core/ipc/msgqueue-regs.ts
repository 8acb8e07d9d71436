// The caller's side of msgqueue_send and msgqueue_receive (spec §1.3, SMCCC convention): their registers laid out
// once, for every driver that makes these calls on its own register file (the RM's and the HLOS's ports, guest
// images). A capid is passed as its two 32-bit words so the hot path makes no BigInt.
import { HC } from '../abi/hypercalls.js';
import { MSGQ_SEND_FLAG } from '../abi/ipc.js';
import { hypercallFunctionId } from '../abi/smccc.js';
import type { RegisterFile } from '../hyp/regs.js';

const FID_SEND = hypercallFunctionId(HC.msgqueue_send);
const FID_RECEIVE = hypercallFunctionId(HC.msgqueue_receive);
const TWO32 = 0x1_0000_0000;

// Every word is stored, straight-line: TypedArray#fill of a register file runs in C++ and costs more than this.

/** X0 function ID, X1 msgq, X2 size, X3 buffer IPA, X4 send_flags (push), X5-X7 0. */
export function setMsgqSendRegs(r: RegisterFile, capLo: number, capHi: number, size: number, ipa: number, push: boolean): void {
  r[0] = FID_SEND; r[1] = 0;
  r[2] = capLo; r[3] = capHi;
  r[4] = size; r[5] = 0;
  r[6] = ipa % TWO32; r[7] = Math.floor(ipa / TWO32);
  r[8] = push ? MSGQ_SEND_FLAG.PUSH : 0; r[9] = 0;
  r[10] = 0; r[11] = 0; r[12] = 0; r[13] = 0; r[14] = 0; r[15] = 0;
}

/** X0 function ID, X1 msgq, X2 buffer IPA, X3 buffer size, X4-X7 0. Results: X0 error, X1 size, X2 not_empty. */
export function setMsgqReceiveRegs(r: RegisterFile, capLo: number, capHi: number, ipa: number, bufSize: number): void {
  r[0] = FID_RECEIVE; r[1] = 0;
  r[2] = capLo; r[3] = capHi;
  r[4] = ipa % TWO32; r[5] = Math.floor(ipa / TWO32);
  r[6] = bufSize; r[7] = 0;
  r[8] = 0; r[9] = 0; r[10] = 0; r[11] = 0; r[12] = 0; r[13] = 0; r[14] = 0; r[15] = 0;
}

/** A capid as the [low, high] words the register helpers take. */
export const capidWords = (capid: bigint): [number, number] => [Number(capid & 0xffffffffn), Number(capid >> 32n)];
