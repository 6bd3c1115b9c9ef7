/**
 * The dataset described: its versions' history, the figures of a version that cost no scan
 * (rows, fragments), its indices (and the builds in progress in this process), its files, and
 * the facts the upkeep decides by. Read-only, through the version handles; nothing here returns a
 * Lance handle.
 */
import type * as lancedb from '@lancedb/lancedb';
import { LRUCache } from 'lru-cache';
import { DatasetHistory, fileKind, type VersionInfo } from './dataset-history.js';
import type { ObjectStore } from '../storage/object-store.js';
import { throwStorageFailure } from '../storage/storage-failures.js';
import { planFold, tailFragments } from './tail-fold.js';
import { parseIndexName, type IndexPlan } from './vector-index.js';
import { DATASET_DIR, UnknownVersionError, type VersionHandles } from './version-handles.js';

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

/** What the upkeep decides a compaction by, at one version. */
export interface FragmentFacts {
  rows: number;
  /** Fragments Lance counts as small: each append makes one, and reads slow with their count. */
  smallFragments: number;
}

export class DatasetDescription {
  /** The vector index's build plan at each version read (null: no index, or one built elsewhere). */
  private readonly plans = new LRUCache<number, Promise<IndexPlan | null>>({ max: 32 });
  /** Every version's time, operation and rows, read from its manifest. */
  private readonly history: DatasetHistory;
  /** The summary of the latest version read: a version never changes, so it is worked out once. */
  private lastSummary: { version: number; summary: Promise<DatasetSummary> } | undefined;

  constructor(
    private readonly handles: VersionHandles,
    private readonly objects: ObjectStore,
    readonly uri: string,
    /** Index builds in progress in this process, by index name (table-writes.ts adds them). */
    private readonly builds: ReadonlyMap<string, IndexInfo>,
  ) {
    this.history = new DatasetHistory(objects, DATASET_DIR, (version) => handles.read(version, (t) => t.countRows()));
  }

  /**
   * The newest `limit` versions before `before` (every one up to the latest by default), oldest
   * first. Versions are numbered from 1 without gaps (this service cleans none up), so the page is
   * known without listing the bucket: it costs one manifest read per version not read before.
   */
  async versions({ limit = Infinity, before = Infinity }: { limit?: number; before?: number } = {}): Promise<
    VersionInfo[]
  > {
    const to = Math.min(before - 1, await this.handles.version());
    return this.history.range(Math.max(1, to - limit + 1), to).catch(throwStorageFailure);
  }

  /** One version's time, operation and rows; an {@link UnknownVersionError} when it does not exist. */
  async versionInfo(version: number): Promise<VersionInfo> {
    const info = await this.history.version(version).catch(throwStorageFailure);
    if (!info) throw new UnknownVersionError(`version ${version} does not exist`);
    return info;
  }

  async describe(): Promise<DatasetInfo> {
    const { table, version } = await this.handles.reader();
    const [summary, indices, files] = await Promise.all([
      this.summaryOf(table, version),
      this.indicesOf(table),
      this.files(),
    ]).catch(throwStorageFailure);
    return { uri: this.uri, ...summary, files, indices };
  }

  /** Version, rows and fragments of the latest version, for metrics scraped every few seconds. */
  async summary(): Promise<DatasetSummary> {
    const { table, version } = await this.handles.reader();
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

  /** The indices of `version` (the latest when omitted), then the builds in progress in this process. */
  async indices(version?: number): Promise<IndexInfo[]> {
    return this.indicesOf((await this.handles.reader(version)).table);
  }

  private async indicesOf(table: lancedb.Table): Promise<IndexInfo[]> {
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

  /** What a vector index would train on now: the latest version's rows, and the vectors' dimension. */
  async vectors(): Promise<{ rows: number; dimension: number }> {
    const { table } = await this.handles.reader();
    const rows = await table.countRows();
    const dimension = (await table.schema()).fields.find((f) => f.name === 'vector')!.type.listSize as number;
    return { rows, dimension };
  }

  /** Whether the newest small fragments of `version` are due to be folded (planned on the reader: local files when mirrored). */
  async tailToFold(version: number): Promise<boolean> {
    const { table } = await this.handles.reader(version);
    return planFold(await tailFragments(table)) !== null;
  }

  /** Rows and small fragments of `version`, from its manifest. */
  async fragments(version: number): Promise<FragmentFacts> {
    const { table } = await this.handles.reader(version);
    const { numRows, fragmentStats } = await table.stats();
    return { rows: numRows, smallFragments: fragmentStats.numSmallFragments };
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
