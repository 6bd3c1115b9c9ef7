/**
 * Query-plan sweep (issue 15): recall@10 and warm p50 of the default vector index for a grid of
 * nprobes × ef × refine, at several dataset sizes side by side in one run, so that the plan
 * `queryPlan` picks can be chosen from figures and its cost compared across sizes.
 *
 * Usage: npm run bench:plan-sweep -- --data DIR [--rows 100000,1000000] [--queries 200]
 *          [--nprobes 4,8,16] [--ef 50,100,200] [--refine 1,2] [--rounds 1]
 * Each size lives in DIR/<rows>: built once (the scale suite's generator and order: the same rows
 * and held-out queries, the service's own compaction and index build) with its queries and exact
 * neighbours, and reused by every later run. Writes benchmarks/results/plan-sweep.{json,md}.
 */
import { parseArgs } from 'node:util';
import type { ClipModel } from '../src/services/embedding/clip-model.js';
import type { Services } from '../src/services/index.js';
import { parseIndexName, queryPlan, type QueryPlan } from '../src/services/catalog/vector-index.js';
import { describeEnvironment } from './lib/environment.js';
import { loadBenchModel } from './lib/model.js';
import { RESULTS_DIR } from './lib/paths.js';
import { ms, renderMarkdown, writeResult, type Cell } from './lib/report.js';
import { openKeptDataset, keptExactNeighbours } from './lib/kept-dataset.js';
import { K, planSearches, recall } from './lib/search-probes.js';
import { summarise, timed } from './lib/stats.js';
import { SyntheticEmbeddings, fillCatalog } from './lib/synthetic.js';

const log = (message: string) => process.stderr.write(`[plan-sweep] ${message}\n`);
const list = (value: string | undefined, fallback: number[]) => (value ? value.split(',').map(Number) : fallback);

interface Size {
  rows: number;
  services: Services;
  queries: Float32Array[];
  exact: string[][];
  /** The plan the service itself would use on this dataset. */
  service: QueryPlan;
  partitions: number;
}

/** The dataset of `rows` rows under `root`, built first if absent, with its queries and their exact neighbours. */
async function openSize(root: string, rows: number, queryCount: number, model: ClipModel): Promise<Size> {
  const { services, dir, fresh } = await openKeptDataset(model, root, rows);
  const embeddings = new SyntheticEmbeddings(model.dimension, { seed: 7 });
  if (fresh) {
    log(`${rows}: filling`);
    const fill = await timed(() => fillCatalog(services.writer, embeddings, rows, 0, 10_000));
    log(`${rows}: filled in ${ms(fill.ms)} ms; compacting`);
    await services.dataset.optimize();
    log(`${rows}: building the default index`);
    const index = await timed(() => services.dataset.createVectorIndex());
    log(`${rows}: index built in ${ms(index.ms)} ms`);
  } else {
    for (let i = 0; i < rows; i++) embeddings.next(); // the queries follow the rows, as in the scale suite
  }
  const queries = Array.from({ length: queryCount }, () => embeddings.next());
  const exact = await keptExactNeighbours(dir, services, queries, (m) => log(`${rows}: ${m}`));
  const { indices } = await services.catalog.describe();
  const name = indices.find((i) => i.columns.includes('vector'))?.name;
  const plan = name ? parseIndexName(name) : null;
  if (!plan) throw new Error(`${dir}: no vector index named by this service (${name ?? 'none'})`);
  return { rows, services, queries, exact, service: queryPlan(plan, K), partitions: plan.partitions };
}

/** One plan over every query of a size: the ids found, and each query's milliseconds. */
function measure(size: Size, plan: QueryPlan): Promise<{ found: string[][]; ms: number[] }> {
  return planSearches(size.services.catalog, size.queries, {
    ...plan,
    nprobes: Math.min(plan.nprobes, size.partitions),
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      rows: { type: 'string' },
      queries: { type: 'string' },
      nprobes: { type: 'string' },
      ef: { type: 'string' },
      refine: { type: 'string' },
      rounds: { type: 'string' },
    },
  });
  if (!values.data) throw new Error('usage: npm run bench:plan-sweep -- --data DIR [--rows 100000,1000000] ...');
  const rowCounts = list(values.rows, [100_000, 1_000_000]);
  const queryCount = Number(values.queries ?? 200);
  const rounds = Number(values.rounds ?? 1);
  const grid: QueryPlan[] = [];
  for (const nprobes of list(values.nprobes, [4, 8, 12, 16, 24]))
    for (const ef of list(values.ef, [50, 100, 150, 200]))
      for (const refineFactor of list(values.refine, [2])) grid.push({ nprobes, ef, refineFactor });

  const bench = await loadBenchModel();
  const env = await describeEnvironment(bench.description);
  const sizes: Size[] = [];
  try {
    for (const rows of rowCounts) {
      sizes.push(await openSize(values.data, rows, queryCount, bench.model));
    }
    log('warming up');
    for (const size of sizes) await measure(size, size.service);
    const plans = [...sizes.map((s) => ({ ...s.service, label: `service at ${s.rows}` })), ...grid];
    // Every round runs every plan, and each plan every size in turn, so that the machine's load
    // drifts over all of them alike; a plan's figures pool its samples over the rounds.
    const samples = plans.map(() => sizes.map(() => ({ found: [] as string[][], ms: [] as number[] })));
    for (let round = 0; round < rounds; round++) {
      for (const [p, plan] of plans.entries()) {
        for (const [s, size] of sizes.entries()) {
          const run = await measure(size, plan);
          samples[p]![s]!.found.push(...run.found);
          samples[p]![s]!.ms.push(...run.ms);
        }
      }
      log(`round ${round + 1} of ${rounds} done`);
    }
    const results = plans.map((plan, p) => {
      const bySize = sizes.map((size, s) => {
        const { found, ms: taken } = samples[p]![s]!;
        return {
          recall: recall(found, Array.from({ length: rounds }, () => size.exact).flat()),
          latency: summarise(taken),
        };
      });
      log(
        `nprobes ${plan.nprobes} ef ${plan.ef} refine ${plan.refineFactor}: ` +
          bySize.map((r, i) => `${sizes[i]!.rows}: ${r.recall.toFixed(3)} ${ms(r.latency.p50)} ms`).join(', '),
      );
      return { plan, bySize };
    });
    const base = 0;
    const columns = ['plan', 'nprobes', 'ef', 'refine'];
    for (const size of sizes) columns.push(`recall@10 at ${size.rows}`, `p50 / p95 at ${size.rows}`);
    if (sizes.length > 1) columns.push(`p50 ratio ${sizes.at(-1)!.rows} ÷ ${sizes[base]!.rows}`);
    const rows: Cell[][] = results.map(({ plan, bySize }) => {
      const label = 'label' in plan ? String(plan.label) : '';
      const cells: Cell[] = [label, plan.nprobes, plan.ef ?? '–', plan.refineFactor];
      for (const r of bySize) cells.push(r.recall.toFixed(3), `${ms(r.latency.p50)} / ${ms(r.latency.p95)}`);
      if (sizes.length > 1) cells.push(`${(bySize.at(-1)!.latency.p50 / bySize[base]!.latency.p50).toFixed(2)}×`);
      return cells;
    });
    const result = {
      suite: 'plan-sweep',
      title: 'Vector query plans: recall@10 and warm latency at each dataset size, side by side',
      notes: [
        `Synthetic clustered 512-d vectors (the scale suite's generator, seed 7), ${queryCount} held-out queries, limit ${K}; exact neighbours from a flat search (bypassVectorIndex).`,
        `Indices: ${sizes.map((s) => `${s.rows} rows, ${s.partitions} partitions`).join('; ')} (the service's own plan).`,
        `Each plan runs every query at every size in turn, on the service's long-lived read handle, after a warm-up; ${rounds} round(s) of every plan, samples pooled; nprobes is capped at the partitions.`,
        'Absolute times on this shared 2-core machine are noisy; compare the sizes within a row.',
      ],
      tables: [{ title: 'Recall and warm latency by plan (local disk)', columns, rows }],
      data: { rows: rowCounts, queries: queryCount, rounds, partitions: sizes.map((s) => s.partitions), results },
    };
    const files = await writeResult(RESULTS_DIR, result, env);
    process.stdout.write(renderMarkdown(result, env) + '\n');
    log(`wrote ${files.join(', ')}`);
  } finally {
    for (const size of sizes) await size.services.close();
    await bench.dispose();
  }
}

await main();
