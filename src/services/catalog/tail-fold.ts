/**
 * Folding fragments into one: the newest small ones after commits, so that a burst of single
 * uploads does not leave one tiny fragment per upload behind, and the newest ones up to a tenth of
 * the table before the indices are built anew (see {@link planCompaction}): the upkeep's compaction.
 *
 * Why not Lance's compaction: LanceDB's `optimize()` (0.37 to 0.39) takes no target fragment size, and
 * every fragment under Lance's default (1M rows) is a candidate, so below a million rows each
 * compaction rewrites the whole table (205 MB at 100k rows). Between compactions, each single
 * upload stays a fragment of its own; a page that covers them pays about 4 KB of file metadata
 * per fragment (more than a row's 2 KB vector), and every query opens every file.
 *
 * A fold rewrites only the small fragments at the end of the table (the newest uploads) as one
 * fragment, in one commit: an update of every row of those fragments, by their row addresses, to
 * its own values. Lance writes the rows anew in their order and drops fragments left with no
 * live rows; older versions keep theirs, so time travel is unaffected. Its cost is the rows it
 * folds, whatever the table's size.
 *
 * Which fragments: size-tiered, as in LSM trees. A fragment's size class is the power of FAN_IN
 * its rows reach (1–3 rows: 0, 4–15: 1, 16–63: 2...). Once the newest FAN_IN fragments or more
 * are of the newest one's class or below, they are folded into one of the next class, which may
 * complete a run there in turn. A row is so rewritten about log4(4096) = 6 times on its way into
 * a fragment of thousands (instead of the whole table's 205 MB per compaction), and the table
 * ends in at most FAN_IN − 1 small fragments of each class.
 */
import type * as lancedb from '@lancedb/lancedb';

export const FAN_IN = 4;
/** Fragments this big or bigger are left to the table-wide compaction. */
export const MAX_FOLDED_ROWS = 4096;
/** The newest rows looked at: enough for FAN_IN − 1 fragments of every size class. */
const WINDOW = FAN_IN * MAX_FOLDED_ROWS;

export interface TailFragment {
  id: number;
  /** Live rows. */
  rows: number;
}

/**
 * The fragments among the newest {@link WINDOW} rows, oldest first, with their live rows: only
 * the row ids are read. The oldest may continue before the window, so it is left out unless the
 * window starts at the table's first row. A row id is the row's address (fragment id, offset)
 * because the service never turns on Lance's stable row ids; LanceDB's query (0.37 to 0.39) has no
 * `withRowAddr()`.
 */
export async function tailFragments(table: lancedb.Table): Promise<TailFragment[]> {
  const total = await table.countRows();
  const start = Math.max(0, total - WINDOW);
  const fragments = await fragmentsFrom(table, start, WINDOW);
  return start > 0 ? fragments.slice(1) : fragments;
}

/** Every fragment of the table, oldest first, with its live rows (only the row ids are read). */
export function allFragments(table: lancedb.Table): Promise<TailFragment[]> {
  return fragmentsFrom(table, 0);
}

async function fragmentsFrom(table: lancedb.Table, start: number, limit?: number): Promise<TailFragment[]> {
  const fragments: TailFragment[] = [];
  let query = table.query().select([]).withRowId().offset(start);
  if (limit !== undefined) query = query.limit(limit);
  for await (const batch of query) {
    for (const rowId of batch.getChild('_rowid')!.toArray() as BigUint64Array) {
      const id = Number(BigInt(rowId) >> 32n);
      const last = fragments.at(-1);
      if (last?.id === id) last.rows += 1;
      else fragments.push({ id, rows: 1 });
    }
  }
  return fragments;
}

/** The newest fragments to fold into one, or null when the newest size class has fewer than FAN_IN. */
export function planFold(tail: readonly TailFragment[]): TailFragment[] | null {
  const newest = tail.at(-1);
  if (!newest || newest.rows >= MAX_FOLDED_ROWS) return null;
  const newestClass = sizeClass(newest.rows);
  let run = 0;
  while (run < tail.length && sizeClass(tail[tail.length - 1 - run]!.rows) <= newestClass) run += 1;
  return run >= FAN_IN ? tail.slice(tail.length - run) : null;
}

/**
 * The upkeep's compaction: the newest fragments that together hold at most `maxRows` rows (as
 * many as fit, two or more), to be folded into one; null when fewer than two fit. Lance's own
 * compaction (`optimize()`) bins neighbours up to 1,048,576 rows and, once the indices cover every
 * fragment, puts them all in one bin: below a million rows it rewrote the whole table. Here a
 * step rewrites at most `maxRows`, a tenth of the table (dataset.ts), whatever its size.
 *
 * Only the newest: a Lance update adds the fragment it writes at the end of the table, so a fold
 * of fragments in the middle would move their rows after newer ones, and the table's order is
 * the upload order. The older fragments each held at most a tenth of the table when folded.
 */
export function planCompaction(fragments: readonly TailFragment[], maxRows: number): TailFragment[] | null {
  let run = 0;
  let rows = 0;
  while (run < fragments.length && rows + fragments[fragments.length - 1 - run]!.rows <= maxRows) {
    rows += fragments[fragments.length - 1 - run]!.rows;
    run += 1;
  }
  return run >= 2 ? fragments.slice(fragments.length - run) : null;
}

function sizeClass(rows: number): number {
  let sizeClass = 0;
  while (rows >= FAN_IN ** (sizeClass + 1)) sizeClass += 1;
  return sizeClass;
}

/**
 * A filter that selects the rows of `fragments` by their address in `column` (`_rowid`, or
 * `target._rowaddr` in a merge-insert): the fragment id, then the row's offset.
 */
export function inFragments(fragments: readonly TailFragment[], column: string): string {
  return fragments
    .map(({ id }) => `(${column} >= ${BigInt(id) << 32n} AND ${column} < ${BigInt(id + 1) << 32n})`)
    .join(' OR ');
}
