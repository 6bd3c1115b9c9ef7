/**
 * The catalog's read facade, and its queries: images by id, pages, nearest-neighbour searches,
 * the copies of ids the writer's dedupe looks up, and the ids of a version. The dataset's
 * description and its version handles are delegated to (dataset-description.ts,
 * version-handles.ts). The write primitives (table-writes.ts) are handed out by {@link
 * ImageCatalog.open} beside the catalog, for the {@link CatalogWriter} alone; the catalog itself
 * offers none, and no method here returns a Lance handle.
 */
import { COLUMNS, fromLanceRow, type Column, type ImageRecord } from './image-record.js';
import {
  DatasetDescription,
  type DatasetInfo,
  type DatasetSummary,
  type FragmentFacts,
  type IndexInfo,
} from './dataset-description.js';
import type { VersionInfo } from './dataset-history.js';
import type { IdCopy } from './duplicates.js';
import { filterSql, idIn, type ImageFilter } from './image-filter.js';
import { TableWrites } from './table-writes.js';
import { queryPlan } from './vector-index.js';
import { DATASET_DIR, VersionHandles, type CatalogOptions } from './version-handles.js';

export { DATASET_DIR, TABLE_NAME, UnknownVersionError, type CatalogOptions } from './version-handles.js';
export type { DatasetInfo, DatasetSummary, FragmentFacts, IndexInfo } from './dataset-description.js';
export type { IndexBuild } from './table-writes.js';

export interface SearchHitRecord {
  image: ImageRecord;
  distance: number;
}

/**
 * The Lance dataset of images, as the services read it. Every read names the exact version it
 * came from (version-handles.ts pins one handle per version). Writes are the {@link
 * CatalogWriter}'s alone, through the {@link TableWrites} that {@link open} returns beside this.
 */
export class ImageCatalog {
  /** True when this open recorded the running model in a dataset made before models were recorded. */
  readonly modelAdopted: boolean;
  readonly uri: string;

  private constructor(
    private readonly handles: VersionHandles,
    private readonly description: DatasetDescription,
    modelAdopted: boolean,
  ) {
    this.modelAdopted = modelAdopted;
    this.uri = description.uri;
  }

  /**
   * Opens (or creates) the dataset: the catalog, for reads, and the write primitives, which the
   * caller hands to the one {@link CatalogWriter} (a maintenance tool that writes nothing drops them).
   */
  static async open(options: CatalogOptions): Promise<{ catalog: ImageCatalog; writes: TableWrites }> {
    const { handles, modelAdopted } = await VersionHandles.open(options);
    const uri = `${options.uri.replace(/\/$/, '')}/${DATASET_DIR}`;
    /** Index builds in progress in this process: written by the builds, shown by the description. */
    const builds = new Map<string, IndexInfo>();
    const description = new DatasetDescription(handles, options.objects, uri, builds);
    return { catalog: new ImageCatalog(handles, description, modelAdopted), writes: new TableWrites(handles, builds) };
  }

  /** Bytes Lance's index and metadata caches hold now. */
  cacheBytes(): number {
    return this.handles.cacheBytes();
  }

  /** The latest version, as this process currently sees it. */
  version(): Promise<number> {
    return this.handles.version();
  }

  /**
   * `version`, checked to exist (an {@link UnknownVersionError} if not), or the latest version
   * when omitted: what one request reads throughout. Opens the version's shared handle.
   */
  async resolveVersion(version?: number): Promise<number> {
    return (await this.handles.reader(version)).version;
  }

  /** Checks every file of the mirrored versions against its CRCs now (the mirror also does every 10 minutes). */
  scrubMirror(): Promise<void> {
    return this.handles.scrubMirror();
  }

  /** Loads every index of the latest version into memory (version-handles.ts); returns their names. */
  prewarm(): Promise<string[]> {
    return this.handles.prewarm();
  }

  /** The images with these ids, reading only `columns`; absent ids are missing from the map. */
  async get(ids: readonly string[], columns: readonly Column[], version?: number): Promise<Map<string, ImageRecord>> {
    const found = new Map<string, ImageRecord>();
    if (ids.length === 0) return found;
    const rows = await this.handles.read(version, (table) =>
      table.query().where(idIn(ids)).select(withId(columns)).toArray(),
    );
    for (const row of rows) found.set(String(row.id), fromLanceRow(row));
    return found;
  }

  /**
   * A page of the images that pass `filter`, in storage order (appends keep upload order) or
   * that order reversed.
   */
  async list(
    limit: number,
    offset: number,
    columns: readonly Column[],
    version?: number,
    { newestFirst = false, filter }: { newestFirst?: boolean; filter?: ImageFilter } = {},
  ): Promise<ImageRecord[]> {
    const where = filterSql(filter);
    return this.handles.read(version, async (table) => {
      const page = (start: number, count: number) => {
        const query = table.query();
        if (where) query.where(where);
        return query.select(withId(columns)).offset(start).limit(count).toArray();
      };
      if (!newestFirst) return (await page(offset, limit)).map(fromLanceRow);
      // Unfiltered, the row count of a pinned version is in its manifest: counting costs no scan.
      const end = (await table.countRows(where)) - offset;
      if (end <= 0) return [];
      const start = Math.max(0, end - limit);
      return (await page(start, end - start)).map(fromLanceRow).reverse();
    });
  }

  /**
   * Nearest images by cosine distance, reading only `columns` for the hits. Searches the vector
   * index as its plan says, or every vector when `exact` (the ground truth for recall). A filter
   * is applied first (Lance's prefilter), so `limit` hits come back whenever that many pass it.
   */
  async search(
    vector: ArrayLike<number>,
    options: {
      limit: number;
      columns: readonly Column[];
      version?: number;
      excludeId?: string;
      exact?: boolean;
      filter?: ImageFilter;
    },
  ): Promise<{ hits: SearchHitRecord[]; version: number }> {
    // One extra hit covers the excluded image, which is its own nearest neighbour.
    const limit = options.limit + (options.excludeId ? 1 : 0);
    const where = filterSql(options.filter);
    const { rows, version } = await this.handles.read(options.version, async (table, version) => {
      let query = table.vectorSearch(Array.from(vector)).distanceType('cosine');
      if (where) query = query.where(where);
      if (options.exact) {
        query = query.bypassVectorIndex();
      } else {
        const index = await this.description.indexPlan(table, version);
        const plan = queryPlan(index, limit);
        query = query.nprobes(plan.nprobes).refineFactor(plan.refineFactor);
        // A narrow filter can leave the planned partitions short of `limit` matches: Lance then
        // probes further ones, up to all of them, for such searches only (nprobes caps both).
        if (where && index) query = query.maximumNprobes(index.partitions);
        if (plan.ef) query = query.ef(plan.ef);
      }
      const found = await query
        .select([...withId(options.columns), '_distance'])
        .limit(limit)
        .toArray();
      return { rows: found, version };
    });
    const hits = rows
      .filter((row) => row.id !== options.excludeId)
      .slice(0, options.limit)
      .map((row) => ({ image: fromLanceRow(row), distance: Number(row._distance) }));
    return { hits, version };
  }

  /**
   * The rows that carry these ids at `version`, with what the duplicate repair orders copies by.
   * A lookup through the id index (and a scan of the rows not indexed yet), never of the table:
   * the writer's dedupe and repair cost what they look up, not the dataset's size.
   */
  async copiesOf(ids: readonly string[], version: number): Promise<IdCopy[]> {
    if (ids.length === 0) return [];
    const rows = await this.handles.read(version, (table) =>
      table.query().where(idIn(ids)).select(['id', 'created_at', 'filename']).withRowId().toArray(),
    );
    return rows.map((row) => ({
      id: String(row.id),
      rowId: BigInt(row._rowid),
      createdAt: Number(row.created_at),
      filename: String(row.filename ?? ''),
    }));
  }

  /**
   * The ids of every row of `version`, a batch at a time: what the reclaimer keeps the bytes of.
   * A scan of the id column, streamed, so memory holds one batch.
   */
  async *idsAt(version: number): AsyncGenerator<string[]> {
    const { table } = await this.handles.reader(version);
    for await (const batch of table.query().select(['id'])) yield batch.getChild('id')!.toArray() as string[];
  }

  // The dataset described (dataset-description.ts).

  /** The newest `limit` versions before `before`, oldest first (see {@link DatasetDescription.versions}). */
  versions(page: { limit?: number; before?: number } = {}): Promise<VersionInfo[]> {
    return this.description.versions(page);
  }

  /** One version's time, operation and rows; an {@link UnknownVersionError} when it does not exist. */
  versionInfo(version: number): Promise<VersionInfo> {
    return this.description.versionInfo(version);
  }

  describe(): Promise<DatasetInfo> {
    return this.description.describe();
  }

  /** Version, rows and fragments of the latest version, for metrics scraped every few seconds. */
  summary(): Promise<DatasetSummary> {
    return this.description.summary();
  }

  /** The indices of `version` (the latest when omitted), then the builds in progress in this process. */
  indices(version?: number): Promise<IndexInfo[]> {
    return this.description.indices(version);
  }

  /** What a vector index would train on now: the latest version's rows, and the vectors' dimension. */
  vectors(): Promise<{ rows: number; dimension: number }> {
    return this.description.vectors();
  }

  /** Whether the newest small fragments of `version` are due to be folded into one (tail-fold.ts). */
  tailToFold(version: number): Promise<boolean> {
    return this.description.tailToFold(version);
  }

  /** Rows and small fragments of `version`, from its manifest. */
  fragments(version: number): Promise<FragmentFacts> {
    return this.description.fragments(version);
  }

  /**
   * Closes every handle, once a refresh and a mirror adoption in flight have ended (see
   * {@link VersionHandles.close}); the write primitives with them.
   */
  close(): Promise<void> {
    return this.handles.close();
  }
}

function withId(columns: readonly Column[]): Column[] {
  return COLUMNS.filter((c) => c === 'id' || columns.includes(c));
}
