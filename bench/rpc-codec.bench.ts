// RM RPC codec throughput: one round trip = encode a request, reassemble it (RM side), encode the reply,
// reassemble it (HLOS side). Run: npx tsc -p . && node dist/bench/rpc-codec.bench.js
import { RM_ERROR, RM_MSG, RM_RPC } from '../core/abi/rm.js';
import { VmGetStateReply, VmGetStateRequest } from '../core/rm/messages.js';
import { RpcReassembler, encodeMessage, encodeReply, type RpcPushResult } from '../core/rm/rpc-codec.js';

const DURATION_MS = 1000;

function deliver(r: RpcReassembler, packets: ReturnType<typeof encodeMessage>): RpcPushResult {
  if (!Array.isArray(packets)) throw new Error(`encode refused: ${packets.detail}`);
  let result: RpcPushResult = { kind: 'pending', aborted: null };
  for (const p of packets) result = r.push(p);
  if (result.kind !== 'message') throw new Error(`reassembly ended ${result.kind}`);
  return result;
}

function measure(name: string, msgId: number, request: Uint8Array, reply: Uint8Array): void {
  const rm = new RpcReassembler();
  const hlos = new RpcReassembler();
  const roundTrip = (seq: number) => {
    deliver(rm, encodeMessage('request', msgId, seq, request));
    deliver(hlos, encodeReply(msgId, seq, RM_ERROR.OK, reply));
  };
  for (let i = 0; i < 2000; i++) roundTrip(i & 0xffff); // warm-up
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(DURATION_MS) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 256; i++) roundTrip(n++ & 0xffff);
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - start) / 1e9;
  const perSecond = n / seconds;
  const mbps = (perSecond * (request.length + reply.length + 4)) / 1e6;
  console.log(`${name.padEnd(44)} ${Math.round(perSecond).toLocaleString('en-US').padStart(10)} round trips/s` +
    `  ${mbps.toFixed(1).padStart(7)} MB/s payload`);
}

const stateRequest = VmGetStateRequest.encode({ vmid: 0 });
const stateReply = VmGetStateReply.encode({ vmStatus: 3, osStatus: 4, appStatus: 0 });
if (stateRequest instanceof Uint8Array && stateReply instanceof Uint8Array) {
  measure('VM_GET_STATE (4 B request, 4 B reply data)', RM_MSG.VM_GET_STATE, stateRequest, stateReply);
}
measure(`${RM_RPC.MAX_MESSAGE} B request, standard reply`, RM_MSG.VM_CONSOLE_WRITE,
  new Uint8Array(RM_RPC.MAX_MESSAGE).fill(0x61), new Uint8Array(0));
