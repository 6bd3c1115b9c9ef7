/**
 * Version handles and the mirror: the dataset's connections (reads, writes, the mirror), the
 * read-only handles pinned to one version each, what "the latest version" means to this process
 * (read your writes, a background look for other processes' commits), and bringing new versions
 * into the local mirror. The catalog's queries, its description and its write primitives all
 * read or commit through here; nothing outside the catalog's modules gets a handle.
 */
import * as lancedb from '@lancedb/lancedb';
import { LRUCache } from 'lru-cache';
import { imageSchema } from './image-record.js';
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
  /**
   * Bounds of Lance's in-memory caches (LANCE_INDEX_CACHE_BYTES, LANCE_METADATA_CACHE_BYTES): Lance's
   * own defaults are 6 GB and 1 GB, past what a small machine has beside the model.
   */
  cacheBytes: { index: number; metadata: number };
}

/** Thrown when a version that does not exist is asked for. */
export class UnknownVersionError extends Error {}

/**
 * The Lance dataset of images: one connection and one shared handle, opened once at start-up.
 * Reads go through read-only handles pinned to one version, so a result always names the exact
 * version it came from and concurrent requests never move each other's handle. Commits go
 * through {@link writable} and {@link openWritable}, which only the catalog's write primitives
 * (table-writes.ts) use, and each one is reported to {@link committed}.
 */
export class VersionHandles {
  private readonly pinned = new LRUCache<number, Handle>({ max: 32 });
  /** The newest version this process committed: readers never see an older one (read your writes). */
  private lastCommitted = 0;
  /** The newest version the background refresh has seen committed by anyone. */
  private latestSeen = 0;
  private session?: lancedb.Session;
  private refreshing: Promise<void> | null = null;
  /** The look that starts once the one in flight has ended ({@link freshLook}). */
  private nextLook: Promise<void> | null = null;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Indices (by uuid) already loaded into the session's cache through the mirror. */
  private readonly warmInMirror = new Set<string>();
  /** {@link follow}'s run in progress, and the last version it could not bring into the mirror, and when. */
  private following: Promise<void> | null = null;
  private closed = false;
  /**
   * Whether the start-up's prewarm (the first) has ended: until then the mirror follows no
   * version, so that its sync of the data files does not take the index files' bandwidth.
   */
  private startedUp = false;
  /** The Lance calls of the mirror's latest adoption: a close waits for them. */
  private opening: Promise<unknown> = Promise.resolve();
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
    readonly writable: lancedb.Table,
    private readonly readConsistencyMs: number,
    private readonly mirror?: { dataset: DatasetMirror; connection: lancedb.Connection },
  ) {
    if (mirror) {
      // A version that leaves the mirror is read through the object store again from then on.
      mirror.dataset.onRetire = (version) => {
        if (this.pinned.peek(version)?.mirrored) this.pinned.delete(version);
        this.follow(); // the latest version comes back once its files are whole again
      };
    }
  }

  /** Opens (or creates) the dataset; `modelAdopted` is true when this open recorded the model. */
  static async open(options: CatalogOptions): Promise<{ handles: VersionHandles; modelAdopted: boolean }> {
    // One session: every connection shares the index and metadata caches, bounded in bytes.
    const session = new lancedb.Session(BigInt(options.cacheBytes.index), BigInt(options.cacheBytes.metadata));
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
    const handles = new VersionHandles(
      connection,
      writeConnection,
      table,
      writable,
      options.readConsistencyMs,
      options.mirror && mirrorConnection && { dataset: options.mirror, connection: mirrorConnection },
    );
    handles.session = session;
    handles.latestSeen = await table.version();
    if (first) handles.pinned.set(await first.version(), { table: Promise.resolve(first), mirrored: false });
    if (options.readConsistencyMs > 0) {
      handles.refreshTimer = setInterval(() => void handles.refreshLatest(), options.readConsistencyMs).unref();
    }
    return { handles, modelAdopted };
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
  async read<T>(version: number | undefined, read: (table: lancedb.Table, version: number) => Promise<T>): Promise<T> {
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
    if (!this.mirror || this.following || !this.startedUp) return;
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
    // A close does not wait for a sync (after a cold start, the download of every data file), only
    // for the Lance calls below.
    if (this.closed) return false;
    const opening = this.openMirrored(version, this.mirror);
    this.opening = opening.catch(() => {});
    return opening;
  }

  private async openMirrored(version: number, mirror: NonNullable<VersionHandles['mirror']>): Promise<boolean> {
    const table = await this.openVersion(version, mirror.connection);
    const cold = (await table.listIndices()).filter(
      (index) => !index.indexUuid || !this.warmInMirror.has(index.indexUuid),
    );
    await settleAll(
      cold.map(async ({ name, indexUuid }) => {
        await table.prewarmIndex(name);
        if (indexUuid) this.warmInMirror.add(indexUuid);
      }),
    );
    if (!mirror.dataset.has(version)) return false; // retired meanwhile
    this.pinned.set(version, { table: Promise.resolve(table), mirrored: true });
    return true;
  }

  /** Checks every file of the mirrored versions against its CRCs now (the mirror also does every 10 minutes). */
  async scrubMirror(): Promise<void> {
    await this.mirror?.dataset.scrub();
  }

  /**
   * Loads every index of the latest version into the session's cache, so the first searches
   * after start-up or after a build do not read the index files one request at a time.
   */
  async prewarm(): Promise<string[]> {
    const version = await this.version();
    // Through the mirror, where the searches will read (adopting a version loads its indices):
    // after an index build or an optimize, whose new index files the sync fetches, and at start-up
    // when every file is in the cache already (a restart). A cold start otherwise waits only for
    // the indices, read through the object store, with the data files' fill held back so that the
    // index files get the bandwidth; the data files (2 GB at a million rows) fill afterwards while
    // queries read the rows they need from the bucket, and the version enters the mirror once
    // they are whole.
    const startUp = !this.startedUp;
    try {
      const wait = !startUp || ((await this.mirror?.dataset.cached(version).catch(() => false)) ?? false);
      const mirrored = wait && (await this.adopt(version).catch(() => false));
      const { table } = await this.reader(version);
      const names = (await table.listIndices()).map((c) => c.name);
      // All at once: at a cold start each waits for its files' fill and then reads them through
      // the endpoint, round trips that one after the other added seconds on R2's latency.
      if (!mirrored) await settleAll(names.map((name) => table.prewarmIndex(name)));
      return names;
    } finally {
      this.startedUp = true;
      this.follow();
    }
  }

  /**
   * A new handle on the write connection, of the latest version or of `version`: for a commit
   * that moves or holds the handle it runs on (an index build, an optimize, a restore), which a
   * shared handle must not be.
   */
  openWritable(version?: number): Promise<lancedb.Table> {
    return version === undefined
      ? this.writeConnection.openTable(TABLE_NAME)
      : this.openVersion(version, this.writeConnection);
  }

  /** Records a version this process committed: its readers see it from now on. */
  committed(version: number): number {
    this.lastCommitted = Math.max(this.lastCommitted, version);
    this.follow();
    return version;
  }

  /**
   * Closes every handle, once a refresh and a mirror adoption's Lance calls in flight have ended:
   * closing a native table while a call holds it fails ("cannot be borrowed mutably while another
   * borrow is active").
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.refreshTimer);
    await this.nextLook;
    await this.refreshing;
    await this.opening;
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

/**
 * Waits for every one of `calls`, then throws the first failure: a close waits for the Lance
 * calls it knows of, so none may still run once this settles.
 */
async function settleAll(calls: Array<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(calls)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
