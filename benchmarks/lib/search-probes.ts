import * as lancedb from '@lancedb/lancedb';
import path from 'node:path';
import { TABLE_NAME, type ImageCatalog } from '../../src/services/catalog/catalog.js';
import type { Column } from '../../src/services/catalog/image-record.js';
import type { Services } from '../../src/services/index.js';
import { sequentialLatencies, summarise, timed, type LatencySummary } from './stats.js';
import { lanceReader } from '../../src/services/catalog/test-access.js';

/** What a typical client selects: `hits { image { id url filename width height } }`. */
export const HIT_COLUMNS: Column[] = ['id', 'key', 'filename', 'width', 'height'];
export const K = 10;

const COLOURS = ['red', 'green', 'blue', 'yellow', 'orange', 'purple', 'white', 'black', 'gray', 'cyan'];
const THINGS = ['car', 'dog', 'pizza', 'ball', 'house', 'flower', 'boat', 'bird', 'shirt', 'cup'];

/** `n` distinct query texts; `tag` keeps two sets apart so the second misses every cache too. */
export function queryTexts(tag: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `a ${COLOURS[i % 10]} ${THINGS[Math.floor(i / 10) % 10]} (${tag} ${i})`);
}

/**
 * Text search through `SearchService.byText`, one query at a time: once with every text new
 * (embedding + Lance search), then the same texts again (served by the result cache).
 */
export async function textSearchLatency(services: Services, texts: string[]) {
  const search = (expectCached: boolean) => async (text: string) => {
    const outcome = await services.search.byText(text, { limit: K, columns: HIT_COLUMNS });
    if (outcome.cached !== expectCached) throw new Error(`"${text}": cached=${outcome.cached}`);
  };
  const uncached = summarise(await sequentialLatencies(texts, search(false)));
  const cached = summarise(await sequentialLatencies(texts, search(true)));
  return { uncached, cached };
}

/** `ImageCatalog.search` with ready vectors: Lance alone, on the service's long-lived handle. */
export async function vectorSearchLatency(catalog: ImageCatalog, vectors: Float32Array[]) {
  const ids: string[][] = [];
  const samples = await sequentialLatencies(vectors, async (vector) => {
    const { hits } = await catalog.search(vector, { limit: K, columns: HIT_COLUMNS });
    ids.push(hits.map((hit) => hit.image.id));
  });
  return { latency: summarise(samples), ids };
}

/** A new connection, the table opened, one vector search, all closed again: a cold search. */
export async function connectAndSearch(
  uri: string,
  vector: Float32Array,
  storageOptions?: Record<string, string>,
): Promise<void> {
  const db = await lancedb.connect(uri, { storageOptions });
  const table = await db.openTable(TABLE_NAME);
  await table
    .vectorSearch(Array.from(vector))
    .distanceType('cosine')
    .select([...HIT_COLUMNS, '_distance'])
    .limit(K)
    .toArray();
  table.close();
  db.close();
}

/**
 * The Python MVP's way: connect, open the table and search on every request, so nothing
 * (manifest, index, file metadata) stays cached between requests.
 */
export async function reconnectLatency(catalog: ImageCatalog, vectors: Float32Array[]): Promise<LatencySummary> {
  const root = path.dirname(catalog.uri);
  return summarise(await sequentialLatencies(vectors, (vector) => connectAndSearch(root, vector)));
}

/** Exact top-k ids by brute force on the same version, index or not (Lance's `bypassVectorIndex`). */
export async function exactNeighbours(catalog: ImageCatalog, vectors: Float32Array[]): Promise<string[][]> {
  const { table } = await lanceReader(catalog);
  const result: string[][] = [];
  for (const vector of vectors) {
    const rows = await table
      .vectorSearch(Array.from(vector))
      .distanceType('cosine')
      .bypassVectorIndex()
      .select(['id', '_distance'])
      .limit(K)
      .toArray();
    result.push(rows.map((row) => String(row.id)));
  }
  return result;
}

/** Share of the exact top-k that a search found, over all queries. */
export function recall(found: string[][], exact: string[][]): number {
  let hits = 0;
  found.forEach((ids, i) => (hits += ids.filter((id) => exact[i]!.includes(id)).length));
  return hits / (exact.length * K);
}

/**
 * Recall and latency of the index with Lance's refine step re-ranking `factor`×k candidates by
 * their full vectors, with the probe settings `probes` (the service's own, from
 * `queryPlan`, when given): the lever between recall and reads per query.
 */
export async function refinedSearch(
  catalog: ImageCatalog,
  vectors: Float32Array[],
  exact: string[][],
  factor: number,
  probes: { nprobes?: number; ef?: number } = {},
) {
  const { found, ms } = await planSearches(catalog, vectors, { ...probes, refineFactor: factor });
  return { latency: summarise(ms), recall: recall(found, exact) };
}

/**
 * Each vector's nearest K through Lance with a query plan (the probes and `ef` Lance's defaults
 * when unset), one at a time: the ids found, and each search's milliseconds.
 */
export async function planSearches(
  catalog: ImageCatalog,
  vectors: readonly Float32Array[],
  plan: { nprobes?: number; ef?: number; refineFactor: number },
): Promise<{ found: string[][]; ms: number[] }> {
  const { table } = await lanceReader(catalog);
  const found: string[][] = [];
  const ms: number[] = [];
  for (const vector of vectors) {
    let query = table.vectorSearch(Array.from(vector)).distanceType('cosine').refineFactor(plan.refineFactor);
    if (plan.nprobes) query = query.nprobes(plan.nprobes);
    if (plan.ef) query = query.ef(plan.ef);
    const { value: rows, ms: took } = await timed(() =>
      query
        .select([...HIT_COLUMNS, '_distance'])
        .limit(K)
        .toArray(),
    );
    ms.push(took);
    found.push(rows.map((row) => String(row.id)));
  }
  return { found, ms };
}
