// gunyahctl console VM: mounts attachConsole (console.ts) as a command. Exit 0 when the user detaches or the
// console ends; a connection that drops without an end counts as lost (exit 3). console.ts is loaded only when
// the command runs: its WebSocket library doubles the start-up time of every other command.
import { InvalidArgumentError, type Command } from 'commander';
import { endpointOf, intArg, parseVmid } from './context.js';
import { EXIT } from './errors.js';

/** `^]` (caret notation) or a single character, as the escape byte. */
function escapeArg(value: string): number {
  if (/^\^[@-_a-z]$/.test(value)) return value.toUpperCase().charCodeAt(1) - 0x40;
  if (value.length === 1) return value.charCodeAt(0);
  throw new InvalidArgumentError('expected one character, or caret notation such as ^] or ^A.');
}

export function registerConsole(program: Command): void {
  program.command('console')
    .description('attach this terminal to a VM\'s console: what you type goes to the VM (Ctrl-] detaches)')
    .argument('<vm>', 'VMID (decimal or 0x hex) or VM name')
    .option('--escape <char>', 'the character that detaches, e.g. ^A (default ^])', escapeArg)
    .option('--history <bytes>', 'bytes of earlier output to replay on attach (default: the last few KiB; 0: none)', intArg(0))
    .action(async (vm: string, opts: { escape?: number; history?: number }, cmd: Command) => {
      const endpoint = endpointOf(cmd);
      const { attachConsole } = await import('./console.js');
      const end = await attachConsole({
        baseUrl: endpoint.url, socketPath: endpoint.socket, token: endpoint.token,
        vmid: parseVmid(vm) ?? vm, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr,
        escape: opts.escape, history: opts.history,
      });
      if (end.reason === 'closed') process.exitCode = EXIT.CANNOT_CONNECT;
    });
}
