import { performance } from 'node:perf_hooks';

/** Latency figures of one series of samples, in milliseconds. */
export interface LatencySummary {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile: an actual sample, never an interpolation between two. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarise(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const total = sorted.reduce((sum, x) => sum + x, 0);
  return {
    n: sorted.length,
    mean: sorted.length ? total / sorted.length : NaN,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    min: sorted[0] ?? NaN,
    max: sorted.at(-1) ?? NaN,
  };
}

/** Runs `fn` and returns its result with the milliseconds it took. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

/** Runs `fn` once per item, one at a time, and returns each call's milliseconds. */
export async function sequentialLatencies<T>(
  items: readonly T[],
  fn: (item: T) => Promise<unknown>,
): Promise<number[]> {
  const samples: number[] = [];
  for (const item of items) samples.push((await timed(() => fn(item))).ms);
  return samples;
}

/**
 * Runs `fn` over `items` with `workers` concurrent clients, each taking the next item when its
 * previous call finishes (a closed loop, like real clients waiting for their answers).
 * `samples[i]` is the latency of `items[i]`.
 */
export async function concurrentLatencies<T>(
  items: readonly T[],
  workers: number,
  fn: (item: T) => Promise<unknown>,
): Promise<{ samples: number[]; wallMs: number }> {
  const samples: number[] = new Array<number>(items.length);
  let next = 0;
  const client = async () => {
    while (next < items.length) {
      const index = next++;
      samples[index] = (await timed(() => fn(items[index]!))).ms;
    }
  };
  const { ms } = await timed(() => Promise.all(Array.from({ length: workers }, client)));
  return { samples, wallMs: ms };
}

/** Starts every call at once (a burst of simultaneous requests) and returns each one's milliseconds. */
export async function burstLatencies<T>(
  items: readonly T[],
  fn: (item: T) => Promise<unknown>,
): Promise<{ samples: number[]; wallMs: number }> {
  const { value, ms } = await timed(() => Promise.all(items.map((item) => timed(() => fn(item)))));
  return { samples: value.map((call) => call.ms), wallMs: ms };
}
