import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const RESULTS_DIR = path.join(REPO_ROOT, 'benchmarks', 'results');

/**
 * The base name of a run's result files: `<suite>`, `<suite>-<rows>` for a run given `--rows`
 * (so a 1M run leaves the default size's results in place), or
 * `<suite>.quick` for a --quick run, which only checks that the benchmark works and must never
 * replace the committed results (gitignored).
 */
export function resultName(suite: string, quick: boolean, rows?: number): string {
  if (quick) return `${suite}.quick`;
  return rows === undefined ? suite : `${suite}-${rows}`;
}

/** shared/ sits inside the checkout on some machines and beside it on others (CI, developers). */
export function sharedDir(): string {
  const candidates = [path.join(REPO_ROOT, 'shared'), path.join(REPO_ROOT, '..', 'shared')];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'data')));
  if (!found) throw new Error(`no shared/ with data/ found at ${candidates.join(' or ')}`);
  return found;
}
