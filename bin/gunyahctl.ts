#!/usr/bin/env node
// gunyahctl: the command line over gunyahd's REST API (product brief, "REST API"), over TCP or the daemon's Unix
// socket. Commands follow the API's resources; output is aligned tables for people, or the API's JSON with --json;
// the exit code says what happened (bin/ctl/errors.ts).
import { Command, CommanderError, Option } from 'commander';
import { registerAbi } from './ctl/abi.js';
import { registerCaps } from './ctl/caps.js';
import { registerConsole } from './ctl/console-command.js';
import { registerDoorbell } from './ctl/doorbell.js';
import { CliError, EXIT, EXIT_CODES_HELP } from './ctl/errors.js';
import { registerEvents } from './ctl/events.js';
import { registerHypervisor } from './ctl/hypervisor.js';
import { registerMsgq } from './ctl/msgq.js';
import { registerTop } from './ctl/top.js';
import { registerVm } from './ctl/vm.js';

const DEFAULT_URL = 'http://127.0.0.1:8080';

const ENVIRONMENT_HELP = [
  'Environment:',
  '  GUNYAH_URL     default for --url',
  '  GUNYAH_SOCKET  default for --socket (used instead of the URL unless --url is given)',
  '  GUNYAH_TOKEN   default for --token',
  '',
  'VMs are named by VMID (128, 0x80) or by name (svm1).',
].join('\n');

function buildProgram(): Command {
  const program = new Command('gunyahctl')
    .description('Control an emulated Gunyah device (gunyahd) through its REST API')
    // Before any subcommand exists, so every one inherits them: usage errors reach main() as CommanderErrors.
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addOption(new Option('--url <url>', 'gunyahd\'s REST API').env('GUNYAH_URL').default(DEFAULT_URL))
    .addOption(new Option('--socket <path>', 'connect through gunyahd\'s Unix socket (gunyahd --socket)').env('GUNYAH_SOCKET'))
    .addOption(new Option('--token <token>', 'bearer token, for changes when gunyahd needs one').env('GUNYAH_TOKEN'))
    .option('--json', 'print the API\'s JSON instead of tables', false)
    .addHelpText('after', `\n${ENVIRONMENT_HELP}\n\n${EXIT_CODES_HELP}`);

  registerVm(program);
  registerCaps(program);
  registerMsgq(program);
  registerDoorbell(program);
  registerAbi(program);
  registerEvents(program);
  registerTop(program);
  registerConsole(program);
  registerHypervisor(program);
  return program;
}

/** Runs one command line; answers the exit code. */
async function run(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv as string[], { from: 'user' });
    return EXIT.OK;
  } catch (err) {
    // Help and version end with code 0; every other commander error is a usage error, already printed.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (err instanceof CliError) {
      process.stderr.write(`gunyahctl: ${err}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

// A reader that went away (`gunyahctl events | head -1`) ends the command quietly, as it ends `cat`.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(EXIT.OK);
});

const code = await run(process.argv.slice(2));
// Exit once stdout has drained; idle keep-alive connections must not hold the process open.
process.stdout.write('', () => process.exit(code));
