import type { ImageCatalog } from '../../src/services/catalog/catalog.js';
import { COLUMNS } from '../../src/services/catalog/image-record.js';
import type { Services } from '../../src/services/index.js';
import { HIT_COLUMNS, K } from '../lib/search-probes.js';
import { sequentialLatencies, summarise, timed, type LatencySummary } from '../lib/stats.js';
import { SyntheticEmbeddings, syntheticRow } from '../lib/synthetic.js';
import { lanceReader, tableWrites } from '../../src/services/catalog/test-access.js';

export interface ReadCost {
  state: string;
  fragments: number;
  search: LatencySummary;
  getById: LatencySummary;
}

async function measureReads(catalog: ImageCatalog, state: string, queries: Float32Array[], ids: string[]) {
  const search = (vector: Float32Array) => catalog.search(vector, { limit: K, columns: HIT_COLUMNS });
  // A whole-row read by id: what an upload of already stored bytes does before answering.
  const get = (id: string) => catalog.get([id], COLUMNS);
  await search(queries[0]!); // warm-up: the pinned handle of this version
  const fragments = (await (await lanceReader(catalog)).table.stats()).fragmentStats.numFragments;
  return {
    state,
    fragments,
    search: summarise(await sequentialLatencies(queries, search)),
    getById: summarise(await sequentialLatencies(ids, get)),
  };
}

export type ReadCostResult = Awaited<ReturnType<typeof readCostOfFragments>>;

/**
 * Reads over `rows` rows committed one row at a time (what sequential single uploads leave:
 * one fragment each), then after `DatasetService.optimize()` has compacted them.
 */
export async function readCostOfFragments(services: Services, rows: number, samples: number) {
  const embeddings = new SyntheticEmbeddings(services.batcher.dimension, { seed: 7 });
  const fill = await timed(async () => {
    for (let i = 0; i < rows; i += 1) await tableWrites(services.writer).append([syntheticRow(i, embeddings.next())]);
  });
  const queries = Array.from({ length: samples }, () => embeddings.next());
  const ids = Array.from({ length: samples }, (_, i) => syntheticRow((i * 37) % rows, queries[0]!).id);
  const before = await measureReads(services.catalog, `${rows} single-row commits`, queries, ids);
  const optimize = await timed(() => services.dataset.optimize());
  const after = await measureReads(services.catalog, 'after optimize', queries, ids);
  return { rows, fillMs: fill.ms, optimizeMs: optimize.ms, costs: [before, after] };
}
