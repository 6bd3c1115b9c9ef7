import type { LatencySummary } from '../lib/stats.js';
import type { Traffic } from './traffic.js';

/** Every figure the storage benchmark reports, in table order. */
export const OPERATIONS = {
  'append-1': 'append 1 photo (`uploadAll`, total)',
  'append-1-embed': '… of which embedding',
  'append-1-put': '… of which object PUT',
  'append-1-catchup': '… of which writer catch-up to the latest version',
  'append-1-commit': '… of which Lance commit',
  'append-batch': 'append a batch of photos (one `uploadAll`, total)',
  'append-batch-embed': '… of which embedding',
  'append-batch-put': '… of which object PUTs (concurrent)',
  'append-batch-catchup': '… of which writer catch-up to the latest version',
  'append-batch-commit': '… of which Lance commit',
  'search-text': 'text search, flat, warm (new text each time)',
  'search-cached': 'text search, result-cache hit',
  'cold-open': 'cold open: connect + openTable + first vector search',
  'cold-start': 'cold start: `startServices` (model loaded) + first text search',
} as const;

export type OperationId = keyof typeof OPERATIONS;

/** Parts are timed inside a whole operation, so they have no traffic of their own. */
export function isPart(id: OperationId): boolean {
  return /-(embed|put|catchup|commit)$/.test(id);
}

export interface OperationResult {
  id: OperationId;
  latency: LatencySummary;
  /** every sample in milliseconds, in run order */
  samples: number[];
  /** per iteration; null where no proxy counted (local disk, real endpoints, parts) */
  traffic: Traffic | null;
  /** appends only: Lance versions created per iteration (1 = one group commit, as designed) */
  versionsPerIteration?: number;
}

/** Sizes and repetitions of one run. */
export interface Plan {
  /** synthetic rows the dataset holds before anything is measured */
  rows: number;
  appendOne: number;
  appendBatches: number;
  batchSize: number;
  searches: number;
  coldOpens: number;
  coldStarts: number;
}

export const FULL_PLAN: Plan = {
  rows: 1000,
  appendOne: 20,
  appendBatches: 10,
  batchSize: 32,
  searches: 50,
  coldOpens: 10,
  coldStarts: 10,
};

export const QUICK_PLAN: Plan = {
  rows: 1000,
  appendOne: 4,
  appendBatches: 2,
  batchSize: 8,
  searches: 8,
  coldOpens: 2,
  coldStarts: 2,
};
