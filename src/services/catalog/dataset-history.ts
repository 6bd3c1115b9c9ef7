import type { Version } from '@lancedb/lancedb';

export interface VersionInfo {
  version: number;
  timestamp: Date;
  operation: string | null;
}

const count = (v: Version, key: string) => Number(v.metadata[key] ?? NaN);

/**
 * Names the operation behind each version: from `known` (what this process committed itself),
 * else from the summary Lance keeps in every manifest (rows, data files, deletion files), which
 * costs no extra reads but cannot tell everything apart: an index build leaves the summary as it
 * was, and a delete that empties whole fragments looks like a restore. Those are null.
 */
export function describeVersions(versions: Version[], known: ReadonlyMap<number, string> = new Map()): VersionInfo[] {
  return versions.map((v, i) => ({
    version: v.version,
    timestamp: new Date(v.timestamp),
    operation: known.get(v.version) ?? (i === 0 ? 'Create' : operationBetween(versions[i - 1]!, v)),
  }));
}

function operationBetween(before: Version, after: Version): string | null {
  const dataRows = count(after, 'total_data_file_rows') - count(before, 'total_data_file_rows');
  const deletedRows = count(after, 'total_deletion_file_rows') - count(before, 'total_deletion_file_rows');
  const dataFiles = count(after, 'total_data_files') - count(before, 'total_data_files');
  const liveRows = count(after, 'total_rows') - count(before, 'total_rows');
  if ([dataRows, deletedRows, dataFiles, liveRows].some(Number.isNaN)) return null;
  if (dataRows > 0 && deletedRows === 0) return 'Append';
  if (deletedRows > 0 && dataRows === 0) return 'Delete';
  if (liveRows === 0 && (dataFiles !== 0 || deletedRows !== 0)) return 'Compact';
  return null;
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
