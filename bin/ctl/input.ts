// Payloads on the command line: an argument, or standard input when the argument is absent or "-". Text is sent
// as its UTF-8 bytes; --base64 and --hex decode the text first (surrounding whitespace ignored).
import { UsageError } from './errors.js';

export type InputEncoding = 'utf8' | 'base64' | 'hex';

async function readStdin(): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of process.stdin) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** The bytes a payload argument (or standard input) stands for. */
export async function payload(arg: string | undefined, encoding: InputEncoding): Promise<Buffer> {
  const raw = arg === undefined || arg === '-' ? await readStdin() : Buffer.from(arg, 'utf8');
  if (encoding === 'utf8') return raw;
  const text = raw.toString('utf8').trim();
  const valid = encoding === 'base64'
    ? /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)
    : /^(?:[0-9a-fA-F]{2})*$/.test(text);
  if (!valid) throw new UsageError(`the data is not valid ${encoding}`);
  return Buffer.from(text, encoding);
}

/** --base64 / --hex flags as one encoding; both at once is a usage error. */
export function inputEncoding(opts: { base64?: boolean; hex?: boolean }): InputEncoding {
  if (opts.base64 && opts.hex) throw new UsageError('--base64 and --hex cannot be used together');
  return opts.base64 ? 'base64' : opts.hex ? 'hex' : 'utf8';
}
