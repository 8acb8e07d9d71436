// gunyahctl hypercall / mem: the raw ABI routes (POST /v1/vms/{vmid}/hypercall, GET|PUT
// /v1/vms/{vmid}/memory/{ipa}), with which a client drives the real ABI as the VM (spec §1.1-§1.3, §7.1).
import type { Command } from 'commander';
import { HC, HYPERCALLS, type HypercallName } from '../../core/abi/hypercalls.js';
import { hypercallFunctionId, NATIVE_HVC, SMCCC_CALL, type SmcccCallName } from '../../core/abi/smccc.js';
import { hex32 } from '../../server/hex.js';
import { action, intArg } from './context.js';
import { UsageError } from './errors.js';
import { fields, hexdump, table } from './format.js';
import { hex64Arg } from './hex.js';
import { inputEncoding, payload } from './input.js';

interface HypercallResult {
  call: string | null;
  x: string[];
  error: string | null;
}

/** The most bytes `mem read` asks for when no --length is given. */
const DEFAULT_READ_LENGTH = 64;

const isHypercall = (name: string): name is HypercallName => Object.hasOwn(HC, name);
const isSmcccCall = (name: string): name is SmcccCallName => Object.hasOwn(SMCCC_CALL, name);

/**
 * The request body for FUNCTION as the user wrote it: a hypercall name (hypervisor_identify), an SMCCC service
 * name (VENDOR_HYP_CALL_UID) or a number. SMCCC: the function ID (hypercall n is 0xC6008000 | n); native: the HVC
 * immediate (hypercall n is hvc #0x6000 + n).
 */
function callOf(fn: string, native: boolean): { convention: 'smccc' | 'native'; function_id?: string; imm?: string } {
  const number = /^(\d+|0x[0-9a-f]+)$/i.test(fn) ? Number(fn) : null;
  if (native) {
    if (isSmcccCall(fn)) throw new UsageError(`${fn} is an SMCCC service: it has no native form (drop --native)`);
    const imm = isHypercall(fn) ? NATIVE_HVC.BASE + HC[fn] : number;
    if (imm === null || imm > 0xffff) throw new UsageError(`"${fn}" is not a hypercall name or an HVC immediate (0-0xffff)`);
    return { convention: 'native', imm: `0x${imm.toString(16)}` };
  }
  const id = isHypercall(fn) ? hypercallFunctionId(HC[fn]) : isSmcccCall(fn) ? SMCCC_CALL[fn] : number;
  if (id === null || id > 0xffffffff) throw new UsageError(`"${fn}" is not a hypercall name, an SMCCC service name or a 32-bit function ID`);
  return { convention: 'smccc', function_id: hex32(id) };
}

/** Each register with the name the call's table gives its output (spec §1.3), when known. */
function resultText(r: HypercallResult): string {
  const outputs: readonly string[] = HYPERCALLS.find((c) => c.name === r.call)?.outputs ?? [];
  return [
    fields([['call', r.call ?? 'unknown'], ['error', r.error ?? '- (X0 is a value)']]),
    table(['REG', 'VALUE', 'OUTPUT'], r.x.map((value, i) => [`x${i}`, value, outputs[i]])),
  ].join('\n');
}

/** Help text examples from the ABI tables: hypervisor_identify's SMCCC function ID, the native immediates' base. */
const IDENTIFY_ID = hex32(hypercallFunctionId(HC.hypervisor_identify));
const NATIVE_BASE = `0x${NATIVE_HVC.BASE.toString(16)}`;

/** Variadic register arguments, each parsed as it comes (commander hands the list so far). */
const registerArgs = (value: string, previous: string[] = []): string[] => [...previous, hex64Arg(value)];

export function registerAbi(program: Command): void {
  program.command('hypercall')
    .description('run one raw hypercall as vCPU 0 of a VM and print X0-X7')
    .argument('<vm>', 'VMID (decimal or 0x hex) or VM name')
    .argument('<function>', `hypercall name (hypervisor_identify), SMCCC service name (VENDOR_HYP_CALL_UID), or function ID (${IDENTIFY_ID})`)
    .argument('[args...]', 'argument registers, hex or decimal (SMCCC: X1..X7; native: X0..X7)', registerArgs)
    .option('--native', `native convention: FUNCTION is the HVC immediate (${NATIVE_BASE} + n), or a hypercall name`)
    .addHelpText('after', `\nExample: gunyahctl hypercall svm1 hypervisor_identify   (the same as ${IDENTIFY_ID})`)
    .action(action(async (ctl, vmArg: string, fn: string, args: string[] | undefined, opts: { native?: boolean }) => {
      const body = { ...callOf(fn, opts.native === true), args: args ?? [] };
      const result = await ctl.client.json<HypercallResult>('POST', `/v1/vms/${await ctl.vmid(vmArg)}/hypercall`, { json: body });
      ctl.print(result, () => resultText(result));
    }));

  const mem = program.command('mem').description('read and write a VM\'s guest memory, as the VM sees it');

  mem.command('read')
    .description('read guest memory at an IPA; printed as a hex dump')
    .argument('<vm>', 'VMID (decimal or 0x hex) or VM name')
    .argument('<ipa>', 'guest-physical address (hex or decimal)', hex64Arg)
    .option('--length <n>', `bytes to read (default ${DEFAULT_READ_LENGTH})`, intArg(1))
    .option('--raw', 'write the bytes themselves to standard output')
    .action(action(async (ctl, vmArg: string, ipa: string, opts: { length?: number; raw?: boolean }) => {
      const length = opts.length ?? DEFAULT_READ_LENGTH;
      const response = await ctl.client.request('GET', `/v1/vms/${await ctl.vmid(vmArg)}/memory/${ipa}`, {
        query: { length }, headers: { accept: 'application/octet-stream, application/problem+json' },
      });
      const bytes = await response.bytes();
      if (opts.raw) process.stdout.write(bytes);
      else ctl.print({ ipa, length: bytes.length, data: bytes.toString('base64') }, () => hexdump(bytes, BigInt(ipa)));
    }));

  mem.command('write')
    .description('write bytes to guest memory at an IPA')
    .argument('<vm>', 'VMID (decimal or 0x hex) or VM name')
    .argument('<ipa>', 'guest-physical address (hex or decimal)', hex64Arg)
    .argument('[data]', 'the bytes, as text; standard input when absent or "-"')
    .option('--base64', 'the data is base64')
    .option('--hex', 'the data is hex digits')
    .action(action(async (ctl, vmArg: string, ipa: string, data: string | undefined, opts: { base64?: boolean; hex?: boolean }) => {
      const bytes = await payload(data, inputEncoding(opts));
      await ctl.client.request('PUT', `/v1/vms/${await ctl.vmid(vmArg)}/memory/${ipa}`, { bytes });
      ctl.print({ ipa, length: bytes.length }, () => `wrote ${bytes.length} bytes at ${ipa}`);
    }));
}
