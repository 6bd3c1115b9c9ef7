// What a service instance answers, as comparable plain data: tests of the object cache and the
// dataset mirror compare a reader's answers with those of a replica that reads the bucket.
import { COLUMNS } from '../../src/services/catalog/image-record.js';
import type { Services } from '../../src/services/index.js';
import { syntheticRows } from './harness.js';

const DIM = 512;

/** The ids and file names of the 10 nearest rows to the `n`th synthetic vector. */
export async function searchIds(services: Services, n: number, version?: number): Promise<string[]> {
  const vector = syntheticRows(1, DIM, n)[0]!.vector;
  const { hits } = await services.catalog.search(vector, { limit: 10, columns: ['id', 'filename'], version });
  return hits.map((h) => `${h.image.id}:${h.image.filename}`);
}

/** Every row with every column: reads every page of every data file. */
export async function allRows(services: Services, version?: number): Promise<string> {
  const rows = await services.catalog.list(10_000, 0, COLUMNS, version);
  return JSON.stringify(rows.map((r) => ({ ...r, vector: Array.from(r.vector ?? []) })));
}
