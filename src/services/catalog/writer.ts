import type { OptimizeStats } from '@lancedb/lancedb';
import type { Logger } from 'pino';
import type { ImageCatalog, IndexBuild } from './catalog.js';
import type { NewImageRow } from './image-record.js';
import type { ServiceMetrics } from '../metrics.js';
import { CommitConflictError, StorageUnavailableError, storageFailure } from '../storage/storage-failures.js';

type Pending<T> = { resolve: (value: T) => void; reject: (error: unknown) => void };
type Operation =
  | ({ kind: 'append'; row: NewImageRow } & Pending<AppendOutcome>)
  | ({ kind: 'delete'; id: string } & Pending<DeleteOutcome>)
  | ({ kind: 'restore'; version: number } & Pending<number>)
  | ({ kind: 'fold' } & Pending<number | null>)
  | ({ kind: 'index'; build: IndexBuild } & Pending<number>)
  | ({ kind: 'optimize' } & Pending<OptimizeStats>);
type Beside = Extract<Operation, { kind: 'index' | 'optimize' }>;
type Commit = Exclude<Operation, Beside>;

export interface AppendOutcome {
  created: boolean;
  version: number;
}
export interface DeleteOutcome {
  deleted: boolean;
  version: number;
}
/** A commit's version, and the rows it appended or deleted. */
interface Committed {
  version: number;
  rows: number;
}

/** Commits that lose a race against another writer's incompatible commit are retried this often. */
const MAX_ATTEMPTS = 5;

/**
 * The queued commits set aside while work beside the queue runs: those Lance would not commit
 * beside it. A restore makes an index build's commit fail after all its work; a delete preempts a
 * compaction ("Rewrite transaction was preempted by concurrent transaction Delete"); a fold
 * rewrites fragments a build may be indexing or a compaction rewriting. Appends commit beside
 * both (their fragments stay unindexed until the next optimize).
 */
const HELD_BACK: Record<Beside['kind'], ReadonlyArray<Commit['kind']>> = {
  index: ['restore', 'fold'],
  optimize: ['delete', 'restore', 'fold'],
};

/**
 * The one writer of the dataset in this process. Operations queue up while a commit runs and
 * the next commit takes all of them: consecutive appends become one Lance append (group
 * commit), consecutive deletes one deletion. It also keeps the set of live ids in step with the
 * dataset, so dedupe is a set lookup instead of a table scan.
 *
 * Index builds and optimizes take their turn in the queue too, but run beside it: a build takes
 * 7-40 s at 100k rows and uploads must not wait for it. One runs at a time. The queued commits
 * Lance would refuse beside it ({@link HELD_BACK}) are set aside until it is done, so that they do
 * not hold the uploads queued behind them either.
 */
export class CatalogWriter {
  private readonly queue: Operation[] = [];
  private readonly pendingIds = new Map<string, Promise<AppendOutcome>>();
  private draining: Promise<void> | null = null;
  private commits = 0;

  /** The work beside the queue, one after the other: settles when the last one started is done. */
  private beside: Promise<void> = Promise.resolve();
  /** The kinds of work started beside the queue and not done yet, oldest first. */
  private readonly besideKinds: Beside['kind'][] = [];
  /** Commits set aside until the work beside the queue is done, in queue order. */
  private readonly setAside: Commit[] = [];

  /** Called after every successful commit (index upkeep hooks in here). */
  onCommit: () => void = () => {};

  private liveIds = new Set<string>();
  /** The version the id set reflects. */
  private knownVersion = 0;
  /**
   * Versions after `knownVersion` whose effect on the id set is already applied: this writer's own
   * commits, and its index builds, which change no ids. Only versions no one here accounts for
   * send the writer back to the dataset for the ids.
   */
  private readonly accounted = new Set<number>();
  /** The first load of the id set, started by {@link open}; never rejects. */
  private loading: Promise<void> = Promise.resolve();

  private constructor(
    private readonly catalog: ImageCatalog,
    private readonly logger: Logger,
    private readonly metrics?: ServiceMetrics,
  ) {}

  /**
   * Starts the writer and loads the id set in the background: readiness waits for searches to be
   * fast, not for a scan of every id (on a big dataset, the longest step of a start after the
   * prewarm). Commits wait for the load; until it is done, `has` may miss a stored id, which only
   * costs that upload a decode, since the commit decides against the loaded set.
   */
  static open(catalog: ImageCatalog, logger: Logger, metrics?: ServiceMetrics): CatalogWriter {
    const writer = new CatalogWriter(catalog, logger, metrics);
    writer.loading = writer.reload().catch((error: unknown) => {
      // The id set stays at version 0, so the first commit's catch-up loads it again.
      logger.warn({ err: error }, 'loading the id set failed; the first commit will load it');
    });
    return writer;
  }

  /** True when the id is stored or about to be. */
  has(id: string): boolean {
    return this.liveIds.has(id) || this.pendingIds.has(id);
  }

  /** Number of commits made so far (for tests and metrics). */
  get commitCount(): number {
    return this.commits;
  }

  /** Appends the row unless its id is stored or queued already; then `created` is false. */
  append(row: NewImageRow): Promise<AppendOutcome> {
    const queued = this.pendingIds.get(row.id);
    if (queued) return queued.then((outcome) => ({ ...outcome, created: false }));
    // Queued even when the id looks stored: the commit decides against a fresh id set, since
    // another process may have deleted it.
    const outcome = this.enqueue<AppendOutcome>((p) => ({ kind: 'append', row, ...p }));
    this.pendingIds.set(row.id, outcome);
    const forget = () => this.pendingIds.delete(row.id);
    outcome.then(forget, forget);
    return outcome;
  }

  delete(id: string): Promise<DeleteOutcome> {
    return this.enqueue((p) => ({ kind: 'delete', id, ...p }));
  }

  restore(version: number): Promise<number> {
    return this.enqueue((p) => ({ kind: 'restore', version, ...p }));
  }

  /**
   * Folds the newest small fragments into one (see tail-fold.ts), in the queue like any commit;
   * resolves to the version made, or null when there was nothing to fold.
   */
  fold(): Promise<number | null> {
    return this.enqueue((p) => ({ kind: 'fold', ...p }));
  }

  /** Builds (or replaces) an index beside the queue; resolves to the version holding it. */
  buildIndex(build: IndexBuild): Promise<number> {
    return this.enqueue((p) => ({ kind: 'index', build, ...p }));
  }

  /** Compacts small fragments and folds unindexed rows into the indices, beside the queue. */
  optimize(): Promise<OptimizeStats> {
    return this.enqueue((p) => ({ kind: 'optimize', ...p }));
  }

  /** Resolves once a queued append of `id` has been committed or has failed (at once when none is queued). */
  async settled(id: string): Promise<void> {
    await this.pendingIds.get(id)?.catch(() => undefined);
  }

  /** Waits for every queued operation (those set aside too), and for the work beside the queue. */
  async flush(): Promise<void> {
    await this.loading;
    do {
      await this.draining;
      await this.beside;
    } while (this.draining);
  }

  private enqueue<T>(make: (pending: Pending<T>) => Operation): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push(make({ resolve, reject } as Pending<T>) as Operation);
      this.draining ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    try {
      // Yield once so that operations arriving in the same tick join the first commit.
      await new Promise((resolve) => setImmediate(resolve));
      await this.loading;
      while (this.queue.length > 0) await this.commitNext();
    } finally {
      // In the same synchronous step as the last look at the queue. Cleared any later (a
      // .finally() callback runs microtasks after), an operation queued in between would see a
      // drain still running, start none, and wait forever.
      this.draining = null;
    }
  }

  /** Takes the next group off the queue and commits it (or starts it beside the queue). */
  private async commitNext(): Promise<void> {
    const group = this.takeGroup();
    const first = group[0]!;
    if (first.kind === 'index' || first.kind === 'optimize') {
      this.startBeside(first);
      return;
    }
    if (this.besideKinds.some((kind) => HELD_BACK[kind].includes(first.kind))) {
      this.holdBack(group as Commit[]);
      return;
    }
    try {
      await this.catchUp();
      const committed = await this.withRetry(() => this.commit(group as Commit[]));
      if (!committed) return; // a fold with nothing to fold
      const { version, rows } = committed;
      this.commits += 1;
      this.metrics?.committed(first.kind, rows);
      if (first.kind === 'restore') {
        // A restore replaces the set of live ids whole. Refreshed and reloaded outside the retry:
        // a conflict there must not run a restore that has committed a second time.
        await this.catalog.refresh();
        await this.reload();
      } else {
        this.account(version);
        // A version no one here accounts for in between means another process committed, and the
        // id set missed its rows and deletes. Unless it is the work beside the queue, whose version
        // may not be known yet: then the catch-up before the next commit decides.
        if (!this.advance(version) && this.besideKinds.length === 0) await this.reload();
      }
      this.onCommit();
    } catch (error) {
      const failure = storageFailure(error);
      this.logger[level(failure)]({ err: failure, kind: group[0]?.kind, size: group.length }, 'commit failed');
      for (const op of group) op.reject(failure);
    }
  }

  /** The longest run of appends or of deletes at the head of the queue (anything else goes alone). */
  private takeGroup(): Operation[] {
    const kind = this.queue[0]!.kind;
    const groups = kind === 'append' || kind === 'delete';
    let end = 1;
    while (groups && end < this.queue.length && this.queue[end]!.kind === kind) end += 1;
    return this.queue.splice(0, end);
  }

  /**
   * Starts an index build or optimize once the one before it is done, on a handle of its own.
   * Everything queued before it has committed already (or is set aside).
   */
  private startBeside(op: Beside): void {
    this.besideKinds.push(op.kind);
    this.beside = this.beside.then(() => this.runBeside(op)).finally(() => this.besideKinds.shift());
  }

  /**
   * Sets a group aside until the work beside the queue is done, then puts it back at the head of
   * the queue; the commits queued behind it go on meanwhile. It may meet work started after it
   * was set aside, and wait for that too: a build it let start must not be thrown away.
   */
  private holdBack(group: Commit[]): void {
    this.setAside.push(...group);
    this.beside = this.beside.then(() => {
      this.queue.unshift(...this.setAside.splice(0));
      this.draining ??= this.drain();
    });
  }

  /** Runs one piece of work beside the queue and settles its caller; never rejects. */
  private async runBeside(op: Beside): Promise<void> {
    try {
      if (op.kind === 'index') {
        const versions = await this.catalog.createIndex(op.build);
        // An index (and dropping the one it replaces) changes no ids: the next commit need not rescan them.
        for (const version of versions) this.account(version);
        op.resolve(versions.at(-1)!);
      } else {
        // An optimize commits several versions (compaction, then one per index) and tells only
        // the last, so they stay unaccounted for: a catch-up that meets one rereads the ids.
        // That costs an id scan per optimize or so, against blocking uploads for its length.
        op.resolve((await this.catalog.optimize()).stats);
      }
    } catch (error) {
      const failure = storageFailure(error);
      this.logger[level(failure)]({ err: failure, kind: op.kind }, 'dataset maintenance failed');
      op.reject(failure);
    }
  }

  /**
   * Commits one group; returns the version it made (or the current one when nothing was left to
   * do), or null for a fold that committed nothing.
   */
  private async commit(group: Commit[]): Promise<Committed | null> {
    const first = group[0]!;
    if (first.kind === 'restore') {
      const version = await this.catalog.restore(first.version);
      first.resolve(version);
      return { version, rows: 0 };
    }
    if (first.kind === 'fold') {
      const versions = await this.catalog.foldTail();
      // Rows move to a new fragment; no id comes or goes.
      for (const version of versions) this.account(version);
      first.resolve(versions.at(-1) ?? null);
      return versions.length > 0 ? { version: versions.at(-1)!, rows: 0 } : null;
    }
    if (first.kind === 'append') return this.commitAppends(group as Extract<Operation, { kind: 'append' }>[]);
    return this.commitDeletes(group as Extract<Operation, { kind: 'delete' }>[]);
  }

  private async commitAppends(ops: Extract<Operation, { kind: 'append' }>[]): Promise<Committed> {
    // After a retry the set may have learnt of rows another writer committed meanwhile.
    const fresh = ops.filter((op) => !this.liveIds.has(op.row.id));
    const version = fresh.length > 0 ? await this.catalog.append(fresh.map((op) => op.row)) : this.knownVersion;
    for (const op of fresh) this.liveIds.add(op.row.id);
    for (const op of ops) op.resolve({ created: fresh.includes(op), version });
    return { version, rows: fresh.length };
  }

  private async commitDeletes(ops: Extract<Operation, { kind: 'delete' }>[]): Promise<Committed> {
    const present = [...new Set(ops.map((op) => op.id))].filter((id) => this.liveIds.has(id));
    const version = present.length > 0 ? await this.catalog.deleteIds(present) : this.knownVersion;
    for (const id of present) this.liveIds.delete(id);
    const deleted = new Set(present);
    for (const op of ops) {
      op.resolve({ deleted: deleted.delete(op.id), version });
    }
    return { version, rows: present.length };
  }

  /** Reloads the id set when another process has committed since this one last looked. */
  private async catchUp(): Promise<void> {
    if (!this.advance(await this.catalog.refresh())) await this.reload();
  }

  /** Notes a version this writer made whose effect on the id set is applied already. */
  private account(version: number): void {
    if (version > this.knownVersion) this.accounted.add(version);
  }

  /** Moves `knownVersion` over the accounted-for versions; true when it reaches `latest`. */
  private advance(latest: number): boolean {
    while (this.knownVersion < latest && this.accounted.delete(this.knownVersion + 1)) this.knownVersion += 1;
    return this.knownVersion === latest;
  }

  /**
   * Rebuilds the id set from the version the writable handle is at. Two processes that append the same new image at the
   * same moment both commit it (neither saw the other's row); the copies show up here and all
   * but one are deleted by row id, the same one whichever process repairs first.
   */
  private async reload(): Promise<void> {
    const { ids, duplicateRowIds, version } = await this.catalog.scanIds();
    this.liveIds = ids;
    this.knownVersion = version;
    for (const v of this.accounted) if (v <= version) this.accounted.delete(v);
    if (duplicateRowIds.length === 0) return;
    this.knownVersion = await this.withRetry(() => this.catalog.deleteRowIds(duplicateRowIds));
    this.logger.warn(
      { rows: duplicateRowIds.length, version: this.knownVersion },
      'removed duplicate rows written by concurrent processes',
    );
  }

  /**
   * Lance rebases an append over concurrent appends by itself, but an append racing another
   * process's restore (or a delete racing a compaction) is refused. Reload and try again.
   */
  private async withRetry<T>(commit: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await commit();
      } catch (error) {
        const failure = storageFailure(error);
        if (attempt >= MAX_ATTEMPTS || !(failure instanceof CommitConflictError)) throw failure;
        this.logger.warn({ attempt, err: failure }, 'commit conflict, retrying on the latest version');
        this.metrics?.commitConflictRetried();
        await this.catchUp();
      }
    }
  }
}

/** An unavailable storage is no fault of the service: a warning, where anything else is an error. */
function level(failure: Error): 'warn' | 'error' {
  return failure instanceof StorageUnavailableError ? 'warn' : 'error';
}
