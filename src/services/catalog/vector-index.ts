import * as lancedb from '@lancedb/lancedb';

export type VectorIndexType = 'IVF_PQ' | 'IVF_FLAT' | 'IVF_HNSW_SQ';

/** The index the service builds by itself: recall@10 0.99 at 100k synthetic rows, ~10x faster than a scan. */
export const DEFAULT_INDEX_TYPE: VectorIndexType = 'IVF_HNSW_SQ';

/**
 * Retrain (rebuild) once the table holds this many times the rows the index was trained on:
 * incremental optimizes add rows to the partitions trained then, which grow lopsided and too
 * few for the size, so the probes the plan asks for cover a shrinking share of the rows.
 */
export const RETRAIN_GROWTH = 2;

/**
 * How a vector index was built, recorded in its name (`vector_ivf_hnsw_sq_p24_t100000`), so
 * the plan travels with the index in the manifest: every process, every version, and a restore
 * see the plan of the index they search, with no file beside it to keep in step.
 */
export interface IndexPlan {
  type: VectorIndexType;
  partitions: number;
  /** Rows in the table when the index was trained. */
  trainedRows: number;
}

/** How a query searches an index built to a plan. */
export interface QueryPlan {
  nprobes: number;
  /** HNSW candidate-list size; unset for other types. */
  ef?: number;
  refineFactor: number;
}

/**
 * The plan for `rows` rows. HNSW partitions are large (a graph each, ~4,000 rows): a probe
 * costs a graph walk instead of a scan, and few partitions keep the probes a wide share of the
 * rows. IVF_PQ and IVF_FLAT follow Lance's guidance of about √rows partitions.
 */
export function planIndex(type: VectorIndexType, rows: number): IndexPlan {
  const partitions =
    type === 'IVF_HNSW_SQ'
      ? Math.max(1, Math.round(rows / 4096))
      : Math.max(1, Math.min(Math.round(Math.sqrt(rows)), Math.floor(rows / 256)));
  return { type, partitions, trainedRows: rows };
}

/** The Lance configuration for a plan over `dimension`-d vectors, by cosine distance. */
export function indexConfig(plan: IndexPlan, dimension: number): lancedb.Index {
  const { partitions: numPartitions } = plan;
  if (plan.type === 'IVF_FLAT') return lancedb.Index.ivfFlat({ numPartitions, distanceType: 'cosine' });
  if (plan.type === 'IVF_HNSW_SQ') return lancedb.Index.hnswSq({ numPartitions, distanceType: 'cosine' });
  // Sub-vectors of 4 dimensions: at 16 (32 sub-vectors for 512-d) the PQ codes cap recall@10
  // near 0.62 on clustered data whatever nprobes and refine do; at 4 it reaches 0.95 with refine 5.
  const numSubVectors = dimension % 4 === 0 ? dimension / 4 : dimension % 2 === 0 ? dimension / 2 : dimension;
  return lancedb.Index.ivfPq({ numPartitions, numSubVectors, distanceType: 'cosine' });
}

/**
 * Probes a quarter of the partitions (at least 8, or all), for data less neatly clustered than
 * the benchmark's. Every plan refines: hits are re-ranked on their full vectors, so distances
 * are exact whatever the index quantises.
 */
export function queryPlan(plan: IndexPlan | null, limit: number): QueryPlan {
  if (!plan) return { nprobes: 20, refineFactor: 10 }; // an index this service did not build
  const nprobes = Math.min(plan.partitions, Math.max(8, Math.ceil(plan.partitions / 4)));
  // HNSW: the candidate list (ef) is the lever, not nprobes; Lance's default ef (1.5 x limit)
  // gave recall@10 0.72 at 100k rows. At ef 100: a refine of 2 or of 5 gives 0.995, of 1 (or none)
  // 0.967. Each refined candidate is one ranged read of its vector, so on object storage 2 costs
  // 30 fewer reads per query than 5 (the sweep in benchmarks/results/scale.md).
  if (plan.type === 'IVF_HNSW_SQ') return { nprobes, ef: Math.max(100, 10 * limit), refineFactor: 2 };
  return { nprobes, refineFactor: plan.type === 'IVF_PQ' ? 5 : 1 };
}

const NAME = /^vector_(ivf_pq|ivf_flat|ivf_hnsw_sq)_p(\d+)_t(\d+)$/;

export function indexName(plan: IndexPlan): string {
  return `vector_${plan.type.toLowerCase()}_p${plan.partitions}_t${plan.trainedRows}`;
}

/** The plan an index name records; null for an index this service did not name. */
export function parseIndexName(name: string): IndexPlan | null {
  const match = NAME.exec(name);
  if (!match) return null;
  return {
    type: match[1]!.toUpperCase() as VectorIndexType,
    partitions: Number(match[2]),
    trainedRows: Number(match[3]),
  };
}

/** True when the index should be trained again for `rows` rows (also when its plan is unknown). */
export function needsRetrain(plan: IndexPlan | null, rows: number): boolean {
  return !plan || rows >= plan.trainedRows * RETRAIN_GROWTH;
}
