import type { DatasetInfo } from '../../src/services/catalog/catalog.js';
import type { Services } from '../../src/services/index.js';
import { openServices } from '../lib/harness.js';
import { bytes, ms, type Cell, type SuiteResult } from '../lib/report.js';
import type { Suite, SuiteContext } from '../lib/suite.js';
import { SyntheticEmbeddings, syntheticRow } from '../lib/synthetic.js';
import { readCostOfFragments, type ReadCostResult } from './growth-read-cost.js';

const KINDS = ['data', 'manifest', 'transaction', 'deletion', 'index', 'other'] as const;
/** Enough rows for IVF_PQ to train on (it needs 256). */
const SEED_ROWS = 1000;

interface Snapshot {
  step: string;
  version: number;
  rows: number;
  fragments: number;
  unindexedRows: number | null;
  files: Record<string, { count: number; bytes: number }>;
}

function snapshot(step: string, info: DatasetInfo): Snapshot {
  const files = Object.fromEntries(KINDS.map((kind) => [kind, { count: 0, bytes: 0 }]));
  for (const file of info.files) {
    const entry = (files[file.kind] ??= { count: 0, bytes: 0 });
    entry.count += 1;
    entry.bytes += file.size;
  }
  const vectorIndex = info.indices.find((index) => index.columns.includes('vector'));
  return {
    step,
    version: info.version,
    rows: info.rowCount,
    fragments: info.fragmentCount,
    unindexedRows: vectorIndex?.unindexedRows ?? null,
    files,
  };
}

/**
 * The steps, each through the service's own write path: the writer for appends and deletes
 * (awaited one by one unless said otherwise), the dataset service for the index and optimize.
 */
function steps(services: Services): Array<[string, () => Promise<unknown>]> {
  const embeddings = new SyntheticEmbeddings(services.batcher.dimension);
  let next = 0;
  const append = (count: number) =>
    Promise.all(Array.from({ length: count }, () => services.writer.append(syntheticRow(next++, embeddings.next()))));
  const singles: Array<[string, () => Promise<unknown>]> = Array.from({ length: 10 }, (_, i) => [
    `append 1 row (${i + 1}/10)`,
    () => append(1),
  ]);
  return [
    [`seed: append ${SEED_ROWS} rows at once (one group commit)`, () => append(SEED_ROWS)],
    ...singles,
    ['append a batch of 100 rows', () => append(100)],
    ['delete 5 rows (5 concurrent deletes)', () => deleteRows(services, [3, 14, 15, 92, 65])],
    ['build IVF_PQ index', () => services.dataset.createVectorIndex('IVF_PQ')],
    ['append 1 row (not in the index yet)', () => append(1)],
    ['optimize (compact + index new rows)', () => services.dataset.optimize()],
  ];
}

function deleteRows(services: Services, indices: number[]): Promise<unknown> {
  return Promise.all(indices.map((i) => services.dataset.delete(syntheticRow(i, new Float32Array()).id)));
}

async function fileGrowth(ctx: SuiteContext): Promise<Snapshot[]> {
  const services = await openServices(ctx.model);
  try {
    const snapshots = [snapshot('empty dataset (created at start-up)', await services.catalog.describe())];
    for (const [step, action] of steps(services)) {
      ctx.log(`growth: ${step}`);
      await action();
      snapshots.push(snapshot(step, await services.catalog.describe()));
    }
    return snapshots;
  } finally {
    await services.close();
  }
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const snapshots = await fileGrowth(ctx);
  const rows = ctx.quick ? 200 : 1000;
  ctx.log(`growth: read cost of ${rows} single-row fragments`);
  const services = await openServices(ctx.model);
  try {
    return report(snapshots, await readCostOfFragments(services, rows, ctx.quick ? 10 : 30));
  } finally {
    await services.close();
  }
}

function row(s: Snapshot, kinds: readonly string[]): Cell[] {
  const total = Object.values(s.files).reduce(
    (sum, f) => ({ count: sum.count + f.count, bytes: sum.bytes + f.bytes }),
    {
      count: 0,
      bytes: 0,
    },
  );
  const cell = (f: { count: number; bytes: number } | undefined) => (f?.count ? `${f.count} / ${bytes(f.bytes)}` : '–');
  return [
    s.step,
    s.version,
    s.rows.toLocaleString('en'),
    s.fragments,
    s.unindexedRows ?? '–',
    ...kinds.map((kind) => cell(s.files[kind])),
    cell(total),
  ];
}

function readCostRows(readCost: ReadCostResult): Cell[][] {
  return readCost.costs.map((c) => [
    c.state,
    c.fragments,
    ms(c.search.p50),
    ms(c.search.p95),
    ms(c.getById.p50),
    ms(c.getById.p95),
  ]);
}

function notes(readCost: ReadCostResult): string[] {
  return [
    'Rows are synthetic (512-d vectors, plausible metadata) appended through `CatalogWriter.append`, the upload path minus ' +
      'embedding; deletes go through `DatasetService.delete`; the index and optimize through `DatasetService`.',
    'Every commit writes a new manifest (`_versions/`) and a transaction file (`_transactions/`); every append adds a ' +
      'data file and a fragment, so single-row appends grow the file count linearly until an optimize compacts them.',
    'Deletes write deletion files (`_deletions/`) instead of rewriting data; the 5 concurrent deletes share one commit.',
    'Optimize keeps every old version (the service passes `cleanupOlderThan: new Date(0)` for time travel), so compaction ' +
      'adds files (the compacted data, a new index delta) and removes none: total bytes only go up.',
    '`_versions/` also holds `latest_version_hint.json`, so there is one more manifest-kind file than versions.',
    'Automatic index maintenance is off (INDEX_MIN_ROWS out of reach) so each step does exactly what it says.',
    `Read cost: ${readCost.rows} synthetic rows appended through \`ImageCatalog.append\` one row per commit ` +
      `(${(readCost.fillMs / 1000).toFixed(1)} s), as that many sequential uploads would leave them; then ` +
      `\`DatasetService.optimize()\` (${(readCost.optimizeMs / 1000).toFixed(1)} s). "search" is \`ImageCatalog.search\` ` +
      '(flat, limit 10); "get by id" is `ImageCatalog.get` of all columns, which an upload of already stored bytes does. ' +
      'The service only optimizes on its own once the dataset has INDEX_MIN_ROWS rows (default 5,000).',
  ];
}

function report(snapshots: Snapshot[], readCost: ReadCostResult): SuiteResult {
  // "other" appears only if Lance writes something outside its known folders.
  const kinds = KINDS.filter((kind) => kind !== 'other' || snapshots.some((s) => s.files.other?.count));
  return {
    suite: 'growth',
    title: 'How the files under images.lance/ grow with each kind of write (from `ImageCatalog.describe()`).',
    tables: [
      {
        title: 'Dataset after each step (files: count / bytes)',
        columns: ['step', 'version', 'rows', 'fragments', 'unindexed rows', ...kinds, 'total'],
        rows: snapshots.map((s) => row(s, kinds)),
      },
      {
        title: `What fragments cost readers: ${readCost.rows} rows, vector search and whole-row get by id (ms)`,
        columns: ['state', 'fragments', 'search p50', 'search p95', 'get by id p50', 'get by id p95'],
        rows: readCostRows(readCost),
      },
    ],
    notes: notes(readCost),
    data: { snapshots, readCost },
  };
}

export const growthSuite: Suite = { name: 'growth', run };
