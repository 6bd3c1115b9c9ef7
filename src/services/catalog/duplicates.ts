/**
 * Which copy of an id stays when two processes stored the same image at once. Each process checks
 * the dataset before it appends, but two appends of the same new image can both pass the check
 * before either commits; Lance then rebases one over the other and both rows are stored. The
 * process whose commit landed second sees both copies (its version holds the first one's rows)
 * and deletes all but one.
 *
 * Every process that looks must pick the same copy to keep, or two repairs could delete one copy
 * each. Row ids cannot decide: a fold or a compaction moves rows, so two processes that looked
 * before and after one would see the copies in another order. The kept copy is the earliest
 * uploaded (then the first file name), which no move changes; only copies equal in both fall back
 * to the lowest row id.
 */
import { idIn, stringLiteral } from './image-filter.js';

/** A row that carries an id, with what decides which copy of the id is kept. */
export interface IdCopy {
  id: string;
  rowId: bigint;
  /** Upload time, in milliseconds. */
  createdAt: number;
  /** The uploaded file's name, '' when it had none. */
  filename: string;
}

/**
 * True when `copy` is the stored row of this very upload (its upload time and file name), not
 * another upload of the same bytes.
 */
export function isCopyOf(copy: IdCopy, row: { createdAt: Date; filename: string | null }): boolean {
  return copy.createdAt === row.createdAt.getTime() && copy.filename === (row.filename ?? '');
}

/** The copy of each id that every process keeps, and the others. */
export function keepOne(copies: readonly IdCopy[]): { kept: Map<string, IdCopy>; extra: IdCopy[] } {
  const kept = new Map<string, IdCopy>();
  for (const copy of copies) {
    const best = kept.get(copy.id);
    if (!best || before(copy, best)) kept.set(copy.id, copy);
  }
  return { kept, extra: copies.filter((copy) => kept.get(copy.id) !== copy) };
}

/**
 * The filter that deletes the `extra` copies: by what each holds (id, upload time, file name),
 * not by its row id. Another process's fold or compaction may move the rows between the look and
 * the delete's commit; a row id read before it then names nothing, and the copy stays (seen on S3,
 * replicas.test.ts reproduces it). Only a copy equal to the kept one in time and name is named by
 * its row id, the one thing that tells them apart.
 */
export function extraCopiesFilter(extra: readonly IdCopy[], kept: ReadonlyMap<string, IdCopy>): string {
  return extra
    .map((copy) => {
      const keeper = kept.get(copy.id)!;
      if (copy.createdAt === keeper.createdAt && copy.filename === keeper.filename) return `_rowid = ${copy.rowId}`;
      const filename = copy.filename === '' ? 'filename IS NULL' : `filename = ${stringLiteral(copy.filename)}`;
      return `(${idIn([copy.id])} AND created_at = to_timestamp_millis(${copy.createdAt}) AND ${filename})`;
    })
    .join(' OR ');
}

function before(a: IdCopy, b: IdCopy): boolean {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt;
  if (a.filename !== b.filename) return a.filename < b.filename;
  return a.rowId < b.rowId;
}
