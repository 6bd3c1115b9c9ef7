import type { Query, VectorQuery } from '@lancedb/lancedb';

/**
 * DataFusion prints counters in thousands (K, M, B, T), not binary units: `bytes_read=4.13 M` is
 * 4.13 million bytes.
 */
const COUNT_UNITS: Record<string, number> = { '': 1, K: 1e3, M: 1e6, B: 1e9, T: 1e12 };

/** Sum of `bytes_read` over every Lance read in an `analyzePlan()` output (a search has two). */
export function bytesReadIn(plan: string): number {
  let total = 0;
  for (const match of plan.matchAll(/bytes_read=([\d.]+)\s?([KMBT]?)\b/g)) {
    total += Number(match[1]) * COUNT_UNITS[match[2] ?? '']!;
  }
  return total;
}

/** Runs the query under Lance's analyzer and returns the bytes it read from storage. */
export async function bytesRead(query: Query | VectorQuery): Promise<number> {
  return bytesReadIn(await query.analyzePlan());
}

/** Where a vector search's time went, in milliseconds, from one `analyzePlan()`; NaN for a stage the plan lacks. */
export interface SearchStages {
  /** Ranking the IVF centroids to pick the partitions to probe. */
  partitions: number;
  /** Walking the probed partitions' graphs (or scanning them), up to the candidate list. */
  index: number;
  /** Reading the candidates' full vectors and re-ranking them (the refine step). */
  refine: number;
  /** Reading the selected columns of the hits. */
  hits: number;
  total: number;
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, µs: 1e-3, ms: 1, s: 1e3 };

/**
 * The stages of a vector search from its analyzed plan. Each operator's `elapsed` is wall time
 * including its inputs, so a stage is the difference between an operator and the one it reads
 * from: centroids (ANNIvfPartition), graphs (ANNSubIndex less its input), refine
 * (KNNVectorDistance less ANNSubIndex), hit columns (the whole less GlobalLimitExec).
 */
export function searchStages(plan: string): SearchStages {
  const elapsed = new Map<string, number>();
  for (const line of plan.split('\n')) {
    const match = /^\s*(\w+)\b.*?\belapsed=([\d.]+)(ns|µs|ms|s)\b/.exec(line);
    if (match && !elapsed.has(match[1]!)) elapsed.set(match[1]!, Number(match[2]) * UNIT_MS[match[3]!]!);
  }
  const at = (name: string) => elapsed.get(name) ?? NaN;
  const total = at('AnalyzeExec');
  return {
    partitions: at('ANNIvfPartition'),
    index: at('ANNSubIndex') - at('ANNIvfPartition'),
    refine: at('KNNVectorDistance') - at('ANNSubIndex'),
    hits: total - at('GlobalLimitExec'),
    total,
  };
}
