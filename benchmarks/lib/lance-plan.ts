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
