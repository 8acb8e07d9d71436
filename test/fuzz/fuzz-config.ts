// How much each fuzz test runs. Every property has a fixed seed (a failure prints the seed and the path to replay
// it) and a default number of cases chosen so that the whole test/fuzz directory takes well under 30 s; FUZZ_RUNS
// overrides every default for a long run:
//
//   FUZZ_RUNS=100000 npm test                       the whole suite, fuzz properties 100,000 cases each
//   FUZZ_RUNS=100000 FUZZ_SEED=7 node --test dist/test/fuzz/    only the fuzz tests, another seed
import fc from 'fast-check';

const positive = (name: string): number | undefined => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
};

/** Cases per property: FUZZ_RUNS when set, else the test's default. */
export function fuzzRuns(defaultRuns: number): number {
  return positive('FUZZ_RUNS') ?? defaultRuns;
}

/** The seed of every fuzz property (FUZZ_SEED, else a fixed one): the same seed replays the same cases. */
export const FUZZ_SEED = positive('FUZZ_SEED') ?? 0x6e_5eed;

/** fast-check parameters for a property: the seed, the runs, and no time limit of fast-check's own. */
export function fuzzParams<T>(defaultRuns: number, extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  return { seed: FUZZ_SEED, numRuns: fuzzRuns(defaultRuns), ...extra };
}
