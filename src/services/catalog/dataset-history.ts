import { buffer } from 'node:stream/consumers';
import { LRUCache } from 'lru-cache';
import pLimit from 'p-limit';
import { manifestPath, transactionOperation, versionSummary } from '../storage/lance-manifest.js';
import type { ObjectStore } from '../storage/object-store.js';

export interface VersionInfo {
  version: number;
  timestamp: Date;
  operation: string | null;
  rowCount: number;
}

/**
 * The service's name for each Lance operation it commits. The service is its dataset's only
 * writer, so each names one thing it does: its folds of fragments (the newest ones, and the
 * upkeep's compaction) are updates; a user's optimize compacts by reserving fragment ids, then
 * rewriting.
 * An optimize's last step, bringing each index up to date, is an index commit like a build.
 */
const OPERATION_NAMES: Record<string, string> = {
  overwrite: 'Create',
  append: 'Append',
  delete: 'Delete',
  update: 'Compact',
  restore: 'Restore',
  create_index: 'Index',
  reserve_fragments: 'Optimize',
  rewrite: 'Optimize',
};

/** The name of a Lance operation: the service's own, else Lance's (`update_config` is UpdateConfig). */
export function operationName(operation: string | null): string | null {
  if (operation === null) return null;
  return OPERATION_NAMES[operation] ?? operation.replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase());
}

/** Manifests read at once, across all requests. */
const READ_CONCURRENCY = 16;
/** Versions remembered; one takes about 200 bytes. */
const REMEMBERED = 20_000;

/**
 * The dataset's versions as their manifests describe them: when each was made, by what, and its
 * live rows. A manifest is one small object and never changes once written, so each is read once
 * per process (on S3, one GET; two for a manifest older Lance wrote without its transaction),
 * and no Lance table is opened: a table per version cost 13 s and 200 MB for 809 versions.
 */
export class DatasetHistory {
  private readonly versions = new LRUCache<number, Promise<VersionInfo | null>>({ max: REMEMBERED });
  private readonly limit = pLimit(READ_CONCURRENCY);

  constructor(
    private readonly objects: ObjectStore,
    /** The dataset's key prefix in `objects`. */
    private readonly datasetDir: string,
    /** Live rows counted by Lance, for a manifest too old to record them. */
    private readonly countRows: (version: number) => Promise<number>,
  ) {}

  /** Versions `from` to `to`, oldest first; versions whose manifest is gone (cleaned up) are left out. */
  async range(from: number, to: number): Promise<VersionInfo[]> {
    const wanted = Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
    const found = await Promise.all(wanted.map((version) => this.version(version)));
    return found.filter((info) => info !== null);
  }

  /** One version; null when its manifest does not exist. */
  version(version: number): Promise<VersionInfo | null> {
    let info = this.versions.get(version);
    if (!info) {
      info = this.limit(() => this.read(version));
      const failed = info;
      // A failed read is not remembered: the next one tries again.
      info.catch(() => {
        if (this.versions.peek(version) === failed) this.versions.delete(version);
      });
      this.versions.set(version, info);
    }
    return info;
  }

  private async read(version: number): Promise<VersionInfo | null> {
    const manifest = await this.bytes(manifestPath(version));
    if (!manifest) return null;
    const summary = versionSummary(manifest);
    let operation = summary.operation;
    if (summary.transactionFile) {
      const transaction = await this.bytes(`_transactions/${summary.transactionFile}`);
      operation = transaction && transactionOperation(transaction);
    }
    return {
      version: summary.version,
      timestamp: summary.timestamp,
      operation: operationName(operation),
      rowCount: summary.rowCount ?? (await this.countRows(version)),
    };
  }

  private async bytes(key: string): Promise<Buffer | null> {
    const object = await this.objects.get(`${this.datasetDir}/${key}`);
    return object && buffer(object.body);
  }
}

/** The kind of a file under images.lance/, from Lance's directory layout. */
export function fileKind(path: string): string {
  if (path.startsWith('data/')) return 'data';
  if (path.startsWith('_versions/') && path.endsWith('.manifest')) return 'manifest';
  if (path.startsWith('_transactions/')) return 'transaction';
  if (path.startsWith('_deletions/')) return 'deletion';
  if (path.startsWith('_indices/')) return 'index';
  return 'other';
}
