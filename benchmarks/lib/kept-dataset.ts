import * as lancedb from '@lancedb/lancedb';
import { existsSync } from 'node:fs';
import { link, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadSettings } from '../../src/config.js';
import { DATASET_DIR, TABLE_NAME } from '../../src/services/catalog/catalog.js';
import { manifestPath, versionFiles } from '../../src/services/storage/lance-manifest.js';
import { createLogger } from '../../src/logger.js';
import type { ClipModel } from '../../src/services/embedding/clip-model.js';
import { startServices, type Services } from '../../src/services/index.js';
import { exactNeighbours } from './search-probes.js';

/**
 * The services on a synthetic dataset kept between runs under `root/<rows>` (a million rows take
 * half an hour to fill and index on 2 cores), with automatic index builds off. `fresh` says the
 * directory held no dataset: the caller builds it, with the same generator and order whichever
 * suite does (the scale suite's: seed 7, the rows, then the held-out queries). Never deleted.
 */
export async function openKeptDataset(
  model: ClipModel,
  root: string,
  rows: number,
  env: Record<string, string> = {},
): Promise<{ services: Services; dir: string; fresh: boolean }> {
  const dir = path.join(root, String(rows));
  const fresh = !existsSync(path.join(dir, DATASET_DIR));
  await mkdir(dir, { recursive: true });
  const settings = loadSettings({ DATA_URI: dir, LOG_LEVEL: 'silent', INDEX_MIN_ROWS: '1000000000', ...env });
  const services = await startServices(settings, createLogger('silent'), model);
  // A dataset kept by an earlier run may lack the id and filter indices the upkeep builds at
  // INDEX_MIN_ROWS (the runs before they were built here): a search by image looks its vector up by id.
  if (!fresh && (await services.catalog.describe()).indices.some((i) => i.columns.includes('vector'))) {
    await services.dataset.buildScalarIndices();
  }
  return { services, dir, fresh };
}

/**
 * Exact neighbours of the held-out queries, computed once per kept dataset (a flat search over a
 * million rows takes seconds a query) and read back from `dir/exact-<queries>.json` after that.
 * The queries are the same on every run: the generator is seeded and they follow the rows.
 */
export async function keptExactNeighbours(
  dir: string,
  services: Services,
  queries: Float32Array[],
  log: (message: string) => void,
): Promise<string[][]> {
  const file = path.join(dir, `exact-${queries.length}.json`);
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as string[][];
  log(`exact neighbours of ${queries.length} queries`);
  const exact = await exactNeighbours(services.catalog, queries);
  await writeFile(file, JSON.stringify(exact));
  return exact;
}

/**
 * The files the latest version of the Lance dataset at `datasetDir` reads, its manifest last,
 * relative to `datasetDir`: what a copy of that version needs (Lance never changes a file, so
 * hard links to them are a copy at no cost).
 */
export async function latestVersionFiles(datasetDir: string): Promise<{ version: number; files: string[] }> {
  const table = await (await lancedb.connect(path.dirname(datasetDir))).openTable(TABLE_NAME);
  const version = await table.version();
  table.close();
  const manifest = manifestPath(version);
  const { files, unlistedIndexDirs } = versionFiles(await readFile(path.join(datasetDir, manifest)));
  for (const dir of unlistedIndexDirs) {
    for (const name of await readdir(path.join(datasetDir, dir))) files.push(`${dir}/${name}`);
  }
  return { version, files: [...files, manifest] };
}

/** Hard links to every file the latest version of `source` reads, and its manifest; that version. */
export async function linkLatestVersion(source: string, target: string): Promise<number> {
  const { version, files } = await latestVersionFiles(source);
  for (const file of files) {
    await mkdir(path.dirname(path.join(target, file)), { recursive: true });
    await link(path.join(source, file), path.join(target, file));
  }
  return version;
}
