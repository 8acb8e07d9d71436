// Issue 2 benchmarks: hyp_identify and a 240-byte msgqueue send+receive pair through the full hypercall entry
// point, each against a bare baseline measured in the same run, and the cost of statistics (on vs off).
// Run: npm run bench -- hypercall   (or node dist/bench/hypercall.bench.js)
import { Hypervisor } from '../core/hyp/hypervisor.js';
import { hypercallFunctionId } from '../core/abi/smccc.js';
import { HC, HYPERCALL_TABLE_SIZE } from '../core/abi/hypercalls.js';
import { fmt, rates, report } from './measure.js';
import { msgqPair } from './msgq-pair.js';

const INNER = 10_000;
const RAM = 0x4000_0000;
const SIZE = 240;

function setup() {
  const hyp = new Hypervisor({ seed: 7 });
  const { vm } = hyp.createVm({ vmid: 0xff, name: 'bench', vcpus: 1, ram: { base: RAM, size: 1 << 20 } });
  return { hyp, vm, vcpu: vm.vcpus[0]! };
}

/** The same loop with the core's statistics switched off while it runs. */
const statsOff = (hyp: Hypervisor, fn: () => void) => () => {
  hyp.stats.enabled = false;
  fn();
  hyp.stats.enabled = true;
};

export function runHypercallBench(): string[] {
  const lines: string[] = [];
  const { hyp, vm, vcpu } = setup();
  const regs = vcpu.regs;
  const identifyId = hypercallFunctionId(HC.hypervisor_identify);

  // Bare: decode the call number from X0 and call through a table of handlers that write the four result
  // registers. The call site is warmed with every handler first, as a real dispatcher's is, so the JIT cannot
  // inline the one handler and measure an empty loop.
  const bareRegs = new Uint32Array(16);
  const bareTable = Array.from({ length: HYPERCALL_TABLE_SIZE }, (_, n) =>
    new Function('r', `r[0] = ${n}; r[1] = 0x51000000; r[2] = 0x10000eff; r[3] = 0; r[4] = 0; r[5] = 0; r[6] = 0; r[7] = 0;`) as (r: Uint32Array) => void);
  const bareDispatch = (r: Uint32Array) => bareTable[r[0]! & 0x3fff]!(r);
  for (let n = 0; n < HYPERCALL_TABLE_SIZE; n++) { bareRegs[0] = n; bareDispatch(bareRegs); }
  const bareIdentify = () => { for (let i = 0; i < INNER; i++) { bareRegs[0] = identifyId; bareDispatch(bareRegs); } };
  // The entry point is warmed the same way: every call number once (zero arguments, so most answer an error).
  for (let n = 0; n < HYPERCALL_TABLE_SIZE; n++) { regs.fill(0); regs[0] = (identifyId | n) >>> 0; hyp.hypercall(vcpu, regs, 0); }
  const identify = () => { for (let i = 0; i < INNER; i++) { regs[0] = identifyId; regs[1] = 0; hyp.hypercall(vcpu, regs, 0); } };
  const [bare, full, fullOff] = rates([bareIdentify, identify, statsOff(hyp, identify)], INNER);

  const pair = msgqPair(hyp, vm, RAM, SIZE, INNER);
  const src = Buffer.alloc(SIZE, 0x5a), mid = Buffer.alloc(SIZE), dst = Buffer.alloc(SIZE);
  const rawPair = () => { for (let i = 0; i < INNER; i++) { src.copy(mid, 0, 0, SIZE); mid.copy(dst, 0, 0, SIZE); } };
  const [raw, pairOn, pairOff] = rates([rawPair, pair, statsOff(hyp, pair)], INNER);

  lines.push(report('bare function-table dispatch of identify', `${fmt(bare)} calls/s`));
  lines.push(report('hyp_identify via entry point (stats on)', `${fmt(full)} calls/s`, `${((full / bare) * 100).toFixed(0)}% of bare (target >= 25%)`));
  lines.push(report('two raw 240-byte Buffer.copy', `${fmt(raw)} pairs/s`));
  lines.push(report('msgqueue_send+receive 240 B via entry point (stats on)', `${fmt(pairOn)} pairs/s`, `${((pairOn / raw) * 100).toFixed(0)}% of raw (target >= 25%)`));
  lines.push(report('statistics cost, identify (off/on time ratio)', `${(fullOff / full).toFixed(2)}x`, 'target <= 1.5x'));
  lines.push(report('statistics cost, msgqueue pair (off/on time ratio)', `${(pairOff / pairOn).toFixed(2)}x`, 'target <= 1.5x'));
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) runHypercallBench();
