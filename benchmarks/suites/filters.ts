import { ImageCatalog } from '../../src/services/catalog/catalog.js';
import type { ImageFilter } from '../../src/services/catalog/image-filter.js';
import { METADATA_COLUMNS } from '../../src/services/catalog/image-record.js';
import { scalarIndices } from '../../src/services/catalog/dataset.js';
import type { TableWrites } from '../../src/services/catalog/table-writes.js';
import { tableWrites } from '../../src/services/catalog/test-access.js';
import { openServices } from '../lib/harness.js';
import { ms, type Cell, type SuiteResult } from '../lib/report.js';
import { sequentialLatencies, summarise, timed, type LatencySummary } from '../lib/stats.js';
import type { Suite, SuiteContext } from '../lib/suite.js';
import { SyntheticEmbeddings, syntheticRow } from '../lib/synthetic.js';

/** Each keeps about 1% of the rows, or fewer: the filters a scalar index is for. */
function filters(rows: number): Array<[string, ImageFilter]> {
  const newest = new Date(Date.UTC(2025, 0, 1) + (rows - rows / 100) * 1000);
  return [
    ['contentTypes: [GIF] (1%)', { contentTypes: ['image/gif'] }],
    ['size: 20,000–20,499 (1%)', { size: { min: 20_000, max: 20_499 } }],
    ['createdAt: the newest 1%', { createdAt: { min: newest } }],
    ['filenameContains: "-4242" (~0.02%)', { filenameContains: '-4242' }],
  ];
}

/** Synthetic rows with one in a hundred a GIF, appended in commits of 5,000. */
async function fill(writes: TableWrites, dimension: number, rows: number): Promise<void> {
  const embeddings = new SyntheticEmbeddings(dimension);
  for (let start = 0; start < rows; start += 5000) {
    const batch = Array.from({ length: Math.min(5000, rows - start) }, (_, i) => {
      const row = syntheticRow(start + i, embeddings.next());
      return (start + i) % 100 === 7 ? { ...row, contentType: 'image/gif' } : row;
    });
    await writes.append(batch);
  }
}

interface Measurement {
  filter: string;
  indexed: boolean;
  list: LatencySummary;
  search: LatencySummary;
  matches: number;
}

async function measure(
  catalog: ImageCatalog,
  query: Float32Array,
  [name, filter]: [string, ImageFilter],
  indexed: boolean,
  repeats: number,
): Promise<Measurement> {
  const list = () => catalog.list(50, 0, METADATA_COLUMNS, undefined, { newestFirst: true, filter });
  const search = () => catalog.search(query, { limit: 10, columns: ['id', 'filename'], filter });
  const matches = (await list()).length;
  await search(); // warm-up
  const runs = Array.from({ length: repeats });
  return {
    filter: name,
    indexed,
    matches,
    list: summarise(await sequentialLatencies(runs, list)),
    search: summarise(await sequentialLatencies(runs, search)),
  };
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const rows = ctx.rows ?? (ctx.quick ? 5000 : 50_000);
  const repeats = ctx.quick ? 3 : 15;
  const services = await openServices(ctx.model);
  try {
    const { catalog } = services;
    ctx.log(`filters: filling ${rows} rows`);
    await fill(tableWrites(services.writer), services.batcher.dimension, rows);
    const query = new SyntheticEmbeddings(services.batcher.dimension, { seed: 7 }).next();
    const measurements: Measurement[] = [];
    const measureAll = async (indexed: boolean) => {
      for (const filter of filters(rows)) measurements.push(await measure(catalog, query, filter, indexed, repeats));
    };
    ctx.log('filters: without scalar indices');
    await measureAll(false);
    const builds: Array<{ name: string; ms: number }> = [];
    for (const build of scalarIndices()) {
      ctx.log(`filters: building ${build.name}`);
      builds.push({ name: build.name, ms: (await timed(() => tableWrites(services.writer).createIndex(build))).ms });
    }
    await catalog.prewarm();
    ctx.log('filters: with scalar indices');
    await measureAll(true);
    return report(rows, measurements, builds);
  } finally {
    await services.close();
  }
}

function report(rows: number, measurements: Measurement[], builds: Array<{ name: string; ms: number }>): SuiteResult {
  const byFilter = new Map<string, Measurement[]>();
  for (const m of measurements) byFilter.set(m.filter, [...(byFilter.get(m.filter) ?? []), m]);
  const tableRows: Cell[][] = [...byFilter].map(([filter, [plain, indexed]]) => [
    filter,
    plain!.matches,
    ms(plain!.list.p50),
    ms(indexed!.list.p50),
    ms(plain!.search.p50),
    ms(indexed!.search.p50),
  ]);
  return {
    suite: 'filters',
    title: `Filtered reads at ${rows.toLocaleString('en')} rows on local disk, without and with scalar indices.`,
    tables: [
      {
        title: 'p50 latency (ms) of a filtered read',
        columns: [
          'filter',
          'rows on the first page',
          'images page: scan',
          'images page: scalar index',
          'search: scan',
          'search: scalar index',
        ],
        rows: tableRows,
      },
      { title: 'Scalar index builds', columns: ['index', 'build ms'], rows: builds.map((b) => [b.name, ms(b.ms)]) },
    ],
    notes: [
      `${rows} synthetic rows (512-d clustered vectors), one in a hundred a GIF, sizes cycling through 20,000–69,999, one second apart.`,
      '"images page": `ImageCatalog.list(50, 0, metadata columns, newest first, filter)`: a filtered count, then the page.',
      '"search": `ImageCatalog.search(limit 10, filter)` without a vector index (a prefiltered flat search over the matching rows).',
      'The filename substring has no scalar index (BTREE and BITMAP do not serve LIKE); it is the control row.',
    ],
    data: { rows, measurements, builds },
  };
}

export const filtersSuite: Suite = { name: 'filters', run };
