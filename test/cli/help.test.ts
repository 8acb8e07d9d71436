// gunyahctl --help: every command has help, exits 0, and the top level documents the exit codes and environment.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ctl, ctlEnv, type CtlRun } from './fixture.js';

/** The subcommands a help text lists (first name of each, without the built-in `help`). */
function subcommands(help: string): string[] {
  const section = /\nCommands:\n([\s\S]*?)(\n\n|$)/.exec(help)?.[1] ?? '';
  return section.split('\n')
    .map((line) => /^ {2}([a-z-]+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'help');
}

test('gunyahctl --help lists the commands, the environment and the exit codes', async () => {
  const r = await ctl(['--help'], ctlEnv());
  assert.equal(r.code, 0);
  assert.deepEqual(subcommands(r.stdout), ['vm', 'caps', 'msgq', 'doorbell', 'hypercall', 'mem', 'events', 'top', 'console', 'hypervisor']);
  assert.match(r.stdout, /GUNYAH_URL/);
  assert.match(r.stdout, /GUNYAH_SOCKET/);
  assert.match(r.stdout, /GUNYAH_TOKEN/);
  assert.match(r.stdout, /Exit codes:\n {2}0 {2}success\n {2}1 {2}the API refused .*\n {2}2 {2}usage error.*\n {2}3 {2}cannot connect.*\n {2}4 {2}not found/);
});

test('--help on every command and subcommand prints its usage and exits 0', async () => {
  const root = await ctl(['--help'], ctlEnv());
  const groups = subcommands(root.stdout);
  const groupHelp = await Promise.all(groups.map((g) => ctl([g, '--help'], ctlEnv())));
  const paths = groups.flatMap((g, i) => [[g], ...subcommands(groupHelp[i]!.stdout).map((sub) => [g, sub])]);
  assert.deepEqual(paths.map((p) => p.join(' ')), [
    'vm', 'vm ls', 'vm show', 'vm state', 'vm create', 'vm start', 'vm stop', 'vm reset', 'vm vcpus', 'vm rm', 'caps',
    'msgq', 'msgq ls', 'msgq show', 'msgq send', 'msgq recv',
    'doorbell', 'doorbell ls', 'doorbell show', 'doorbell ring', 'doorbell recv', 'doorbell mask',
    'hypercall', 'mem', 'mem read', 'mem write', 'events', 'top', 'console', 'hypervisor',
  ]);
  // A few at a time: 28 node processes at once starve a small machine.
  const runs: CtlRun[] = [];
  for (let i = 0; i < paths.length; i += 4) {
    runs.push(...await Promise.all(paths.slice(i, i + 4).map((path) => ctl([...path, '--help'], ctlEnv()))));
  }
  paths.forEach((path, i) => {
    const r = runs[i]!;
    assert.equal(r.code, 0, `${path.join(' ')} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^Usage: gunyahctl ${path.join(' ')}`), path.join(' '));
    assert.equal(r.stderr, '');
  });
});

test('a command group without its subcommand prints its help and is a usage error (exit 2)', async () => {
  const r = await ctl(['msgq'], ctlEnv());
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^Usage: gunyahctl msgq/);
  assert.match(r.stderr, /\n {2}send \[options\] <vm> <capid> \[data\]/);
});
