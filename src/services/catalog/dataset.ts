import * as lancedb from '@lancedb/lancedb';
import type { Logger } from 'pino';
import type { ImageCatalog, DatasetInfo } from './catalog.js';
import type { IndexInfo } from './dataset-description.js';
import type { IndexBuild } from './table-writes.js';
import type { VersionInfo } from './dataset-history.js';
import type { MaintenanceLease } from './maintenance-lease.js';
import { ImageNotFoundError } from '../search.js';
import type { CatalogWriter, DeleteOutcome } from './writer.js';
import { MAX_FOLDED_ROWS } from './tail-fold.js';
import {
  DEFAULT_INDEX_TYPE,
  indexConfig,
  indexName,
  needsRetrain,
  parseIndexName,
  planIndex,
  type VectorIndexType,
} from './vector-index.js';

export type { VectorIndexType } from './vector-index.js';

/** Lance's names of the index types, as `Dataset.indexDetails` reports them. */
const LANCE_TYPE: Record<VectorIndexType, string> = {
  IVF_PQ: 'IvfPq',
  IVF_FLAT: 'IvfFlat',
  IVF_HNSW_SQ: 'IvfHnswSq',
};

/**
 * The id index: every read by id, every delete and the writer's duplicate check look ids up. A
 * function, as are the ones below: Lance consumes an index configuration when it builds with it
 * ("attempt to use an index more than once"), so each build needs a fresh one.
 */
const idIndex = (): IndexBuild => ({ column: 'id', config: lancedb.Index.btree(), name: 'id_idx', type: 'BTree' });

/**
 * Scalar indices for filters, where they pay (benchmarks/results/filters.md): a bitmap for the
 * handful of content types, B-trees for the upload time and the size. Width and height ranges,
 * and file-name substrings (which neither index serves), are scanned.
 */
export const scalarIndices = (): IndexBuild[] => [
  { column: 'content_type', config: lancedb.Index.bitmap(), name: 'content_type_idx', type: 'Bitmap' },
  { column: 'created_at', config: lancedb.Index.btree(), name: 'created_at_idx', type: 'BTree' },
  { column: 'size', config: lancedb.Index.btree(), name: 'size_idx', type: 'BTree' },
];

export interface IndexPolicy {
  /** Build the indices automatically once the dataset has this many rows (below it, scans are cheap). */
  minRows: number;
  /**
   * Index the new rows once this share of rows is unindexed; also the most an upkeep step's
   * compaction rewrites, as a share of the rows.
   */
  maxUnindexedShare: number;
  /** Compact once this many small fragments pile up (each append makes one; reads slow with their count). */
  maxSmallFragments: number;
}

/**
 * Dataset-level rules: deletes, restores and index upkeep. This service decides when to build
 * an index, with what parameters, and when to compact; the {@link CatalogWriter} commits all of
 * it (builds and optimizes beside its queue, so uploads do not wait for them).
 *
 * Of several replicas on one dataset, only the one holding the {@link MaintenanceLease} runs the
 * upkeep: after its own commits, and for the others' as its refresh sees them (every third of the
 * lease's term it looks whether the dataset moved). The others skip it, and look at the lease once
 * a third of its term until they have run the upkeep themselves, so as to take over when the
 * holder stops renewing. The holder renews only while it has upkeep to do: on an idle dataset its
 * term lapses, at most one other replica takes the lease to find nothing to do, and then no
 * replica makes a request for it.
 *
 * An index build or optimize a user asks for (createVectorIndex, optimizeDataset) runs on the
 * replica asked, lease or not: it is rare and deliberate, refusing it would leave a user behind a
 * load balancer unable to run it at all, and Lance's commit protocol keeps it safe beside the
 * holder's upkeep (at worst one of the two is wasted and fails with a conflict).
 */
export class DatasetService {
  private maintaining: Promise<void> | null = null;
  /** The latest version when this process last ran the upkeep (holding the lease). */
  private maintainedVersion = 0;
  private upkeepTimer: NodeJS.Timeout | undefined;
  /**
   * Vector index builds (by index name, which records the plan and so the rows it is for) and
   * optimizes asked for and not done yet: a request for the same work shares it, whether it is
   * queued or running, instead of running it again after it.
   */
  private readonly inProgress = new Map<string, Promise<DatasetInfo>>();

  constructor(
    private readonly catalog: ImageCatalog,
    private readonly writer: CatalogWriter,
    private readonly policy: IndexPolicy,
    private readonly logger: Logger,
    private readonly lease: MaintenanceLease,
  ) {}

  /**
   * Looks every `everyMs` (a third of the lease's term) whether upkeep is due for commits this
   * process did not make, and keeps the lease through a long pass.
   */
  startUpkeep(everyMs: number): void {
    this.upkeepTimer = setInterval(() => void this.tick(), everyMs).unref();
  }

  /** Stops the upkeep, waits for a pass in progress, and gives the lease up for another replica. */
  async stop(): Promise<void> {
    clearInterval(this.upkeepTimer);
    await this.idle();
    await this.lease.release();
  }

  private async tick(): Promise<void> {
    try {
      if (this.maintaining) await this.lease.hold();
      else if ((await this.catalog.version()) > this.maintainedVersion) await this.maintain();
    } catch (error) {
      this.logger.warn({ err: error }, 'looking for upkeep to do failed');
    }
  }

  /** The vector index type the service builds by itself (and createVectorIndex without a type). */
  get defaultIndexType(): VectorIndexType {
    return DEFAULT_INDEX_TYPE;
  }

  async delete(id: string): Promise<DeleteOutcome> {
    const outcome = await this.writer.delete(id);
    if (!outcome.deleted) throw new ImageNotFoundError(`no image with id ${id}`);
    return outcome;
  }

  async restore(version: number): Promise<VersionInfo> {
    return this.catalog.versionInfo(await this.writer.restore(version));
  }

  /**
   * Builds (or replaces) the vector index, planned for the rows there are now; the plan (and
   * so the row count it was trained on) is recorded in the index's name. Searches go on with
   * the previous index, or a scan, until it is committed; `Dataset.indexDetails` shows it BUILDING.
   */
  async createVectorIndex(type: VectorIndexType = DEFAULT_INDEX_TYPE): Promise<DatasetInfo> {
    const { rows, dimension } = await this.catalog.vectors();
    if (rows < 256)
      throw new IndexTooSmallError(`a vector index needs at least 256 rows to train on; the dataset has ${rows}`);
    const plan = planIndex(type, rows);
    const name = indexName(plan);
    return this.once(name, async () => {
      const build = { column: 'vector', config: indexConfig(plan, dimension), name, type: LANCE_TYPE[type] };
      this.logger.info({ ...plan, name }, 'vector index build started');
      const started = Date.now();
      const version = await this.writer.buildIndex(build);
      this.logger.info({ ...plan, name, version, ms: Date.now() - started }, 'vector index built');
      await this.prewarm();
      return this.catalog.describe();
    });
  }

  /**
   * Builds the id and filter indices `version` lacks, as the upkeep does once the dataset has
   * INDEX_MIN_ROWS rows; the indices of `version` as they were before.
   */
  async buildScalarIndices(version?: number): Promise<IndexInfo[]> {
    const indices = await this.catalog.indices(version);
    for (const build of [idIndex(), ...scalarIndices()]) {
      if (!indices.some((i) => i.columns.includes(build.column))) await this.writer.buildIndex(build);
    }
    return indices;
  }

  /** Compacts small fragments and adds new rows to the indices. Old versions are kept. */
  optimize(): Promise<DatasetInfo> {
    return this.once('optimize', async () => {
      const started = Date.now();
      const stats = await this.writer.optimize();
      this.logger.info({ ms: Date.now() - started, compaction: stats.compaction }, 'dataset optimized');
      await this.prewarm();
      return this.catalog.describe();
    });
  }

  /** Runs `work` unless the same work is in progress, and shares it (see {@link inProgress}). */
  private once(key: string, work: () => Promise<DatasetInfo>): Promise<DatasetInfo> {
    let pending = this.inProgress.get(key);
    if (!pending) {
      pending = work().finally(() => this.inProgress.delete(key));
      this.inProgress.set(key, pending);
    }
    return pending;
  }

  /**
   * Loads the indices of the latest version into memory: at start-up before the service reports
   * ready, and after every build and optimize (their index files are new, and cold). A failure
   * only costs the first searches their speed, so it is logged, not thrown.
   */
  async prewarm(): Promise<void> {
    const started = Date.now();
    try {
      const names = await this.catalog.prewarm();
      if (names.length > 0) this.logger.info({ indices: names, ms: Date.now() - started }, 'indices prewarmed');
    } catch (error) {
      this.logger.warn({ err: error }, 'prewarming the indices failed; the first searches will load them');
    }
  }

  /**
   * After commits: fold the newest small fragments (tail-fold.ts), fold the newest fragments up
   * to a tenth of the rows when small fragments pile up all the same and, once the dataset is
   * big enough for scans to cost, build the id, filter and vector indices if missing and reindex
   * when too many rows are unindexed. No step rewrites more than a tenth of the rows. One pass
   * at a time, on the replica that holds the lease.
   */
  maintain(): Promise<void> {
    this.maintaining ??= this.maintainIfHeld()
      .catch((error: unknown) =>
        this.logger.warn({ err: error }, 'index maintenance failed; will retry after the next commit'),
      )
      .finally(() => (this.maintaining = null));
    return this.maintaining;
  }

  /** Waits for a maintenance pass in progress, if any. */
  async idle(): Promise<void> {
    await this.maintaining;
  }

  private async maintainIfHeld(): Promise<void> {
    const version = await this.catalog.version();
    if (!(await this.lease.hold())) return;
    this.maintainedVersion = version;
    await this.maintainOnce();
  }

  private async maintainOnce(): Promise<void> {
    let version = await this.catalog.version();
    // The newest small fragments first: folding them costs a few rows, not the whole table. Planned
    // here on the reader (local files when mirrored), and again by the writer on the latest version.
    if (await this.catalog.tailToFold(version)) {
      try {
        const folded = await this.writer.fold();
        if (folded !== null) {
          this.logger.info({ version: folded }, 'folded the newest fragments');
          version = await this.catalog.version();
        }
      } catch (error) {
        // Such as a commit conflict with another replica's write: the rest of the upkeep goes on.
        this.logger.warn({ err: error }, 'folding the newest fragments failed; the next commit tries again');
      }
    }
    const { rows, smallFragments } = await this.catalog.fragments(version);
    if (smallFragments > this.policy.maxSmallFragments) await this.compact(rows);
    if (rows < this.policy.minRows) return;
    const indices = await this.buildScalarIndices(version);
    // An index planned for far fewer rows (or by someone else, plan unknown) is trained again, as
    // the same type when its plan names one.
    const vector = indices.find((i) => i.columns.includes('vector'));
    const plan = vector && parseIndexName(vector.name);
    if (!vector || needsRetrain(plan ?? null, rows)) {
      await this.createVectorIndex(plan?.type ?? DEFAULT_INDEX_TYPE);
      return;
    }
    const unindexed = Math.max(...indices.map((i) => i.unindexedRows ?? 0));
    if (unindexed > rows * this.policy.maxUnindexedShare) await this.reindex(rows, plan?.type ?? DEFAULT_INDEX_TYPE);
  }

  /**
   * Brings the rows the indices lack into them, in steps that cost what they rewrite: folds the
   * newest fragments, at most a tenth of the rows (they are indexed right after), then builds
   * every index anew over all rows, the vector index trained for the rows there are now.
   *
   * Not Lance's `optimize()`, the only index update LanceDB's Node API offers: its compaction
   * takes no target size, so once the indices cover every fragment it rewrote the whole table
   * below a million rows, and its merge of new rows into the vector index took longer than a
   * build. `npm run bench -- upkeep --rows 1000000` (benchmarks/results/upkeep-1000000.md), 13%
   * more rows twice: optimize took 433 and 489 s and rewrote 130,000 rows, then the whole table
   * (1,280,000); this took 238 and 264 s, no step past 9.7% of the table.
   */
  private async reindex(rows: number, type: VectorIndexType): Promise<void> {
    await this.compact(rows);
    for (const build of [idIndex(), ...scalarIndices()]) await this.writer.buildIndex(build);
    await this.createVectorIndex(type);
  }

  /** Folds the newest fragments, at most a tenth of the rows, into one (tail-fold.ts). */
  private async compact(rows: number): Promise<void> {
    const started = Date.now();
    const maxRows = Math.max(MAX_FOLDED_ROWS, Math.floor(rows * this.policy.maxUnindexedShare));
    const version = await this.writer.compact(maxRows);
    if (version !== null) this.logger.info({ version, maxRows, ms: Date.now() - started }, 'compacted');
  }
}

/** The dataset has too few rows to train a vector index. */
export class IndexTooSmallError extends Error {}
