/**
 * The write primitives of the dataset: each call is one Lance commit (or a few), with no queue,
 * no dedupe and no retry. They are the {@link CatalogWriter}'s alone: `ImageCatalog.open` hands
 * them out once beside the catalog, and the writer is the only holder, so "every commit through
 * the one writer" is held by types. Every version committed here is reported to the version
 * handles, so this process reads its own writes.
 */
import * as lancedb from '@lancedb/lancedb';
import { toLanceRow, type NewImageRow } from './image-record.js';
import { idIn } from './image-filter.js';
import type { IndexInfo } from './dataset-description.js';
import { allFragments, inFragments, planCompaction, planFold, tailFragments } from './tail-fold.js';
import { extraCopiesFilter, type IdCopy } from './duplicates.js';
import type { VersionHandles } from './version-handles.js';

/** What {@link TableWrites.createIndex} builds: the index's name and its type as Lance reports it. */
export interface IndexBuild {
  column: string;
  config: lancedb.Index;
  name: string;
  type: string;
}

/** The most rows Lance writes to one fragment (its default `max_rows_per_file`). */
const LANCE_FRAGMENT_ROWS = 1_048_576;

export class TableWrites {
  constructor(
    private readonly handles: VersionHandles,
    /** Index builds in progress in this process, by index name (the description shows them BUILDING). */
    private readonly builds: Map<string, IndexInfo>,
  ) {}

  /** The handle appends and deletes go through (see {@link VersionHandles.writable}). */
  private get writable(): lancedb.Table {
    return this.handles.writable;
  }

  async append(rows: readonly NewImageRow[]): Promise<number> {
    const table = lancedb.makeArrowTable(rows.map(toLanceRow), { schema: await this.writable.schema() });
    return this.handles.committed((await this.writable.add(table)).version);
  }

  async deleteIds(ids: readonly string[]): Promise<number> {
    return this.handles.committed((await this.writable.delete(idIn(ids))).version);
  }

  /**
   * Folds the newest small fragments into one, as often as the size-tiered plan asks (see
   * tail-fold.ts). Returns the versions committed, oldest first (none when there was nothing to fold).
   */
  async foldTail(): Promise<number[]> {
    const versions: number[] = [];
    for (;;) {
      // On the writable handle, at the version the writer just refreshed to, and from the bucket:
      // these rows become the stored copy, so they are not read from local files.
      const fold = planFold(await tailFragments(this.writable));
      if (!fold) return versions;
      // An update that sets a column to itself: Lance rewrites the rows the filter selects, in
      // their order, as one new fragment, and drops the fragments left with no live rows. The
      // filter is on the rows' addresses, which Lance selects without reading the other fragments:
      // 25 ms at a million rows, where a merge-insert by id read every id of the table (240-330 ms,
      // and it could not use the id index, which does not see `target._rowaddr`). A copy of an id
      // elsewhere (two replicas stored the same image at once, until the repair) is not touched.
      const result = await this.writable.update({ where: inFragments(fold, '_rowaddr'), valuesSql: { id: 'id' } });
      versions.push(this.handles.committed(result.version));
    }
  }

  /**
   * Folds the newest fragments that together hold at most `maxRows` rows into one (tail-fold.ts
   * {@link planCompaction}), in one commit; the version made, or null when there was nothing to
   * fold. Lance writes at most 1,048,576 rows to a fragment: past that a fold would leave two.
   */
  async compact(maxRows: number): Promise<number | null> {
    const fold = planCompaction(await allFragments(this.writable), Math.min(maxRows, LANCE_FRAGMENT_ROWS));
    if (!fold) return null;
    // The fold's update, as in foldTail above.
    const result = await this.writable.update({ where: inFragments(fold, '_rowaddr'), valuesSql: { id: 'id' } });
    return this.handles.committed(result.version);
  }

  /** Deletes the extra copies of duplicate ids, keeping the `kept` ones (the repair, duplicates.ts). */
  async deleteCopies(extra: readonly IdCopy[], kept: ReadonlyMap<string, IdCopy>): Promise<number> {
    return this.handles.committed((await this.writable.delete(extraCopiesFilter(extra, kept))).version);
  }

  /**
   * Builds (or replaces) an index on a handle of its own: appends go on through the writable
   * handle meanwhile, and this handle's version afterwards is the index's, not a later append's.
   * Other indices on the column (an earlier plan's, under another name) are dropped once the new
   * one is committed, so searches always have one. Returns the versions committed, oldest first.
   */
  async createIndex(build: IndexBuild): Promise<number[]> {
    const { column, config, name, type } = build;
    this.builds.set(name, {
      name,
      type,
      columns: [column],
      unindexedRows: null,
      state: 'BUILDING',
      startedAt: new Date(),
    });
    const handle = await this.handles.openWritable();
    try {
      await handle.createIndex(column, { config, name, replace: true });
      const versions = [this.handles.committed(await handle.version())];
      for (const old of await handle.listIndices()) {
        if (old.name === name || !old.columns.includes(column)) continue;
        await handle.dropIndex(old.name);
        versions.push(this.handles.committed(await handle.version()));
      }
      return versions;
    } finally {
      this.builds.delete(name);
      handle.close();
    }
  }

  /**
   * Lance's own optimize, on a handle of its own: compacts every fragment under 1,048,576 rows
   * with its indexed neighbours (the whole table below a million rows) and merges unindexed rows
   * into the indices. Only for a user's `optimizeDataset`; the upkeep compacts and reindexes in
   * bounded steps. Lance commits this as several versions; the last one is returned.
   */
  async optimize(): Promise<{ version: number; stats: lancedb.OptimizeStats }> {
    const handle = await this.handles.openWritable();
    try {
      // cleanupOlderThan in the distant past: time travel keeps every version.
      const stats = await handle.optimize({ cleanupOlderThan: new Date(0) });
      return { version: this.handles.committed(await handle.version()), stats };
    } finally {
      handle.close();
    }
  }

  /** Commits `version`'s content as a new latest version. */
  async restore(version: number): Promise<number> {
    // A fresh handle on the write connection: restore() moves the handle it runs on (pinned
    // readers are shared), and it commits.
    const handle = await this.handles.openWritable(version);
    await handle.restore();
    const restored = this.handles.committed(await handle.version());
    handle.close();
    return restored;
  }

  /** A version another replica committed for this one (append-relay.ts): its readers see it from now on. */
  committedElsewhere(version: number): number {
    return this.handles.committed(version);
  }

  /** Moves the writable handle to the latest version committed by anyone, and returns it. */
  async refresh(): Promise<number> {
    await this.writable.checkoutLatest();
    return this.writable.version();
  }
}
