// `console-echo`: opens its console (VM_CONSOLE_OPEN vmid 0, spec §10.1), prints a banner and a prompt, reports
// os_status RUN, then echoes each line typed into it. Input arrives as VM_CONSOLE_CHARS notifications from its owner (vmid 0 = the
// owner wrote); a line ends at CR, LF or CR LF.
import { VMID } from '../../abi/vmid.js';
import { readParams, type ImageDefinition, type NoParams } from '../image-types.js';
import { runImage, type Guest } from './common.js';

export const PROMPT = 'echo> ';
export const banner = (vmid: number): string => `gunyah-emu console-echo on VM ${vmid}\r\n`;

/** Splits console input into lines; `next()` resolves with the next complete one. */
class LineReader {
  private partial = '';
  private afterCr = false;
  private readonly lines: string[] = [];
  private waiter: ((line: string) => void) | null = null;
  private readonly decoder = new TextDecoder();

  push(bytes: Uint8Array): void {
    for (const ch of this.decoder.decode(bytes, { stream: true })) {
      if (ch === '\n' && this.afterCr) {
        this.afterCr = false;
        continue;
      }
      this.afterCr = ch === '\r';
      if (ch === '\r' || ch === '\n') this.complete();
      else this.partial += ch;
    }
  }

  next(): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  private complete(): void {
    const line = this.partial;
    this.partial = '';
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter) waiter(line);
    else this.lines.push(line);
  }
}

async function serve(g: Guest, input: LineReader): Promise<void> {
  for (;;) {
    const line = await input.next();
    await g.print(`${line}\r\n${PROMPT}`);
  }
}

export const consoleEchoImage: ImageDefinition<NoParams> = {
  name: 'console-echo',
  description: 'prints a banner and a prompt on its console, then echoes each typed line',
  params: (raw) => readParams<NoParams>(raw, {}),
  program: (ctx) => (cpu) => {
    const input = new LineReader();
    return runImage(cpu, ctx, {
      async setup(g) {
        g.rm.on('VM_CONSOLE_CHARS', (n) => {
          if (n.vmid === VMID.SELF) input.push(n.bytes);
        });
        await g.print(banner(g.vmid) + PROMPT); // before RUN: a VM reported running shows its prompt
      },
      serve: (g) => serve(g, input),
    });
  },
};
