import * as lancedb from '@lancedb/lancedb';
import { LRUCache } from 'lru-cache';
import {
  COLUMNS,
  fromLanceRow,
  imageSchema,
  toLanceRow,
  type Column,
  type ImageRecord,
  type NewImageRow,
} from './image-record.js';
import type { DatasetMirror } from '../storage/dataset-mirror.js';
import type { ModelIdentity } from '../embedding/model-identity.js';
import { checkModel, modelRecord } from './model-record.js';
import type { ObjectStore } from '../storage/object-store.js';
import {
  DamagedFileError,
  NotInStorageError,
  StorageUnavailableError,
  storageFailure,
  throwStorageFailure,
} from '../storage/storage-failures.js';
import { DatasetHistory, fileKind, type VersionInfo } from './dataset-history.js';
import type { IdCopy } from './duplicates.js';
import { filterSql, type ImageFilter } from './image-filter.js';
import { inFragments, planFold, tailFragments } from './tail-fold.js';
import { parseIndexName, queryPlan, type IndexPlan } from './vector-index.js';

export const TABLE_NAME = 'images';
export const DATASET_DIR = `${TABLE_NAME}.lance`;

export interface CatalogOptions {
  /** Directory or s3:// URI that holds images.lance. */
  uri: string;
  storageOptions?: Record<string, string>;
  /** Storage options of the read connection, when reads go elsewhere than writes (an object cache); else storageOptions. */
  readStorageOptions?: Record<string, string>;
  /**
   * The embedding model: creates the dataset when it does not exist yet, and must be the model
   * the dataset records (model-record.ts). A promise lets the dataset open while the model still
   * loads. Maintenance tools, which embed nothing, leave it out.
   */
  model?: ModelIdentity | Promise<ModelIdentity>;
  /**
   * How stale this process's view of other processes' commits may get: a background refresh
   * looks for new versions this often, so no read waits for a listing. 0 looks on every read.
   */
  readConsistencyMs: number;
  /** The same storage root, used to list the dataset's files. */
  objects: ObjectStore;
  /** Local links to the cached files of the latest versions, read as a local dataset when they are complete. */
  mirror?: DatasetMirror;
  /** Bounds of Lance's in-memory caches (LANCE_INDEX_CACHE_BYTES, LANCE_METADATA_CACHE_BYTES). */
  cacheBytes?: { index: number; metadata: number };
}

/** Lance's own defaults are 6 GB and 1 GB, past what a small machine has beside the model. */
const DEFAULT_CACHE_BYTES = { index: 2 * 1024 ** 3, metadata: 256 * 1024 ** 2 };

export interface SearchHitRecord {
  image: ImageRecord;
  distance: number;
}

export interface IndexInfo {
  name: string;
  type: string;
  columns: string[];
  unindexedRows: number | null;
  /** READY, or BUILDING while this process builds it (searches use the previous index meanwhile). */
  state: 'READY' | 'BUILDING';
  /** When the build in progress started; null for a ready index. */
  startedAt: Date | null;
}

/** What {@link ImageCatalog.createIndex} builds: the index's name and its type as Lance reports it. */
export interface IndexBuild {
  column: string;
  config: lancedb.Index;
  name: string;
  type: string;
}

/** The figures of one version that cost no scan: from its manifest and deletion files. */
export interface DatasetSummary {
  version: number;
  rowCount: number;
  fragmentCount: number;
}

export interface DatasetInfo extends DatasetSummary {
  uri: string;
  files: Array<{ path: string; size: number; kind: string }>;
  indices: IndexInfo[];
}

/** Thrown when a version that does not exist is asked for. */
export class UnknownVersionError extends Error {}

/**
 * The Lance dataset of images: one connection and one shared handle, opened once at start-up.
 * Reads go through read-only handles pinned to one version, so a result always names the exact
 * version it came from and concurrent requests never move each other's handle. Writes are the
 * {@link CatalogWriter}'s alone.
 */
export class ImageCatalog {
  private readonly pinned = new LRUCache<number, Handle>({ max: 32 });
  /** The vector index's build plan at each version read (null: no index, or one built elsewhere). */
  private readonly plans = new LRUCache<number, Promise<IndexPlan | null>>({ max: 32 });
  /** Index builds in progress in this process, by index name. */
  private readonly builds = new Map<string, IndexInfo>();
  /** Every version's time, operation and rows, read from its manifest. */
  private readonly history: DatasetHistory;
  /** The summary of the latest version read: a version never changes, so it is worked out once. */
  private lastSummary: { version: number; summary: Promise<DatasetSummary> } | undefined;

  /** The newest version this process committed: readers never see an older one (read your writes). */
  private lastCommitted = 0;
  /** The newest version the background refresh has seen committed by anyone. */
  private latestSeen = 0;
  private session?: lancedb.Session;
  /** True when this open recorded the running model in a dataset made before models were recorded. */
  modelAdopted = false;
  private refreshing: Promise<void> | null = null;
  /** The look that starts once the one in flight has ended ({@link freshLook}). */
  private nextLook: Promise<void> | null = null;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Indices (by uuid) already loaded into the session's cache through the mirror. */
  private readonly warmInMirror = new Set<string>();
  /** {@link follow}'s run in progress, and the last version it could not bring into the mirror, and when. */
  private following: Promise<void> | null = null;
  private closed = false;
  private notAdopted = { version: 0, at: 0 };

  private constructor(
    /** Reads: through the object cache when there is one, which refuses writes. */
    private readonly connection: lancedb.Connection,
    /** Writes: straight to the store. Every handle that commits is opened here. */
    private readonly writeConnection: lancedb.Connection,
    /** Follows the latest version through {@link refreshLatest}, never by itself. Never checked out. */
    private readonly table: lancedb.Table,
    /**
     * The handle appends and deletes go through, on a connection that never checks for new
     * versions by itself: the writer refreshes it once before each commit, so a commit costs one
     * listing of the versions instead of one per call.
     */
    private readonly writable: lancedb.Table,
    readonly uri: string,
    private readonly objects: ObjectStore,
    private readonly readConsistencyMs: number,
    private readonly mirror?: { dataset: DatasetMirror; connection: lancedb.Connection },
  ) {
    this.history = new DatasetHistory(objects, DATASET_DIR, (version) => this.read(version, (t) => t.countRows()));
    if (mirror) {
      // A version that leaves the mirror is read through the object store again from then on.
      mirror.dataset.onRetire = (version) => {
        if (this.pinned.peek(version)?.mirrored) this.pinned.delete(version);
        this.follow(); // the latest version comes back once its files are whole again
      };
    }
  }

  static async open(options: CatalogOptions): Promise<ImageCatalog> {
    // One session: every connection shares the index and metadata caches, bounded in bytes.
    const session = new lancedb.Session(
      BigInt(options.cacheBytes?.index ?? DEFAULT_CACHE_BYTES.index),
      BigInt(options.cacheBytes?.metadata ?? DEFAULT_CACHE_BYTES.metadata),
    );
    const { storageOptions } = options;
    // Every connect and open lists the bucket (200 ms or more on R2), so both sides go at once:
    // three round trips to open an existing dataset instead of six.
    const [writeConnection, connection, mirrorConnection] = await Promise.all([
      lancedb.connect(options.uri, { storageOptions, session }),
      // No readConsistencyInterval: a handle then never lists versions on its own, and a query
      // never waits for a listing (on R2 every query paid one). The refresh below looks instead.
      lancedb.connect(options.uri, { storageOptions: options.readStorageOptions ?? storageOptions, session }),
      options.mirror && lancedb.connect(options.mirror.root, { session }),
    ]);
    // Two read handles of the latest version: one follows new versions (refreshLatest), the other
    // is pinned to the version it opened at, for the first reads (the prewarm, the first
    // searches). Opened side by side, the pinned one costs no round trip of
    // its own, where a checkout of that version later would list the versions again.
    // A dataset that does not exist yet is created on the write side first, then opened here.
    const openLatest = () => connection.openTable(TABLE_NAME).catch(() => null);
    const reading = Promise.all([openLatest(), openLatest()]);
    const { table: writable, modelAdopted } = await openOrCreate(writeConnection, options.model);
    const [following, first] = await reading;
    const table = following ?? (await connection.openTable(TABLE_NAME));
    const uri = `${options.uri.replace(/\/$/, '')}/${DATASET_DIR}`;
    const catalog = new ImageCatalog(
      connection,
      writeConnection,
      table,
      writable,
      uri,
      options.objects,
      options.readConsistencyMs,
      options.mirror && mirrorConnection && { dataset: options.mirror, connection: mirrorConnection },
    );
    catalog.modelAdopted = modelAdopted;
    catalog.session = session;
    catalog.latestSeen = await table.version();
    if (first) catalog.pinned.set(await first.version(), { table: Promise.resolve(first), mirrored: false });
    if (options.readConsistencyMs > 0) {
      catalog.refreshTimer = setInterval(() => void catalog.refreshLatest(), options.readConsistencyMs).unref();
    }
    return catalog;
  }

  /** Bytes Lance's index and metadata caches hold now. */
  cacheBytes(): number {
    return Number(this.session?.sizeBytes() ?? 0);
  }

  /** The latest version, as this process currently sees it. */
  async version(): Promise<number> {
    if (this.readConsistencyMs === 0) await this.freshLook();
    return Math.max(this.latestSeen, this.lastCommitted);
  }

  /**
   * A look at the versions that starts after this call. A look in flight may have listed them
   * before a commit the caller was told of (another process's, acknowledged meanwhile): joining it
   * would read from before that commit. On a loaded machine a listing takes long, and with
   * READ_CONSISTENCY_MS=0 every read starts one, so there nearly always is one in flight. The
   * callers that come while one is in flight share the one after it.
   */
  private freshLook(): Promise<void> {
    if (!this.refreshing) return this.refreshLatest();
    this.nextLook ??= this.refreshing.then(() => {
      this.nextLook = null;
      return this.refreshLatest();
    });
    return this.nextLook;
  }

  /**
   * Looks for versions other processes committed: one listing, off the query path (every
   * READ_CONSISTENCY_MS in the background). A failed look keeps the last version seen; the next
   * one tries again.
   */
  refreshLatest(): Promise<void> {
    this.refreshing ??= this.table
      .checkoutLatest()
      .then(() => this.table.version())
      .then((version) => {
        this.latestSeen = Math.max(this.latestSeen, version);
        this.follow();
      })
      .catch(() => {})
      .finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /** A read-only handle of `version` (the latest when omitted), shared by all readers of that version. */
  async reader(version?: number): Promise<{ table: lancedb.Table; version: number }> {
    const wanted = version ?? (await this.version());
    return { table: await this.handle(wanted).table, version: wanted };
  }

  /** The pinned handle of `version`, opened on the mirror when it holds that version. */
  private handle(version: number): Handle {
    let handle = this.pinned.get(version);
    if (!handle) {
      const mirrored = this.mirror?.dataset.has(version) ?? false;
      const opened = this.openVersion(version, mirrored ? this.mirror!.connection : this.connection);
      handle = { table: opened, mirrored };
      const failed = handle;
      opened.catch(() => {
        if (this.pinned.peek(version) === failed) this.pinned.delete(version);
      });
      this.pinned.set(version, handle);
    }
    return handle;
  }

  /**
   * Runs `read` on the handle of `version`. A read of the mirror that fails on I/O (a file
   * damaged on disk since it was checked, or a version retired while it opened) runs again
   * through the object store, and the mirror checks that version's files: a mirror fault never
   * fails a request.
   */
  private async read<T>(
    version: number | undefined,
    read: (table: lancedb.Table, version: number) => Promise<T>,
  ): Promise<T> {
    const wanted = version ?? (await this.version());
    const handle = this.handle(wanted);
    try {
      return await read(await handle.table, wanted);
    } catch (error) {
      const failure = storageFailure(error);
      if (!handle.mirrored || !this.mirror || !MIRROR_FAULTS.some((type) => failure instanceof type)) throw failure;
      if (this.pinned.peek(wanted) === handle) this.pinned.delete(wanted);
      // Takes the version out of the mirror at once, so the handle opened next reads the store.
      void this.mirror.dataset.distrust(wanted);
      return read(await this.handle(wanted).table, wanted).catch(throwStorageFailure);
    }
  }

  /**
   * Brings the newest version known into the mirror, in the background; versions that come
   * meanwhile are skipped for the newest one. Reads of a version go through the object store
   * until it is adopted. A version that could not be is tried again a minute later.
   */
  private follow(): void {
    if (!this.mirror || this.following) return;
    this.following = (async () => {
      while (!this.closed) {
        const target = Math.max(this.latestSeen, this.lastCommitted);
        if (this.pinned.peek(target)?.mirrored) return;
        const { version, at } = this.notAdopted;
        if (target === version && Date.now() - at < 60_000) return;
        if (!(await this.adopt(target).catch(() => false))) this.notAdopted = { version: target, at: Date.now() };
      }
    })().finally(() => (this.following = null));
  }

  /**
   * Reads `version` from the mirror from now on, once its files are all there and its indices
   * are in the session's cache (loaded here when new, so no search waits for them). False when
   * the mirror cannot hold it.
   */
  private async adopt(version: number): Promise<boolean> {
    if (!this.mirror) return false;
    if (this.pinned.peek(version)?.mirrored) return true;
    if (!(await this.mirror.dataset.sync(version))) return false;
    const table = await this.openVersion(version, this.mirror.connection);
    for (const index of await table.listIndices()) {
      const id = index.indexUuid;
      if (id && this.warmInMirror.has(id)) continue;
      await table.prewarmIndex(index.name);
      if (id) this.warmInMirror.add(id);
    }
    if (!this.mirror.dataset.has(version)) return false; // retired meanwhile
    this.pinned.set(version, { table: Promise.resolve(table), mirrored: true });
    return true;
  }

  /** Checks every file of the mirrored versions against its CRCs now (the mirror also does every 10 minutes). */
  async scrubMirror(): Promise<void> {
    await this.mirror?.dataset.scrub();
  }

  /** The images with these ids, reading only `columns`; absent ids are missing from the map. */
  async get(ids: readonly string[], columns: readonly Column[], version?: number): Promise<Map<string, ImageRecord>> {
    const found = new Map<string, ImageRecord>();
    if (ids.length === 0) return found;
    const rows = await this.read(version, (table) => table.query().where(idIn(ids)).select(withId(columns)).toArray());
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
    return this.read(version, async (table) => {
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
    const { rows, version } = await this.read(options.version, async (table, version) => {
      let query = table.vectorSearch(Array.from(vector)).distanceType('cosine');
      if (where) query = query.where(where);
      if (options.exact) {
        query = query.bypassVectorIndex();
      } else {
        const index = await this.indexPlan(table, version);
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
    const rows = await this.read(version, (table) =>
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
   * The newest `limit` versions before `before` (every one up to the latest by default), oldest
   * first. Versions are numbered from 1 without gaps (this service cleans none up), so the page is
   * known without listing the bucket: it costs one manifest read per version not read before.
   */
  async versions({ limit = Infinity, before = Infinity }: { limit?: number; before?: number } = {}): Promise<
    VersionInfo[]
  > {
    const to = Math.min(before - 1, await this.version());
    return this.history.range(Math.max(1, to - limit + 1), to).catch(throwStorageFailure);
  }

  /** One version's time, operation and rows; an {@link UnknownVersionError} when it does not exist. */
  async versionInfo(version: number): Promise<VersionInfo> {
    const info = await this.history.version(version).catch(throwStorageFailure);
    if (!info) throw new UnknownVersionError(`version ${version} does not exist`);
    return info;
  }

  async describe(): Promise<DatasetInfo> {
    const { table, version } = await this.reader();
    const [summary, indices, files] = await Promise.all([
      this.summaryOf(table, version),
      this.indices(table),
      this.files(),
    ]).catch(throwStorageFailure);
    return { uri: this.uri, ...summary, files, indices };
  }

  /** Version, rows and fragments of the latest version, for metrics scraped every few seconds. */
  async summary(): Promise<DatasetSummary> {
    const { table, version } = await this.reader();
    return this.summaryOf(table, version).catch(throwStorageFailure);
  }

  private summaryOf(table: lancedb.Table, version: number): Promise<DatasetSummary> {
    if (this.lastSummary?.version !== version) {
      const summary = table.stats().then(({ numRows, fragmentStats }) => ({
        version,
        rowCount: numRows,
        fragmentCount: fragmentStats.numFragments,
      }));
      // A failed read is not remembered: the next one tries again.
      summary.catch(() => {
        if (this.lastSummary?.summary === summary) this.lastSummary = undefined;
      });
      this.lastSummary = { version, summary };
    }
    return this.lastSummary.summary;
  }

  /** The indices of `table`'s version, then the builds in progress in this process. */
  async indices(table: lancedb.Table = this.table): Promise<IndexInfo[]> {
    const configs = await table.listIndices();
    const ready = await Promise.all(
      configs.map(async (c) => ({
        name: c.name,
        type: c.indexType,
        columns: c.columns,
        unindexedRows: (await table.indexStats(c.name))?.numUnindexedRows ?? null,
        state: 'READY' as const,
        startedAt: null,
      })),
    );
    return [...ready, ...this.builds.values()];
  }

  /** The build plan of the vector index at `version`, read from its name once per version. */
  indexPlan(table: lancedb.Table, version: number): Promise<IndexPlan | null> {
    let plan = this.plans.get(version);
    if (!plan) {
      plan = table.listIndices().then((configs) => {
        const index = configs.find((c) => c.columns.includes('vector'));
        return index ? parseIndexName(index.name) : null;
      });
      plan.catch(() => this.plans.delete(version));
      this.plans.set(version, plan);
    }
    return plan;
  }

  /**
   * Loads every index of the latest version into the session's cache, so the first searches
   * after start-up or after a build do not read the index files one request at a time.
   */
  async prewarm(): Promise<string[]> {
    const version = await this.version();
    // Through the mirror when its files are all in the cache (a restart): that is where the
    // searches will read, and adopting a version loads its indices already. Otherwise a cold start
    // waits only for the indices, read through the object store; the data files (2 GB at a
    // million rows) fill in the background while queries read what they need of them from the
    // bucket, and the version enters the mirror once they are whole.
    const cached = (await this.mirror?.dataset.cached(version).catch(() => false)) ?? false;
    const mirrored = cached && (await this.adopt(version).catch(() => false));
    const { table } = await this.reader(version);
    const names = (await table.listIndices()).map((c) => c.name);
    if (!mirrored) {
      for (const name of names) await table.prewarmIndex(name);
      this.follow();
    }
    return names;
  }

  // Writes: called by the CatalogWriter alone.

  async append(rows: readonly NewImageRow[]): Promise<number> {
    const table = lancedb.makeArrowTable(rows.map(toLanceRow), { schema: await this.writable.schema() });
    return this.committed((await this.writable.add(table)).version);
  }

  async deleteIds(ids: readonly string[]): Promise<number> {
    return this.committed((await this.writable.delete(idIn(ids))).version);
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
      const rows = await this.writable.query().where(inFragments(fold, '_rowaddr')).toArray();
      // One record batch: Lance merges a source of several batches in parallel and writes them in
      // the order they finish, which would scramble upload order.
      const source = lancedb.makeArrowTable(
        rows.map((row) => toLanceRow(fromLanceRow(row) as NewImageRow)),
        { schema: await this.writable.schema() },
      );
      // Only the target rows in those fragments: a copy of an id elsewhere (two replicas stored
      // the same image at once, until the repair) must not be rewritten, nor moved, with them.
      // Not through the id index: there the merge cannot see target._rowaddr, and writes the rows
      // out of order (LanceDB 0.37-0.39). Without it, it reads the table's ids (3.8 MB at 100k rows).
      const result = await this.writable
        .mergeInsert('id')
        .whenMatchedUpdateAll({ where: inFragments(fold, 'target._rowaddr') })
        .useIndex(false)
        .execute(source);
      versions.push(this.committed(result.version));
    }
  }

  /** Deletes single rows by their Lance row id (the repair of duplicate ids, duplicates.ts). */
  async deleteRowIds(rowIds: readonly bigint[]): Promise<number> {
    return this.committed((await this.writable.delete(`_rowid IN (${rowIds.join(', ')})`)).version);
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
    const handle = await this.writeConnection.openTable(TABLE_NAME);
    try {
      await handle.createIndex(column, { config, name, replace: true });
      const versions = [this.committed(await handle.version())];
      for (const old of await handle.listIndices()) {
        if (old.name === name || !old.columns.includes(column)) continue;
        await handle.dropIndex(old.name);
        versions.push(this.committed(await handle.version()));
      }
      return versions;
    } finally {
      this.builds.delete(name);
      handle.close();
    }
  }

  /**
   * Compacts small fragments and folds unindexed rows into the indices, on a handle of its own.
   * Lance commits this as several versions; the last one is returned.
   */
  async optimize(): Promise<{ version: number; stats: lancedb.OptimizeStats }> {
    const handle = await this.writeConnection.openTable(TABLE_NAME);
    try {
      // cleanupOlderThan in the distant past: time travel keeps every version.
      const stats = await handle.optimize({ cleanupOlderThan: new Date(0) });
      return { version: this.committed(await handle.version()), stats };
    } finally {
      handle.close();
    }
  }

  /** Records a version this process committed: its readers see it from now on. */
  private committed(version: number): number {
    this.lastCommitted = Math.max(this.lastCommitted, version);
    this.follow();
    return version;
  }

  /** Commits `version`'s content as a new latest version. */
  async restore(version: number): Promise<number> {
    // A fresh handle on the write connection: restore() moves the handle it runs on (pinned
    // readers are shared), and it commits.
    const handle = await this.openVersion(version, this.writeConnection);
    await handle.restore();
    const restored = this.committed(await handle.version());
    handle.close();
    return restored;
  }

  /** Moves the writable handle to the latest version committed by anyone, and returns it. */
  async refresh(): Promise<number> {
    await this.writable.checkoutLatest();
    return this.writable.version();
  }

  /**
   * Closes every handle, once a refresh and a mirror adoption in flight have ended: closing a
   * native table while a call holds it fails ("cannot be borrowed mutably while another borrow is
   * active").
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.refreshTimer);
    await this.nextLook;
    await this.refreshing;
    await this.following;
    this.pinned.clear();
    this.writable.close();
    this.table.close();
    this.connection.close();
    this.writeConnection.close();
    this.mirror?.connection.close();
  }

  /** A new handle of `version`; a version that does not exist is an {@link UnknownVersionError}. */
  private openVersion(version: number, connection = this.connection): Promise<lancedb.Table> {
    return connection.openTable(TABLE_NAME, [], { version }).catch((error: unknown) => {
      const failure = storageFailure(error);
      throw failure instanceof NotInStorageError
        ? new UnknownVersionError(`version ${version} does not exist`)
        : failure;
    });
  }

  private async files(): Promise<DatasetInfo['files']> {
    const files: DatasetInfo['files'] = [];
    for await (const object of this.objects.list(`${DATASET_DIR}/`)) {
      const path = object.key.slice(DATASET_DIR.length + 1);
      files.push({ path, size: object.size, kind: fileKind(path) });
    }
    return files.sort((a, b) => a.path.localeCompare(b.path));
  }
}

/**
 * Failures of a read of the mirror that a damaged or missing local file can cause (as opposed to
 * a bad query): the read goes to the object store instead.
 */
const MIRROR_FAULTS = [UnknownVersionError, NotInStorageError, DamagedFileError, StorageUnavailableError];

/** A pinned read handle, and whether it reads the mirror. */
interface Handle {
  table: Promise<lancedb.Table>;
  mirrored: boolean;
}

function withId(columns: readonly Column[]): Column[] {
  return COLUMNS.filter((c) => c === 'id' || columns.includes(c));
}

/** ids are validated as 64 hex characters at the edge, so quoting them is safe. */
function idIn(ids: readonly string[]): string {
  return `id IN (${ids.map((id) => `'${id}'`).join(', ')})`;
}

/**
 * The images table, created when it cannot be opened and the model is known, and checked to be
 * that model's. Opening first costs one request fewer than `createEmptyTable(existOk)` on an
 * existing dataset.
 */
async function openOrCreate(
  connection: lancedb.Connection,
  model?: ModelIdentity | Promise<ModelIdentity>,
): Promise<{ table: lancedb.Table; modelAdopted: boolean }> {
  // Maintenance tools load no model: without one the dataset must exist already.
  if (model === undefined) return { table: await connection.openTable(TABLE_NAME), modelAdopted: false };
  const table = await connection.openTable(TABLE_NAME).catch(async () =>
    // existOk: another process may create it between this one's open and create.
    connection.createEmptyTable(TABLE_NAME, imageSchema((await model).dimension, modelRecord(await model)), {
      mode: 'create',
      existOk: true,
    }),
  );
  const { adopted } = await checkModel(table, await model);
  return { table, modelAdopted: adopted };
}
