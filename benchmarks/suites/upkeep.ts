import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSettings } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { DATASET_DIR } from '../../src/services/catalog/catalog.js';
import { startServices, type Services } from '../../src/services/index.js';
import { linkLatestVersion, openKeptDataset } from '../lib/kept-dataset.js';
import type { Cell } from '../lib/report.js';
import type { Suite, SuiteContext } from '../lib/suite.js';
import { fillCatalog, SyntheticEmbeddings } from '../lib/synthetic.js';
import { upkeepSteps } from '../lib/upkeep-steps.js';
import { buildDataset, QUIET } from './scale.js';

/** Rows appended before each round, as a share of the table: past the upkeep's tenth unindexed. */
const APPENDED_SHARE = 0.125;
const ROUNDS = 2;
const BATCH = 10_000;

type Strategy = 'upkeep' | 'optimize';

interface Round {
  strategy: Strategy;
  round: number;
  rowsBefore: number;
  appended: number;
  ms: number;
  rowsRewritten: number;
  largestStepRows: number;
  largestStepShare: number;
  steps: number;
  fragmentsAfter: number;
  vectorIndex: string;
}

/**
 * Indexing new rows at scale (issue 15): a tenth and a bit more appended to a copy of the dataset
 * the scale suite keeps (`--data DIR`, hard links to its latest version), then brought into the
 * indices, twice; once by the service's upkeep (a fold of the newest fragments, then every index
 * built anew) and once, on another copy, by Lance's `optimize()` (what the upkeep called before).
 * Measures the time each takes and the rows each step rewrote, from the manifests.
 */
export const upkeepSuite: Suite = {
  name: 'upkeep',
  skip: (ctx) => (ctx.dataDir ? undefined : 'needs --data DIR: a dataset kept by the scale suite (--rows N)'),
  async run(ctx) {
    const rows = ctx.quick ? 20_000 : (ctx.rows ?? 1_000_000);
    const source = await keptDataset(ctx, rows);
    const results: Round[] = [];
    for (const strategy of ['upkeep', 'optimize'] as const) results.push(...(await measure(ctx, source, strategy)));
    return report(rows, results);
  },
};

async function keptDataset(ctx: SuiteContext, rows: number): Promise<string> {
  const kept = await openKeptDataset(ctx.model, ctx.dataDir!, rows, QUIET);
  try {
    if (kept.fresh) {
      ctx.log(`no kept dataset of ${rows} rows: building it`);
      await buildDataset(kept.services, new SyntheticEmbeddings(ctx.model.dimension, { seed: 7 }), rows, ctx);
    }
    return path.join(kept.dir, DATASET_DIR);
  } finally {
    await kept.services.close();
  }
}

async function measure(ctx: SuiteContext, source: string, strategy: Strategy): Promise<Round[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-upkeep-'));
  try {
    const dataset = path.join(dir, DATASET_DIR);
    await linkLatestVersion(source, dataset);
    // The upkeep at the service's defaults, run when this suite says: the lease's timer, which
    // would also start it, looks only once an hour.
    const settings = loadSettings({ DATA_URI: dir, LOG_LEVEL: 'silent', MAINTENANCE_LEASE_MS: '10800000' });
    const services = await startServices(settings, createLogger('silent'), ctx.model);
    try {
      const embeddings = new SyntheticEmbeddings(ctx.model.dimension, { seed: 99 });
      const rounds: Round[] = [];
      let next = 10_000_000; // row numbers the kept dataset does not use
      for (let round = 1; round <= ROUNDS; round++) {
        const rowsBefore = (await services.catalog.describe()).rowCount;
        const appended = Math.ceil((rowsBefore * APPENDED_SHARE) / BATCH) * BATCH;
        ctx.log(`${strategy}, round ${round}: appending ${appended} rows to ${rowsBefore}`);
        await fillCatalog(services.writer, embeddings, appended, next, BATCH);
        next += appended;
        const start = await services.catalog.version();
        const started = performance.now();
        await bringIntoIndices(services, strategy);
        const ms = performance.now() - started;
        const steps = await upkeepSteps(dataset, start);
        const info = await services.catalog.describe();
        rounds.push({
          strategy,
          round,
          rowsBefore,
          appended,
          ms,
          rowsRewritten: steps.steps.reduce((sum, s) => sum + s.rowsWritten, 0),
          largestStepRows: Math.max(0, ...steps.steps.map((s) => s.rowsWritten)),
          largestStepShare: Math.max(0, ...steps.steps.map((s) => s.rowsWritten / s.tableRows)),
          steps: steps.versions,
          fragmentsAfter: info.fragmentCount,
          vectorIndex: info.indices.find((i) => i.columns.includes('vector'))?.name ?? '–',
        });
      }
      return rounds;
    } finally {
      await services.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Until no index lacks a row: the upkeep's passes, or one optimize. */
async function bringIntoIndices(services: Services, strategy: Strategy): Promise<void> {
  if (strategy === 'optimize') {
    await services.dataset.optimize();
    return;
  }
  for (let pass = 0; pass < 5; pass++) {
    await services.dataset.maintain();
    const indices = await services.catalog.indices();
    if (indices.every((i) => i.unindexedRows === 0)) return;
  }
  throw new Error('the upkeep left rows unindexed after five passes');
}

function report(rows: number, results: Round[]) {
  const upkeep = results.filter((r) => r.strategy === 'upkeep');
  const optimize = results.filter((r) => r.strategy === 'optimize');
  const largest = Math.max(...upkeep.map((r) => r.largestStepShare));
  const label: Record<Strategy, string> = {
    upkeep: 'the upkeep: the newest fragments folded, indices built anew',
    optimize: 'Lance’s optimize()',
  };
  const k = (n: number) => n.toLocaleString('en');
  const table: Cell[][] = results.map((r) => [
    label[r.strategy],
    r.round,
    `${k(r.rowsBefore)} + ${k(r.appended)}`,
    `${(r.ms / 1000).toFixed(0)} s`,
    k(r.rowsRewritten),
    `${k(r.largestStepRows)} (${(100 * r.largestStepShare).toFixed(1)}%)`,
    r.fragmentsAfter,
    r.vectorIndex,
  ]);
  const ratio = (i: number) => `${(upkeep[i]!.ms / optimize[i]!.ms).toFixed(2)}×`;
  return {
    suite: 'upkeep',
    data: { rows, results },
    title: `Indexing new rows at ${k(rows)} rows: the upkeep against Lance’s optimize (issue 15)`,
    notes: [
      `On hard links to the latest version of the dataset the scale suite keeps under --data; ${100 * APPENDED_SHARE}% more rows appended in commits of ${k(BATCH)} before each round (past the upkeep’s tenth unindexed), then brought into every index, timed; one copy for each way, in the same run.`,
      'Rows rewritten: from the manifests of the versions each round made, the rows of each fragment a version holds that the one before did not (index builds write none). A step is one version.',
      'The upkeep: a fold of the newest fragments, at most a tenth of the rows (a Lance update puts its fragment last, so only the newest keep their upload order), then the id and filter indices and the vector index built anew (trained for the rows there are). Lance’s optimize(): its compaction (every fragment under 1,048,576 rows with its indexed neighbours), then the new rows merged into each index.',
    ],
    tables: [
      {
        title: 'Each round',
        columns: [
          'way',
          'round',
          'rows + appended',
          'time',
          'rows rewritten',
          'largest step (share of the table)',
          'fragments after',
          'vector index after',
        ],
        rows: table,
      },
      {
        title: 'Targets',
        columns: ['target', 'figure', 'verdict'],
        rows: [
          [
            'no upkeep step rewrites more than 10% of the table',
            `largest: ${(100 * largest).toFixed(1)}% (Lance’s optimize: ${(100 * Math.max(...optimize.map((r) => r.largestStepShare))).toFixed(1)}%)`,
            largest <= 0.1 ? 'met' : '**not met**',
          ],
          ['time, upkeep ÷ optimize', `round 1 ${ratio(0)}, round 2 ${ratio(1)}`, '–'],
        ],
      },
    ],
  };
}
