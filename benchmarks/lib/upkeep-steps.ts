import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fragmentRows, transactionOperation, versionSummary } from '../../src/services/storage/lance-manifest.js';

/**
 * Every version made since `startVersion`, by operation, with the rows it wrote into fragments
 * that were not there before: an append's new rows; a fold's (Lance: update) or a compaction's
 * (rewrite) rewritten ones.
 */
export async function upkeepSteps(dataset: string, startVersion: number) {
  const manifests = new Map<number, Buffer>();
  for (const name of await readdir(path.join(dataset, '_versions'))) {
    if (!name.endsWith('.manifest')) continue; // Lance's version hint file
    const bytes = await readFile(path.join(dataset, '_versions', name));
    manifests.set(versionSummary(bytes).version, bytes);
  }
  const steps: Array<{ version: number; operation: string | null; rowsWritten: number; tableRows: number }> = [];
  for (let version = startVersion + 1; manifests.has(version); version++) {
    const before = fragmentRows(manifests.get(version - 1)!);
    const now = fragmentRows(manifests.get(version)!);
    let rowsWritten = 0;
    for (const [id, rows] of now) if (!before.has(id)) rowsWritten += rows;
    const summary = versionSummary(manifests.get(version)!);
    const operation = summary.operation ?? (await transactionOperationOf(dataset, summary.transactionFile));
    steps.push({ version, operation, rowsWritten, tableRows: summary.rowCount ?? NaN });
  }
  const rewrites = steps.filter((s) => s.operation === 'update' || s.operation === 'rewrite');
  const largest = rewrites.reduce((most, s) => Math.max(most, s.rowsWritten / s.tableRows), 0);
  return {
    versions: steps.length,
    byOperation: Object.fromEntries(
      [...new Set(steps.map((s) => s.operation ?? 'unknown'))].map((op) => [
        op,
        steps.filter((s) => (s.operation ?? 'unknown') === op).length,
      ]),
    ),
    rewrites: rewrites.length,
    largestRewriteRows: Math.max(0, ...rewrites.map((s) => s.rowsWritten)),
    largestRewriteShare: largest,
    steps,
  };
}

async function transactionOperationOf(dataset: string, file: string | null): Promise<string | null> {
  if (!file) return null;
  return transactionOperation(await readFile(path.join(dataset, '_transactions', file)));
}
