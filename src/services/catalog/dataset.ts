import * as lancedb from '@lancedb/lancedb';
import type { Logger } from 'pino';
import type { ImageCatalog, DatasetInfo } from './catalog.js';
import type { VersionInfo } from './dataset-history.js';
import { ImageNotFoundError } from '../search.js';
import type { CatalogWriter, DeleteOutcome } from './writer.js';

export type VectorIndexType = 'IVF_PQ' | 'IVF_FLAT' | 'IVF_HNSW_SQ';

export interface IndexPolicy {
  /** Build the indices automatically once the dataset has this many rows (below it, scans are cheap). */
  minRows: number;
  /** Fold new rows into the indices once this share of rows is unindexed. */
  maxUnindexedShare: number;
  /** Compact once this many small fragments pile up (each append makes one; reads slow with their count). */
  maxSmallFragments: number;
}

/**
 * Dataset-level rules: deletes, restores and index upkeep. This service decides when to build
 * an index, with what parameters, and when to compact; the {@link CatalogWriter} commits all of
 * it (builds and optimizes beside its queue, so uploads do not wait for them).
 */
export class DatasetService {
  private maintaining: Promise<void> | null = null;

  constructor(
    private readonly catalog: ImageCatalog,
    private readonly writer: CatalogWriter,
    private readonly policy: IndexPolicy,
    private readonly logger: Logger,
  ) {}

  async delete(id: string): Promise<DeleteOutcome> {
    const outcome = await this.writer.delete(id);
    if (!outcome.deleted) throw new ImageNotFoundError(`no image with id ${id}`);
    return outcome;
  }

  async restore(version: number): Promise<VersionInfo> {
    const restored = await this.writer.restore(version);
    const info = (await this.catalog.versions()).find((v) => v.version === restored);
    return { version: restored, timestamp: info?.timestamp ?? new Date(), operation: 'Restore' };
  }

  /** Builds (or replaces) the vector index, sized for the rows there are now. */
  async createVectorIndex(type: VectorIndexType): Promise<DatasetInfo> {
    const { table } = await this.catalog.reader();
    const rows = await table.countRows();
    if (rows < 256)
      throw new IndexTooSmallError(`a vector index needs at least 256 rows to train on; the dataset has ${rows}`);
    const dimension = (await table.schema()).fields.find((f) => f.name === 'vector')!.type.listSize as number;
    // Lance's guidance: about sqrt(rows) partitions, and sub-vectors of 16 or 8 dimensions.
    const numPartitions = Math.max(1, Math.min(Math.round(Math.sqrt(rows)), Math.floor(rows / 256)));
    const numSubVectors = dimension % 16 === 0 ? dimension / 16 : dimension / 8;
    const config =
      type === 'IVF_FLAT'
        ? lancedb.Index.ivfFlat({ numPartitions, distanceType: 'cosine' })
        : type === 'IVF_HNSW_SQ'
          ? lancedb.Index.hnswSq({ numPartitions, distanceType: 'cosine' })
          : lancedb.Index.ivfPq({ numPartitions, numSubVectors, distanceType: 'cosine' });
    const started = Date.now();
    const version = await this.writer.buildIndex('vector', config);
    this.logger.info({ type, rows, numPartitions, version, ms: Date.now() - started }, 'vector index built');
    return this.catalog.describe();
  }

  /** Compacts small fragments and adds new rows to the indices. Old versions are kept. */
  async optimize(): Promise<DatasetInfo> {
    const started = Date.now();
    const stats = await this.writer.optimize();
    this.logger.info({ ms: Date.now() - started, compaction: stats.compaction }, 'dataset optimized');
    return this.catalog.describe();
  }

  /**
   * After commits: compact when small fragments pile up and, once the dataset is big enough for
   * scans to cost, build the id and vector indices if missing and optimize when too many rows
   * are unindexed. One pass at a time.
   */
  maintain(): Promise<void> {
    this.maintaining ??= this.maintainOnce()
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

  private async maintainOnce(): Promise<void> {
    const { table } = await this.catalog.reader();
    const { numRows: rows, fragmentStats } = await table.stats();
    if (fragmentStats.numSmallFragments > this.policy.maxSmallFragments) {
      await this.optimize();
      return;
    }
    if (rows < this.policy.minRows) return;
    const indices = await this.catalog.indices(table);
    if (!indices.some((i) => i.columns.includes('id'))) {
      await this.writer.buildIndex('id', lancedb.Index.btree());
    }
    if (!indices.some((i) => i.columns.includes('vector'))) {
      await this.createVectorIndex('IVF_PQ');
      return;
    }
    const unindexed = Math.max(...indices.map((i) => i.unindexedRows ?? 0));
    if (unindexed > rows * this.policy.maxUnindexedShare) await this.optimize();
  }
}

/** The dataset has too few rows to train a vector index. */
export class IndexTooSmallError extends Error {}
