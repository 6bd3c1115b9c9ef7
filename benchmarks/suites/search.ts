import type { Services } from '../../src/services/index.js';
import { openServices } from '../lib/harness.js';
import { ms, type Cell, type SuiteResult } from '../lib/report.js';
import {
  exactNeighbours,
  queryTexts,
  recall,
  reconnectLatency,
  refinedSearch,
  textSearchLatency,
  vectorSearchLatency,
} from '../lib/search-probes.js';
import { timed, type LatencySummary } from '../lib/stats.js';
import type { Suite, SuiteContext } from '../lib/suite.js';
import { SyntheticEmbeddings, fillCatalog } from '../lib/synthetic.js';

const REFINE_FACTORS = [5, 20];

interface Plan {
  sizes: number[];
  texts: number;
  vectors: number;
  reconnects: number;
}

interface Phase {
  text: LatencySummary;
  cached: LatencySummary;
  vector: LatencySummary;
  reconnect: LatencySummary;
}

interface SizeResult {
  rows: number;
  fillMs: number;
  indexBuildMs: number;
  flat: Phase;
  ivfPq: Phase & { recall: number; refined: Array<{ factor: number; recall: number; latency: LatencySummary }> };
}

/** Every latency of one state of the dataset (flat or indexed), with fresh texts so no cache helps. */
async function measurePhase(services: Services, tag: string, plan: Plan, vectors: Float32Array[]) {
  // Warm-up: the pinned handle of this version, its index cache, the model's first runs.
  await textSearchLatency(services, queryTexts(`${tag} warm-up`, 5));
  await vectorSearchLatency(services.catalog, vectors.slice(0, 5));
  const text = await textSearchLatency(services, queryTexts(tag, plan.texts));
  const vector = await vectorSearchLatency(services.catalog, vectors);
  const reconnect = await reconnectLatency(services.catalog, vectors.slice(0, plan.reconnects));
  return { phase: { text: text.uncached, cached: text.cached, vector: vector.latency, reconnect }, ids: vector.ids };
}

async function measureSize(ctx: SuiteContext, rows: number, plan: Plan): Promise<SizeResult> {
  const services = await openServices(ctx.model);
  try {
    const embeddings = new SyntheticEmbeddings(services.batcher.dimension);
    const fill = await timed(() => fillCatalog(services.writer, embeddings, rows));
    // Held-out queries from the same distribution as the rows (text vectors of the test model
    // have nothing in common with synthetic rows, so recall on them would mean nothing).
    const vectors = Array.from({ length: plan.vectors }, () => embeddings.next());
    ctx.log(`search: ${rows} rows, flat`);
    const flat = await measurePhase(services, `flat ${rows}`, plan, vectors);
    ctx.log(`search: ${rows} rows, building IVF_PQ`);
    const build = await timed(() => services.dataset.createVectorIndex('IVF_PQ'));
    ctx.log(`search: ${rows} rows, IVF_PQ`);
    const indexed = await measurePhase(services, `ivf ${rows}`, plan, vectors);
    const exact = await exactNeighbours(services.catalog, vectors);
    const refined = [];
    for (const factor of REFINE_FACTORS) {
      refined.push({ factor, ...(await refinedSearch(services.catalog, vectors, exact, factor)) });
    }
    const ivfPq = { ...indexed.phase, recall: recall(indexed.ids, exact), refined };
    return { rows, fillMs: fill.ms, indexBuildMs: build.ms, flat: flat.phase, ivfPq };
  } finally {
    await services.close();
  }
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const plan: Plan = ctx.quick
    ? { sizes: [1000, 3000], texts: 30, vectors: 20, reconnects: 10 }
    : { sizes: [1000, 10_000, 50_000], texts: 200, vectors: 100, reconnects: 30 };
  const results: SizeResult[] = [];
  for (const rows of plan.sizes) results.push(await measureSize(ctx, rows, plan));
  return report(results, plan);
}

function phases(r: SizeResult): Array<[string, Phase]> {
  return [
    ['flat', r.flat],
    ['IVF_PQ', r.ivfPq],
  ];
}

function latencyTable(results: SizeResult[]): Cell[][] {
  return results.flatMap((r) =>
    phases(r).map(([index, p]) => [
      r.rows.toLocaleString('en'),
      index,
      ms(p.text.p50),
      ms(p.text.p95),
      ms(p.cached.p50),
      ms(p.cached.p95),
      ms(p.vector.p50),
      ms(p.vector.p95),
    ]),
  );
}

function indexTable(results: SizeResult[]): Cell[][] {
  return results.map((r) => [
    r.rows.toLocaleString('en'),
    (r.indexBuildMs / 1000).toFixed(1),
    r.ivfPq.recall.toFixed(3),
    ms(r.ivfPq.vector.p50),
    ...r.ivfPq.refined.flatMap((x) => [x.recall.toFixed(3), ms(x.latency.p50)]),
    ms(r.flat.vector.p50),
  ]);
}

function reconnectTable(results: SizeResult[]): Cell[][] {
  return results.flatMap((r) =>
    phases(r).map(([index, p]) => [
      r.rows.toLocaleString('en'),
      index,
      ms(p.reconnect.p50),
      ms(p.reconnect.p95),
      ms(p.vector.p50),
      ms(p.vector.p95),
      `${(p.reconnect.p50 / p.vector.p50).toFixed(1)}×`,
    ]),
  );
}

function notes(plan: Plan): string[] {
  return [
    'Rows are synthetic, appended through `ImageCatalog.append` in batches of 5,000 (no embedding cost): 512-d unit vectors ' +
      'drawn around 100 random cluster centres with noise as long as the centre (cosine ~0.5 within a cluster). ' +
      'Every query is a fresh draw from the same distribution, not a stored row.',
    `"text": \`SearchService.byText\` over ${plan.texts} distinct texts (limit 10, columns id key filename width height), ` +
      'each new to both caches: text embedding + Lance search + result-cache write. "cached": the same texts again, ' +
      'answered from the result cache. Flat and IVF_PQ use different texts so the second phase misses too.',
    `"vector-only": \`ImageCatalog.search\` with ready query vectors (${plan.vectors} queries): Lance alone, no model.`,
    "IVF_PQ is built by `DatasetService.createVectorIndex('IVF_PQ')` (about √rows partitions, 32 sub-vectors); " +
      "the service searches it with Lance's defaults (nprobes 20, no refine). Exact neighbours come from " +
      '`bypassVectorIndex()` on the same version. The refine columns re-rank refine×10 PQ candidates by their full ' +
      'vectors (`refineFactor`), which the service does not do.',
    'Recall depends on the data: this synthetic set (isotropic noise within clusters) is hard for product quantisation; ' +
      'real CLIP embeddings may fare differently. Measure with EMBEDDING_MODEL and real images before tuning.',
    `"reconnect": \`lancedb.connect\` + \`openTable\` + search + close on every request (${plan.reconnects} requests), ` +
      'as the Python MVP did; "long-lived" is the service\'s pinned handle on the same queries.',
    'On local disk with a warm page cache a reconnect costs little; on object storage every reconnect re-reads the ' +
      'manifest and, with an index, the index files over the network, so expect the gap to be far wider there.',
    "Without a refine step Lance returns PQ-approximate `_distance` values, so the API's `distance`/`score` are " +
      'approximate whenever the index answers.',
  ];
}

function report(results: SizeResult[], plan: Plan): SuiteResult {
  const refineColumns = REFINE_FACTORS.flatMap((f) => [`recall@10, refine ${f}`, `p50 ms, refine ${f}`]);
  return {
    suite: 'search',
    title:
      'Text-search latency at several dataset sizes, flat scan vs IVF_PQ, with recall and the cost of reconnecting per request.',
    tables: [
      {
        title: 'Search latency (ms), one query at a time, warm',
        columns: [
          'rows',
          'index',
          'text p50',
          'text p95',
          'cached p50',
          'cached p95',
          'vector-only p50',
          'vector-only p95',
        ],
        rows: latencyTable(results),
      },
      {
        title: 'IVF_PQ: build time and recall@10 against the exact (flat) top 10',
        columns: ['rows', 'build s', 'recall@10 (service)', 'p50 ms (service)', ...refineColumns, 'flat p50 ms'],
        rows: indexTable(results),
      },
      {
        title: 'Reconnect on every request (the Python MVP) vs the long-lived handle (ms)',
        columns: ['rows', 'index', 'reconnect p50', 'reconnect p95', 'long-lived p50', 'long-lived p95', 'p50 ratio'],
        rows: reconnectTable(results),
      },
    ],
    notes: notes(plan),
    data: { plan, results },
  };
}

export const searchSuite: Suite = { name: 'search', run };
