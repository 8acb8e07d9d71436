// sysfs read benchmark: the cost of reading one sysfs node through the FUSE mount, against a tmpfs file (/dev/shm)
// and a real /sys file in the same run. Targets: <= 150 us per open+read+close from Node, and a shell `cat` within
// 1.3x of a tmpfs `cat`. The mount is the tests' demo tree, served by a child process: a process must never read its
// own mount synchronously (platform notes). Two FUSE nodes: `type`, a constant (its exact length in st_size), and
// `vms/3/name`, a live value (a page in st_size, so Node's readFile asks once more for end of file).
// Rounds are interleaved across the four files so that background load hits them alike; each figure is given as the
// median of the rounds with the best and worst round, and ratios and differences are taken within each round.
// Run: npm run bench -- sysfs-read   (or node dist/bench/sysfs-read.bench.js)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoMount } from '../test/fs/demo-mount.js';
import { percentile, report } from './measure.js';

const NODE_READS = 2_000;
const SHELL_CATS = 200;
const ROUNDS = 7;
const NODE_TARGET_US = 150;
const CAT_TARGET_RATIO = 1.3;
const SYS_CANDIDATES = ['/sys/devices/system/cpu/online', '/sys/kernel/mm/transparent_hugepage/enabled'];

/** Microseconds per open+read+close with readFileSync, for one round. */
function nodeRound(path: string): number {
  const start = performance.now();
  for (let i = 0; i < NODE_READS; i++) readFileSync(path);
  return ((performance.now() - start) * 1000) / NODE_READS;
}

/** Microseconds per `cat` run from one shell loop, for one round. */
function shellRound(path: string): number {
  const loop = `i=0; while [ $i -lt ${SHELL_CATS} ]; do cat "$1" > /dev/null; i=$((i+1)); done`;
  const start = performance.now();
  const run = spawnSync('sh', ['-c', loop, 'sh', path], { stdio: 'ignore' });
  if (run.status !== 0) throw new Error(`cat ${path} failed`);
  return ((performance.now() - start) * 1000) / SHELL_CATS;
}

/** Every round's figure per file, rounds interleaved across the files (after one warm-up round each). */
function rounds(files: Record<string, string>, round: (path: string) => number): Record<string, number[]> {
  const figures: Record<string, number[]> = Object.fromEntries(Object.keys(files).map((name) => [name, []]));
  for (const path of Object.values(files)) round(path);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, path] of Object.entries(files)) figures[name]!.push(round(path));
  }
  return figures;
}

interface Spread {
  readonly median: number;
  readonly best: number;
  readonly worst: number;
}

function spread(samples: readonly number[]): Spread {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: percentile(sorted, 50), best: sorted[0]!, worst: sorted[sorted.length - 1]! };
}

/** a/b taken round by round, so that a slow spell of the machine cancels out. */
function ratios(a: readonly number[], b: readonly number[]): Spread {
  return spread(a.map((x, i) => x / b[i]!));
}

/** a-b taken round by round: what FUSE adds to a `cat`, which a busy machine hides in the ratio by slowing forks. */
function differences(a: readonly number[], b: readonly number[]): Spread {
  return spread(a.map((x, i) => x - b[i]!));
}

const show = (s: Spread, digits: number, unit = ''): string =>
  `${s.median.toFixed(digits)}${unit} (${s.best.toFixed(digits)}..${s.worst.toFixed(digits)})`;

function verdict(median: number, best: number, limit: number): string {
  if (median <= limit) return 'met';
  return best <= limit ? 'met by the best round only' : 'not met';
}

async function main(): Promise<void> {
  const base = mkdtempSync(join(tmpdir(), 'gunyah-bench-sysfs-'));
  const tmpfsFile = join('/dev/shm', `gunyah-bench-${process.pid}`);
  const sysFile = SYS_CANDIDATES.find((path) => existsSync(path));
  if (sysFile === undefined) throw new Error(`none of ${SYS_CANDIDATES.join(', ')} exists`);
  writeFileSync(tmpfsFile, 'gunyah\n');
  const server = await startDemoMount(join(base, 'hypervisor'));
  try {
    const fuseFiles = {
      'fuse type (constant)': join(server.dir, 'type'),
      'fuse vms/3/name (live)': join(server.dir, 'vms/3/name'),
    };
    const files: Record<string, string> = { ...fuseFiles, tmpfs: tmpfsFile, [sysFile]: sysFile };
    if (readFileSync(fuseFiles['fuse type (constant)'], 'utf8') !== 'gunyah\n') {
      throw new Error('the mount serves a wrong value');
    }
    const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');
    console.log(`sysfs read: ${ROUNDS} interleaved rounds, the mount served by another process; load ${load()}`);
    console.log('figures: median of the rounds (best..worst round); ratios and differences taken within each round');

    const node = rounds(files, nodeRound);
    for (const [name, samples] of Object.entries(node)) {
      const us = spread(samples);
      const note = name in fuseFiles
        ? `${show(ratios(samples, node.tmpfs!), 1, 'x')} tmpfs, ${show(ratios(samples, node[sysFile]!), 1, 'x')} /sys`
          + `; target <= ${NODE_TARGET_US} us: ${verdict(us.median, us.best, NODE_TARGET_US)}`
        : '';
      report(`Node readFileSync ${name}`, `${show(us, 1)} us/read`, note);
    }

    const shell = rounds(files, shellRound);
    for (const [name, samples] of Object.entries(shell)) {
      let note = '';
      if (name in fuseFiles) {
        const ratio = ratios(samples, shell.tmpfs!);
        note = `${show(ratio, 2, 'x')} tmpfs cat, +${show(differences(samples, shell.tmpfs!), 0)} us; `
          + `target <= ${CAT_TARGET_RATIO}x: ${verdict(ratio.median, ratio.best, CAT_TARGET_RATIO)}`;
      }
      report(`shell cat ${name}`, `${show(spread(samples), 0)} us/cat`, note);
    }
    console.log(`load at the end ${load()}`);
  } finally {
    await server.stop();
    rmSync(tmpfsFile, { force: true });
    rmSync(base, { recursive: true, force: true });
  }
}

await main();
