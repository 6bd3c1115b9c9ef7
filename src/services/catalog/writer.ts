import type { OptimizeStats } from '@lancedb/lancedb';
import type { Logger } from 'pino';
import type { ImageCatalog } from './catalog.js';
import { isCopyOf, keepOne, type IdCopy } from './duplicates.js';
import type { NewImageRow } from './image-record.js';
import type { ServiceMetrics } from '../metrics.js';
import type { IndexBuild, TableWrites } from './table-writes.js';
import type { AppendRelay } from './append-relay.js';
import { CommitConflictError, StorageUnavailableError, storageFailure } from '../storage/storage-failures.js';

type Pending<T> = { resolve: (value: T) => void; reject: (error: unknown) => void };
type Operation =
  | ({ kind: 'append'; row: NewImageRow; here: boolean } & Pending<AppendOutcome>)
  | ({ kind: 'delete'; id: string } & Pending<DeleteOutcome>)
  | ({ kind: 'repair'; ids: string[]; failures: number } & Pending<number>)
  | ({ kind: 'restore'; version: number } & Pending<number>)
  | ({ kind: 'fold' } & Pending<number | null>)
  | ({ kind: 'compact'; maxRows: number } & Pending<number | null>)
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
 * A duplicate repair that failed all its attempts is queued again this much later, doubled after
 * each failure up to a minute: the first retry still lands well within READ_CONSISTENCY_MS.
 */
const REPAIR_RETRY_MS = { first: 100, most: 60_000 };

/**
 * The queued commits set aside while work beside the queue runs: those Lance would not commit
 * beside it. A restore makes an index build's commit fail after all its work; a delete preempts a
 * compaction ("Rewrite transaction was preempted by concurrent transaction Delete"); a fold
 * rewrites fragments a build may be indexing or a compaction rewriting. Appends commit beside
 * both (their fragments stay unindexed until the next index build).
 */
const HELD_BACK: Record<Beside['kind'], ReadonlyArray<Commit['kind']>> = {
  index: ['restore', 'fold', 'compact'],
  optimize: ['delete', 'repair', 'restore', 'fold', 'compact'],
};

/**
 * The one writer of the dataset in this process. Operations queue up while a commit runs and
 * the next commit takes all of them: consecutive appends become one Lance append (group
 * commit), consecutive deletes one deletion.
 *
 * Dedupe asks the dataset: before each commit the writer looks up the ids it is about to append
 * or delete, at the latest version, through the id index. Nothing here grows with the dataset,
 * and another process's commit costs this one nothing until it looks up ids of its own. Only the
 * appends queued and committing are kept in memory, so that a second upload of the same bytes
 * shares the first one's outcome.
 *
 * Of several replicas, those given an {@link AppendRelay} hand their groups of appends to the
 * holder of the maintenance lease, whose writer commits them with its own (one commit for every
 * replica's rows), and commit here only when the hand-off fails.
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
  /** Groups of appends handed to the lease holder and not answered yet. */
  private readonly handOffs = new Set<Promise<void>>();

  /** Called after every successful commit (index upkeep hooks in here). */
  onCommit: () => void = () => {};

  private constructor(
    /** Reads: the copies of ids, for the dedupe and the repair. */
    private readonly catalog: ImageCatalog,
    /** The write primitives, held by this writer alone (ImageCatalog.open hands them over). */
    private readonly writes: TableWrites,
    private readonly logger: Logger,
    private readonly metrics?: ServiceMetrics,
    /** Hands appends to the replica holding the maintenance lease, which commits them with its own. */
    private readonly relay?: AppendRelay,
  ) {}

  static open(
    catalog: ImageCatalog,
    writes: TableWrites,
    logger: Logger,
    options: { metrics?: ServiceMetrics; relay?: AppendRelay } = {},
  ): CatalogWriter {
    return new CatalogWriter(catalog, writes, logger, options.metrics, options.relay);
  }

  /** True while an append of the id is queued or committing: it is about to be stored. */
  queued(id: string): boolean {
    return this.pendingIds.has(id);
  }

  /** Number of commits made so far (for tests and metrics). */
  get commitCount(): number {
    return this.commits;
  }

  /**
   * Appends the row unless its id is stored or queued already; then `created` is false. The
   * commit decides, against the latest version: a reader's view may lag behind another process's.
   * `received`: another replica handed the row over (append-relay.ts); it is committed here, never
   * handed on, so that no two replicas that disagree on the lease's holder send rows back and forth.
   */
  append(row: NewImageRow, { received = false } = {}): Promise<AppendOutcome> {
    const queued = this.pendingIds.get(row.id);
    if (queued) return queued.then((outcome) => ({ ...outcome, created: false }));
    const outcome = this.enqueue<AppendOutcome>((p) => ({ kind: 'append', row, here: received, ...p }));
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

  /**
   * Folds the newest fragments, at most `maxRows` rows, into one (the upkeep's compaction), in the
   * queue like a fold: no append commits in between, so the rows keep their upload order.
   * Resolves to the version made, or null when there was nothing to fold.
   */
  compact(maxRows: number): Promise<number | null> {
    return this.enqueue((p) => ({ kind: 'compact', maxRows, ...p }));
  }

  /** Lance's whole-table optimize (a user's optimizeDataset), beside the queue. */
  optimize(): Promise<OptimizeStats> {
    return this.enqueue((p) => ({ kind: 'optimize', ...p }));
  }

  /** Resolves once a queued append of `id` has been committed or has failed (at once when none is queued). */
  async settled(id: string): Promise<void> {
    await this.pendingIds.get(id)?.catch(() => undefined);
  }

  /** Waits for every queued operation (those set aside and handed over too), and for the work beside the queue. */
  async flush(): Promise<void> {
    do {
      await this.draining;
      await this.beside;
      await Promise.all(this.handOffs);
    } while (this.draining || this.handOffs.size > 0);
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
    // Anything but an append commits after the appends queued before it, handed over or not (one
    // the holder did not take comes back to the head of the queue): a restore rolls them back.
    if (this.queue[0]!.kind !== 'append' && this.handOffs.size > 0) {
      await Promise.all(this.handOffs);
      if (this.queue.length === 0) return;
    }
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
    if (first.kind === 'append' && (await this.handedOver(group as Extract<Operation, { kind: 'append' }>[]))) return;
    try {
      // Each attempt starts from the latest version, so that a retry sees what beat the last one.
      const committed = await this.withRetry(async () => this.commit(group as Commit[], await this.writes.refresh()));
      if (!committed) return; // nothing to write: every op has its answer
      this.commits += 1;
      const operation = first.kind === 'repair' ? 'delete' : first.kind === 'compact' ? 'fold' : first.kind;
      this.metrics?.committed(operation, committed.rows);
      this.onCommit();
    } catch (error) {
      const failure = storageFailure(error);
      this.logger[level(failure)]({ err: failure, kind: group[0]?.kind, size: group.length }, 'commit failed');
      for (const op of group) op.reject(failure);
    }
  }

  /**
   * Hands a group of this process's own uploads to the lease holder (append-relay.ts); false when
   * they are to be committed here. The queue goes on meanwhile: the next group is handed over
   * while the holder commits this one, so that it can join the holder's next commit. Their readers
   * see the version the holder made before the uploads are answered, as after a commit of their
   * own. A group the holder did not answer goes back to the head of the queue, to be committed
   * here; if the holder had committed it all the same, the commit finds its rows and answers them
   * as created (commitAppends).
   */
  private async handedOver(ops: Extract<Operation, { kind: 'append' }>[]): Promise<boolean> {
    if (!this.relay || ops.some((op) => op.here)) return false;
    const holder = await this.relay.holder();
    if (!holder) return false;
    const handOff = this.relay
      .send(
        holder,
        ops.map((op) => op.row),
      )
      .then((outcomes) => {
        if (!outcomes) {
          this.queue.unshift(...ops.map((op) => ({ ...op, here: true })));
          this.draining ??= this.drain();
          return;
        }
        this.writes.committedElsewhere(Math.max(...outcomes.map((outcome) => outcome.version)));
        for (const [i, op] of ops.entries()) op.resolve(outcomes[i]!);
      })
      // Nothing above is known to throw; if it did, the uploads would otherwise wait for ever.
      .catch((error: unknown) => {
        for (const op of ops) op.reject(error);
      });
    this.handOffs.add(handOff);
    void handOff.finally(() => this.handOffs.delete(handOff));
    return true;
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
      if (op.kind === 'index') op.resolve((await this.writes.createIndex(op.build)).at(-1)!);
      else op.resolve((await this.writes.optimize()).stats);
    } catch (error) {
      const failure = storageFailure(error);
      this.logger[level(failure)]({ err: failure, kind: op.kind }, 'dataset maintenance failed');
      op.reject(failure);
    }
  }

  /**
   * Commits one group on top of `base`, the latest version; returns the version made and the rows
   * it wrote, or null when there was nothing to write (every op is answered all the same).
   */
  private async commit(group: Commit[], base: number): Promise<Committed | null> {
    const first = group[0]!;
    if (first.kind === 'restore') {
      const version = await this.writes.restore(first.version);
      first.resolve(version);
      return { version, rows: 0 };
    }
    if (first.kind === 'fold' || first.kind === 'compact') {
      const version =
        first.kind === 'fold'
          ? ((await this.writes.foldTail()).at(-1) ?? null)
          : await this.writes.compact(first.maxRows);
      first.resolve(version);
      return version === null ? null : { version, rows: 0 };
    }
    if (first.kind === 'repair') {
      const { version, removed } = await this.repair(first.ids, base, first.failures);
      first.resolve(version);
      return removed > 0 ? { version, rows: removed } : null;
    }
    if (first.kind === 'append') return this.commitAppends(group as Extract<Operation, { kind: 'append' }>[], base);
    return this.commitDeletes(group as Extract<Operation, { kind: 'delete' }>[], base);
  }

  private async commitAppends(ops: Extract<Operation, { kind: 'append' }>[], base: number): Promise<Committed | null> {
    const copies = await this.catalog.copiesOf(
      ops.map((op) => op.row.id),
      base,
    );
    const fresh = ops.filter((op) => !copies.some((copy) => copy.id === op.row.id));
    // A stored copy of this very row was committed for this upload already: by the lease holder,
    // whose answer to the hand-off was lost (append-relay.ts). Another upload's copy was not.
    const createdBefore = (op: (typeof ops)[number]) => copies.some((copy) => isCopyOf(copy, op.row));
    if (fresh.length === 0) {
      for (const op of ops) op.resolve({ created: createdBefore(op), version: base });
      return null;
    }
    let version = await this.writes.append(fresh.map((op) => op.row));
    // A version between `base` and this one is another process's commit, over which Lance rebased
    // this append: it may have stored some of the same images. Only these rows' ids are looked up.
    let kept = new Map<string, IdCopy>();
    if (version !== base + 1)
      ({ version, kept } = await this.repair(
        fresh.map((op) => op.row.id),
        version,
      ));
    let created = 0;
    for (const op of ops) {
      const copy = kept.get(op.row.id);
      // This process's copy went when the other one was uploaded first: this upload did not create it.
      const mine = !copy || isCopyOf(copy, op.row);
      const outcome = { created: fresh.includes(op) ? mine : createdBefore(op), version };
      if (outcome.created) created += 1;
      op.resolve(outcome);
    }
    return { version, rows: created };
  }

  private async commitDeletes(ops: Extract<Operation, { kind: 'delete' }>[], base: number): Promise<Committed | null> {
    const present = [...(await this.storedIds([...new Set(ops.map((op) => op.id))], base))];
    const version = present.length > 0 ? await this.writes.deleteIds(present) : base;
    const deleted = new Set(present);
    for (const op of ops) op.resolve({ deleted: deleted.delete(op.id), version });
    return present.length > 0 ? { version, rows: present.length } : null;
  }

  private async storedIds(ids: readonly string[], version: number): Promise<Set<string>> {
    return new Set((await this.catalog.copiesOf(ids, version)).map((copy) => copy.id));
  }

  /**
   * Makes sure each of `ids` has one row, from `version` on, and returns the copies kept. A repair
   * that fails (another process's compaction keeps beating its delete) is queued again a little
   * later, and the upload that called it is answered all the same: its row is stored.
   */
  private async repair(
    ids: string[],
    version: number,
    failures = 0,
  ): Promise<{ version: number; kept: Map<string, IdCopy>; removed: number }> {
    try {
      return await this.removeCopies(ids, version);
    } catch (error) {
      const retryMs = Math.min(REPAIR_RETRY_MS.first * 2 ** failures, REPAIR_RETRY_MS.most);
      this.logger.warn({ err: error, ids, retryMs }, 'removing duplicate rows failed; trying again shortly');
      const again = () =>
        this.enqueue<number>((p) => ({ kind: 'repair', ids, failures: failures + 1, ...p })).catch(() => {});
      setTimeout(() => void again(), retryMs).unref();
      return { version, kept: new Map(), removed: 0 };
    }
  }

  /** Deletes every copy of `ids` but the one every process keeps (duplicates.ts), looking at `version` first. */
  private async removeCopies(
    ids: string[],
    version: number,
  ): Promise<{ version: number; kept: Map<string, IdCopy>; removed: number }> {
    let at = version;
    return this.withRetry(async (attempt) => {
      if (attempt > 1) at = await this.writes.refresh();
      const { kept, extra } = keepOne(await this.catalog.copiesOf(ids, at));
      if (extra.length === 0) return { version: at, kept, removed: 0 };
      const repaired = await this.writes.deleteCopies(extra, kept);
      this.logger.warn(
        { rows: extra.length, version: repaired },
        'removed duplicate rows written by concurrent processes',
      );
      return { version: repaired, kept, removed: extra.length };
    });
  }

  /**
   * Lance rebases an append over concurrent appends by itself, but an append racing another
   * process's restore (or a delete racing a compaction) is refused. `commit` runs again, told
   * which attempt it is; it starts from the latest version itself.
   */
  private async withRetry<T>(commit: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await commit(attempt);
      } catch (error) {
        const failure = storageFailure(error);
        if (attempt >= MAX_ATTEMPTS || !(failure instanceof CommitConflictError)) throw failure;
        this.logger.warn({ attempt, err: failure }, 'commit conflict, retrying on the latest version');
        this.metrics?.commitConflictRetried();
      }
    }
  }
}

/** An unavailable storage is no fault of the service: a warning, where anything else is an error. */
function level(failure: Error): 'warn' | 'error' {
  return failure instanceof StorageUnavailableError ? 'warn' : 'error';
}
