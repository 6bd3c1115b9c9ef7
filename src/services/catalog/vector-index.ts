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

/** Partitions an HNSW query probes, whatever the table's size (all, when the index has fewer). */
export const HNSW_PROBES = 8;

/**
 * HNSW: a fixed number of probes, not a share of the partitions. `planIndex` keeps its
 * partitions near 4,096 rows at every size, so a query's neighbourhood spans about as many
 * partitions at 1M rows as at 100k, and each probe is a graph walk of about the same size. A
 * quarter of the partitions walked 61 graphs per query at 1M rows for no recall: on the scale
 * benchmark's data (benchmarks/results/plan-sweep.md, LanceDB 0.39, refine 2, ef 100) 4, 8, 16
 * and 61 probes all gave recall@10 0.89 at 1M rows, while p50 grew from 12.5 ms (8) to 31 ms (61).
 *
 * HNSW's candidate list (ef) is what recall follows as the table grows and each graph holds
 * denser neighbours: at 8 probes, ef 100 gave 0.999 at 100k rows but 0.890 at 1M; ef 300 gave
 * 1.000 and 0.988, at p50 10.2 and 15.1 ms side by side (1.5x for 10x the rows), where ef 200
 * gave 0.969 at 1M and ef 400 0.992 for half a ms more. 300 is also the ef the graphs are built
 * with (LanceDB's efConstruction), which Lance advises a search's ef not to exceed.
 *
 * Every plan refines: hits are re-ranked on their full vectors, so distances are exact whatever
 * the index quantises. HNSW hands on limit x refine candidates per partition; at ef 300 a refine
 * of 1 (none) gave 0.964 at 100k and 0.948 at 1M, 2 gave 1.000 and 0.988. Each refined candidate
 * is one ranged read of its vector, so on object storage 2 costs 30 fewer reads per query than 5.
 *
 * IVF_PQ and IVF_FLAT, whose partitions follow √rows, probe a quarter of them (at least 8).
 */
export function queryPlan(plan: IndexPlan | null, limit: number): QueryPlan {
  if (!plan) return { nprobes: 20, refineFactor: 10 }; // an index this service did not build
  if (plan.type === 'IVF_HNSW_SQ') {
    return { nprobes: Math.min(plan.partitions, HNSW_PROBES), ef: Math.max(300, 10 * limit), refineFactor: 2 };
  }
  const nprobes = Math.min(plan.partitions, Math.max(8, Math.ceil(plan.partitions / 4)));
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
