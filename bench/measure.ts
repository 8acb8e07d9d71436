// Shared measuring helpers for the benchmarks: rates from the best of several timed rounds, so background noise
// on a shared machine lowers a figure less often than it raises it.

/** Calls per second of `fn`, which runs `inner` operations per call: the best of `rounds` rounds. */
export const rate = (fn: () => void, inner: number, rounds = 7, minMs = 150): number => rates([fn], inner, rounds, minMs)[0]!;

/**
 * Rates of several functions measured in interleaved rounds (round-robin, best round of each), so a change in
 * machine speed during the run moves every figure alike and the ratios between them stay fair.
 */
export function rates(fns: readonly (() => void)[], inner: number, rounds = 9, minMs = 100): number[] {
  for (const fn of fns) for (let i = 0; i < 3; i++) fn();
  const best = fns.map(() => 0);
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, k) => {
      let calls = 0;
      const start = performance.now();
      let elapsed = 0;
      do {
        fn();
        calls++;
        elapsed = performance.now() - start;
      } while (elapsed < minMs);
      best[k] = Math.max(best[k]!, (calls * inner * 1000) / elapsed);
    });
  }
  return best;
}

/** Percentile of a sorted-in-place array of numbers. */
export function percentile(samples: number[], p: number): number {
  samples.sort((a, b) => a - b);
  return samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))]!;
}

export const fmt = (n: number, digits = 1): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(digits)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(digits)} k` : n.toFixed(digits);

/** Print one result line and return it for RESULTS.md. */
export function report(name: string, value: string, note = ''): string {
  const line = `${name.padEnd(58)} ${value.padStart(18)}${note ? '  ' + note : ''}`;
  console.log(line);
  return line;
}
