import * as lancedb from '@lancedb/lancedb';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadSettings } from '../../src/config.js';
import { DATASET_DIR, TABLE_NAME } from '../../src/services/catalog/catalog.js';
import type { Services } from '../../src/services/index.js';
import { openStorage } from '../../src/services/storage/storage.js';
import { testModelDir } from '../../test/support/harness.js';
import { LATENCY_PROFILES, startS3Proxy, type LatencyProfile, type S3Proxy } from '../../test/support/s3-proxy.js';
import { startServiceProcess } from '../../test/support/service-process.js';
import { execFileSync } from 'node:child_process';
import { METADATA_COLUMNS } from '../../src/services/catalog/image-record.js';
import { openServices } from '../lib/harness.js';
import { keptExactNeighbours, latestVersionFiles, openKeptDataset } from '../lib/kept-dataset.js';
import { bytesRead } from '../lib/lance-plan.js';
import { removeObjects, startOn } from '../storage/session.js';
import { ms, type Cell, type SuiteResult } from '../lib/report.js';
import { parseIndexName, queryPlan } from '../../src/services/catalog/vector-index.js';
import { HIT_COLUMNS, K, exactNeighbours, recall, refinedSearch } from '../lib/search-probes.js';
import { sequentialLatencies, summarise, timed, type LatencySummary } from '../lib/stats.js';
import type { Suite, SuiteContext } from '../lib/suite.js';
import { SyntheticEmbeddings, syntheticRow } from '../lib/synthetic.js';
import { writeScaleChart } from './scale-chart.js';
import { lanceReader } from '../../src/services/catalog/test-access.js';

/** Settings every measured service shares: no automatic index (the suite builds it, timed). */
export const QUIET = { LOG_LEVEL: 'silent', INDEX_MIN_ROWS: '1000000000' };
const FILL_BATCH = 1000;

interface Plan {
  rows: number;
  queries: number;
  flatQueries: number;
  mvpQueries: number;
}

export interface TargetFigures {
  target: string;
  warm: LatencySummary;
  /** GETs of objects (listings apart) that reached the store, per warm query. */
  getsPerQuery: number | null;
  /** Listings per warm query: the freshness check, every READ_CONSISTENCY_MS whatever the traffic. */
  listsPerQuery: number | null;
  bytesPerQuery: number | null;
  coldEmptyMs: number | null;
  coldFilledMs: number | null;
  mvp: LatencySummary | null;
}

const planFor = (ctx: SuiteContext): Plan =>
  ctx.quick
    ? { rows: 3000, queries: 30, flatQueries: 5, mvpQueries: 2 }
    : { rows: ctx.rows ?? 100_000, queries: 200, flatQueries: 30, mvpQueries: 3 };

/**
 * Search at scale on object storage (issue 7): one dataset of `--rows` synthetic clustered
 * vectors, built, compacted and indexed locally (timed), then copied to the S3 store and read
 * through the counting proxy, plain and under the S3 Express, S3 Standard and R2 profiles.
 */
export const scaleSuite: Suite = {
  name: 'scale',
  async run(ctx) {
    const plan = planFor(ctx);
    const embeddings = new SyntheticEmbeddings(ctx.model.dimension, { seed: 7 });
    ctx.log('building the service (cold starts run it as deployed: node dist/index.js)');
    execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
    const kept = ctx.dataDir && !ctx.quick ? await openKeptDataset(ctx.model, ctx.dataDir, plan.rows, QUIET) : null;
    const local = kept?.services ?? (await openServices(ctx.model, QUIET));
    try {
      const build =
        kept && !kept.fresh ? skipRows(embeddings, plan.rows) : await buildDataset(local, embeddings, plan.rows, ctx);
      const queries = Array.from({ length: plan.queries }, () => embeddings.next());
      const exact = kept
        ? await keptExactNeighbours(kept.dir, local, queries, ctx.log)
        : (ctx.log(`exact neighbours of ${plan.queries} queries`), await exactNeighbours(local.catalog, queries));
      const flat = await flatLatency(local, queries.slice(0, plan.flatQueries));
      const localWarm = await warmLatency(local, queries);
      const localFigures: TargetFigures = {
        target: 'local disk',
        warm: localWarm.latency,
        getsPerQuery: null,
        listsPerQuery: null,
        bytesPerQuery: null,
        coldEmptyMs: await coldStart({ DATA_URI: path.dirname(local.catalog.uri) }),
        coldFilledMs: null,
        mvp: null,
      };
      const recallAt10 = recall(localWarm.ids, exact);
      const refine = await refineSweep(local, queries, exact);
      const skipped = process.env.S3_ENDPOINT
        ? await tooBigToCopy(path.dirname(local.catalog.uri))
        : 'S3_ENDPOINT unset';
      if (skipped) ctx.log(`object storage not measured: ${skipped}`);
      const remote = skipped ? [] : await remoteTargets(local, queries, plan, ctx);
      const figures = [localFigures, ...remote];
      await writeScaleChart(figures, plan.rows, ctx.quick, ctx.resultName);
      // Last: it adds rows one commit at a time (taken back from a kept dataset).
      const paging = await pagingCost(local, embeddings, plan.rows, ctx, kept !== null);
      return report(plan, build, flat, recallAt10, refine, paging, figures, skipped);
    } finally {
      await local.close();
    }
  },
};

/** Appends the rows in commits of FILL_BATCH, then compacts and builds the default index, timed. */
export async function buildDataset(
  services: Services,
  embeddings: SyntheticEmbeddings,
  rows: number,
  ctx: SuiteContext,
) {
  ctx.log(`filling ${rows} rows`);
  const fill = await timed(async () => {
    for (let start = 0; start < rows; start += FILL_BATCH) {
      const size = Math.min(FILL_BATCH, rows - start);
      const batch = Array.from({ length: size }, (_, i) => syntheticRow(start + i, embeddings.next()));
      await Promise.all(batch.map((row) => services.writer.append(row)));
    }
  });
  ctx.log('compacting');
  const compaction = await timed(() => services.dataset.optimize());
  ctx.log('building the vector index');
  // With the id and filter indices the upkeep builds at INDEX_MIN_ROWS: a search by image looks its
  // vector up by id.
  const index = await timed(async () => {
    await services.dataset.buildScalarIndices();
    return services.dataset.createVectorIndex(services.dataset.defaultIndexType);
  });
  return {
    fillMs: fill.ms,
    compactionMs: compaction.ms,
    indexMs: index.ms,
    fragments: index.value.fragmentCount,
    index: index.value.indices.find((i) => i.columns.includes('vector'))?.type ?? 'none',
  };
}

/** A kept dataset's rows, already built by an earlier run: drawn again so the queries that follow them match. */
function skipRows(embeddings: SyntheticEmbeddings, rows: number): null {
  for (let i = 0; i < rows; i++) embeddings.next();
  return null;
}

/** Recall and local latency at refine factors around the service's, with its probe settings. */
async function refineSweep(services: Services, queries: Float32Array[], exact: string[][]) {
  const { indices } = await services.catalog.describe();
  const name = indices.find((i) => i.columns.includes('vector'))?.name;
  const probes = queryPlan(name ? parseIndexName(name) : null, K);
  const sweep = [];
  for (const factor of [1, 2, 5]) {
    sweep.push({ factor, ...(await refinedSearch(services.catalog, queries, exact, factor, probes)) });
  }
  return { service: probes.refineFactor, ef: probes.ef, nprobes: probes.nprobes, sweep };
}

const PAGE = 100;
const BURST = 200;

/**
 * Bytes Lance reads for a page of 100 without and with vectors, at the start, middle and end of
 * the compacted table, then again after a burst of single-row commits (each its own fragment
 * until the writer's compaction policy folds them in), as the service commits uploads.
 */
async function pagingCost(
  services: Services,
  embeddings: SyntheticEmbeddings,
  rows: number,
  ctx: SuiteContext,
  restore: boolean,
) {
  const metadata: string[] = METADATA_COLUMNS;
  const measure = async (state: string, total: number) => {
    const { table } = await lanceReader(services.catalog);
    const fragments = (await table.stats()).fragmentStats.numFragments;
    const pages = [];
    for (const offset of [0, Math.floor(total / 2), total - PAGE]) {
      const page = (columns: string[]) => bytesRead(table.query().select(columns).offset(offset).limit(PAGE));
      const [withoutVectors, withVectors] = [await page(metadata), await page([...metadata, 'vector'])];
      pages.push({ state, fragments, offset, withoutVectors, withVectors, share: withoutVectors / withVectors });
    }
    return pages;
  };
  const compacted = await measure('compacted', rows);
  const before = await services.catalog.version();
  ctx.log(`${BURST} single-row commits`);
  for (let i = 0; i < BURST; i++) await services.writer.append(syntheticRow(rows + i, embeddings.next()));
  await services.dataset.idle();
  const burst = await measure(`after ${BURST} single-row commits`, rows + BURST);
  if (restore) await services.dataset.restore(before); // the next run's exact neighbours stay true
  return [...compacted, ...burst];
}

async function flatLatency(services: Services, queries: Float32Array[]): Promise<LatencySummary> {
  return summarise(
    await sequentialLatencies(queries, (vector) =>
      services.catalog.search(vector, { limit: K, columns: HIT_COLUMNS, exact: true }).then(() => undefined),
    ),
  );
}

/** Novel queries one at a time, after a warm-up with other vectors: what a warm service answers. */
async function warmLatency(services: Services, queries: Float32Array[]) {
  const warmUp = queries.slice(0, Math.min(20, queries.length / 4));
  for (const vector of warmUp) await services.catalog.search(vector, { limit: K, columns: HIT_COLUMNS });
  const ids: string[][] = [];
  const samples = await sequentialLatencies(queries, async (vector) => {
    const { hits } = await services.catalog.search(vector, { limit: K, columns: HIT_COLUMNS });
    ids.push(hits.map((hit) => hit.image.id));
  });
  return { latency: summarise(samples), ids };
}

/**
 * From spawning the service process to the first search answer, through GraphQL: model load,
 * dataset open, prewarm and readiness, one text search.
 */
async function coldStart(env: Record<string, string>, fill?: { cacheDir: string; bytes: number }): Promise<number> {
  const started = performance.now();
  const service = await startServiceProcess(
    { ...QUIET, LOG_LEVEL: 'info', EMBEDDING_MODEL: await testModelDir(), ...env },
    { built: true, readyWithinMs: 600_000 },
  );
  try {
    const answer = await service.graphql('{ search(text: "a red car") { hits { image { id filename } } } }');
    if (answer.errors) throw new Error(`cold search failed: ${JSON.stringify(answer.errors)}`);
    const ms = performance.now() - started;
    // Untimed: the data files fill after readiness, and a stop does not wait for them; the next
    // start is on a filled cache only once they are whole.
    if (fill) await cacheHolds(fill.cacheDir, fill.bytes);
    return ms;
  } finally {
    await service.stop();
  }
}

/** Waits until the object cache in `dir` holds `bytes` in whole entries (`.data` files; fills write `.tmp` ones). */
async function cacheHolds(dir: string, bytes: number): Promise<void> {
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    let held = 0;
    for (const name of await readdir(dir)) {
      if (name.endsWith('.data')) held += (await stat(path.join(dir, name))).size;
    }
    if (held >= bytes) return;
    if (Date.now() > deadline) throw new Error(`the object cache holds ${held} of ${bytes} bytes after 30 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The local dataset copied to the S3 store, then every profile measured through the proxy. */
async function remoteTargets(local: Services, queries: Float32Array[], plan: Plan, ctx: SuiteContext) {
  const proxy = await startS3Proxy(process.env.S3_ENDPOINT!);
  const prefix = `bench-scale-${Date.now()}`;
  const direct = s3Env(prefix, process.env.S3_ENDPOINT!);
  try {
    ctx.log('copying the dataset to the S3 store');
    await copyDataset(path.dirname(local.catalog.uri), direct);
    const versionBytes = await latestVersionBytes(path.dirname(local.catalog.uri));
    const profiles: Array<[string, LatencyProfile | null]> = [
      ['S3 (local Ceph)', null],
      ['S3 Express (emulated)', LATENCY_PROFILES.S3_EXPRESS],
      ['S3 Standard (emulated)', LATENCY_PROFILES.S3_STANDARD],
      ['R2 (emulated)', LATENCY_PROFILES.R2],
    ];
    const results: TargetFigures[] = [];
    for (const [name, profile] of profiles) {
      ctx.log(`measuring ${name}`);
      proxy.setLatency(profile);
      const env = s3Env(prefix, proxy.url);
      const mvp = profile === LATENCY_PROFILES.R2;
      results.push(await measureRemote(name, proxy, env, queries, plan, ctx, { mvp, versionBytes }));
    }
    return results;
  } finally {
    proxy.setLatency(null);
    await proxy.close();
    await removePrefix(direct);
  }
}

async function measureRemote(
  target: string,
  proxy: S3Proxy,
  env: Record<string, string>,
  queries: Float32Array[],
  plan: Plan,
  ctx: SuiteContext,
  { mvp: withMvp, versionBytes }: { mvp: boolean; versionBytes: number },
): Promise<TargetFigures> {
  const cacheDir = await mkdtemp(path.join(tmpdir(), 'bench-scale-cache-'));
  const withCache = { ...env, OBJECT_CACHE_DIR: cacheDir };
  try {
    const coldEmptyMs = await coldStart(withCache, { cacheDir, bytes: versionBytes });
    const coldFilledMs = await coldStart(withCache);
    const services = await startOn(loadSettings({ ...QUIET, ...withCache }), ctx.model);
    try {
      const warmUp = queries.slice(-20);
      for (const vector of warmUp) await services.catalog.search(vector, { limit: K, columns: HIT_COLUMNS });
      proxy.reset();
      const samples = await sequentialLatencies(queries, (vector) =>
        services.catalog.search(vector, { limit: K, columns: HIT_COLUMNS }).then(() => undefined),
      );
      const stats = proxy.stats();
      const mvp = withMvp ? await mvpLatency(env, queries.slice(0, plan.mvpQueries)) : null;
      return {
        target,
        warm: summarise(samples),
        getsPerQuery: ((stats.byMethod.GET?.requests ?? 0) - stats.lists) / queries.length,
        listsPerQuery: stats.lists / queries.length,
        bytesPerQuery: stats.bytesOut / queries.length,
        coldEmptyMs,
        coldFilledMs,
        mvp,
      };
    } finally {
      await services.close();
    }
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

/**
 * The Python MVP's way on the same store: connect, open and search on every request, with no
 * index and no cache, so every query downloads every vector.
 */
async function mvpLatency(env: Record<string, string>, queries: Float32Array[]): Promise<LatencySummary> {
  const { lanceUri, storageOptions } = openStorage(loadSettings({ ...QUIET, ...env }));
  return summarise(
    await sequentialLatencies(queries, async (vector) => {
      const db = await lancedb.connect(lanceUri, { storageOptions });
      const table = await db.openTable(TABLE_NAME);
      await table
        .vectorSearch(Array.from(vector))
        .distanceType('cosine')
        .bypassVectorIndex()
        .select([...HIT_COLUMNS, '_distance'])
        .limit(K)
        .toArray();
      table.close();
      db.close();
    }),
  );
}

function s3Env(prefix: string, endpoint: string): Record<string, string> {
  const env: Record<string, string> = {
    DATA_URI: `s3://${process.env.S3_BUCKET ?? 'lance-test'}/${prefix}`,
    S3_ENDPOINT: endpoint,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
  };
  for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'])
    if (process.env[name]) env[name] = process.env[name]!;
  return env;
}

/**
 * Why the dataset is not copied to the S3 store, or null. The local store (scripts/s3-local.sh)
 * keeps objects in RAM, 4 GiB by default and shared by every test on the machine: a million
 * rows with their fill's history (4.7 GB) filled it and stalled every client of the store, so
 * only the latest version is copied (2.8 GB at a million rows). Set SCALE_S3_MAX_BYTES for a
 * store with room (`OSD_OBJECTSTORE=bluestore`, or a real bucket).
 */
async function tooBigToCopy(localRoot: string): Promise<string | null> {
  const limit = Number(process.env.SCALE_S3_MAX_BYTES ?? 1024 ** 3);
  const total = await latestVersionBytes(localRoot);
  if (total <= limit) return null;
  return `the latest version's ${(total / 1e9).toFixed(1)} GB exceed SCALE_S3_MAX_BYTES (${(limit / 1e9).toFixed(1)} GB)`;
}

/** The bytes of the files the local dataset's latest version reads. */
async function latestVersionBytes(localRoot: string): Promise<number> {
  const dir = path.join(localRoot, DATASET_DIR);
  let total = 0;
  for (const file of (await latestVersionFiles(dir)).files) total += (await stat(path.join(dir, file))).size;
  return total;
}

/** The files of the local dataset's latest version, put under the same keys in the S3 store (bypassing the proxy). */
async function copyDataset(localRoot: string, env: Record<string, string>): Promise<void> {
  // One PUT a file: at a million rows the compacted data file is 2 GB, far past the service's
  // request timeout on this machine's store.
  const { objects } = openStorage(loadSettings({ ...QUIET, ...env, S3_REQUEST_TIMEOUT_MS: String(30 * 60_000) }));
  const dir = path.join(localRoot, DATASET_DIR);
  const { files } = await latestVersionFiles(dir);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++]!;
      await objects.put(`${DATASET_DIR}/${file}`, await readFile(path.join(dir, file)), 'application/octet-stream');
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

const removePrefix = (env: Record<string, string>) => removeObjects(loadSettings({ ...QUIET, ...env }));

/** Null when the suite reused a dataset kept by an earlier run (`--data`), so built untimed here. */
type BuildFigures = Awaited<ReturnType<typeof buildDataset>> | null;

function report(
  plan: Plan,
  build: BuildFigures,
  flat: LatencySummary,
  recallAt10: number,
  refine: Awaited<ReturnType<typeof refineSweep>>,
  paging: Awaited<ReturnType<typeof pagingCost>>,
  figures: TargetFigures[],
  skipped: string | null,
): SuiteResult {
  const local = figures[0]!;
  const r2 = figures.find((f) => f.target.startsWith('R2'));
  const kb = (bytes: number | null) => (bytes === null ? '–' : `${(bytes / 1024).toFixed(1)} KB`);
  const opt = (v: number | null) => (v === null ? '–' : ms(v));
  const targetRows: Cell[][] = figures.map((f) => [
    f.target,
    `${ms(f.warm.p50)} / ${ms(f.warm.p95)}`,
    `${(f.warm.p50 / local.warm.p50).toFixed(2)}×`,
    f.getsPerQuery === null ? '–' : f.getsPerQuery.toFixed(2),
    f.listsPerQuery === null ? '–' : f.listsPerQuery.toFixed(3),
    kb(f.bytesPerQuery),
    opt(f.coldEmptyMs),
    opt(f.coldFilledMs),
  ]);
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'met' : '**not met**');
  const speedup = flat.p50 / local.warm.p50;
  return {
    suite: 'scale',
    title: `Search over ${plan.rows.toLocaleString('en')} rows on local disk and object storage (issue 7's targets)`,
    notes: [
      `${plan.rows} synthetic clustered 512-d vectors (100 clusters), ${plan.queries} held-out queries, limit ${K}, hits with id, key, filename, width, height, through the service's own ImageCatalog.search.`,
      'Warm: novel queries one at a time after a warm-up with other vectors. GETs and bytes per query are what reached the S3 store through the counting proxy during the warm queries.',
      'Cold: from spawning the built service process (`node dist/index.js`, designed test model) to the answer of its first GraphQL search (`npm start` runs through tsx, which compiles on start: about 1 s more); "empty" starts with an empty OBJECT_CACHE_DIR, "filled" restarts on the cache the first start filled.',
      'Emulated profiles add first-byte latency and per-connection bandwidth to the local Ceph store (test/support/s3-proxy.ts cites their sources).',
      'Absolute times on this shared 2-core machine are noisy; the ratios come from one run, side by side.',
      ...(skipped ? [`Object storage not measured: ${skipped}.`] : []),
    ],
    tables: [
      {
        title: 'Building the dataset',
        columns: ['rows', `fill (${FILL_BATCH}-row commits)`, 'compaction', 'index', 'index build', 'fragments after'],
        rows: build
          ? [[plan.rows, ms(build.fillMs), ms(build.compactionMs), build.index, ms(build.indexMs), build.fragments]]
          : [[plan.rows, 'reused (--data)', '–', '–', '–', '–']],
      },
      {
        title: 'Recall and speed on local disk',
        columns: ['recall@10 vs exact', 'indexed p50 / p95', 'flat (exact) p50 / p95', 'indexed speed-up'],
        rows: [
          [
            recallAt10.toFixed(3),
            `${ms(local.warm.p50)} / ${ms(local.warm.p95)}`,
            `${ms(flat.p50)} / ${ms(flat.p95)}`,
            `${speedup.toFixed(1)}×`,
          ],
        ],
      },
      {
        title: `Refine factor: recall against reads (nprobes ${refine.nprobes}, ef ${refine.ef ?? '–'}; the service refines by ${refine.service})`,
        columns: ['refine factor', 'recall@10', 'local p50 / p95', 'candidate vectors read per query'],
        rows: refine.sweep.map((r) => [
          r.factor,
          r.recall.toFixed(3),
          `${ms(r.latency.p50)} / ${ms(r.latency.p95)}`,
          r.factor * K,
        ]),
      },
      {
        title: 'Per storage target',
        columns: [
          'target',
          'warm p50 / p95',
          'p50 vs local',
          'object GETs / query',
          'LISTs / query',
          'bytes / query',
          'cold, empty cache',
          'cold, filled cache',
        ],
        rows: targetRows,
      },
      {
        title: `Paging: bytes Lance reads for a page of ${PAGE} (local disk)`,
        columns: ['state', 'fragments', 'offset', 'without vectors', 'with vectors', 'share'],
        rows: paging.map((p) => [
          p.state,
          p.fragments,
          p.offset,
          `${(p.withoutVectors / 1024).toFixed(1)} KB`,
          `${(p.withVectors / 1024).toFixed(1)} KB`,
          `${(100 * p.share).toFixed(1)}%`,
        ]),
      },
      {
        title: "The MVP's way on the R2 profile (reconnect per request, no index, no cache)",
        columns: ['queries', 'p50 / p95'],
        rows: r2?.mvp
          ? [[r2.mvp.n, `${ms(r2.mvp.p50)} / ${ms(r2.mvp.p95)}`]]
          : [['–', `not measured (${skipped ?? 'no R2 profile'})`]],
      },
      {
        title: 'Targets',
        columns: ['target', 'figure', 'verdict'],
        rows: [
          [
            'warm R2 p50 within 1.5× of local',
            r2 ? `${(r2.warm.p50 / local.warm.p50).toFixed(2)}×` : '–',
            verdict(r2 && r2.warm.p50 <= 1.5 * local.warm.p50),
          ],
          [
            'zero upstream object GETs per warm query',
            r2 ? String(r2.getsPerQuery) : '–',
            verdict(r2 && r2.getsPerQuery === 0),
          ],
          ['recall@10 ≥ 0.95', recallAt10.toFixed(3), verdict(recallAt10 >= 0.95)],
          [
            'a metadata-only page of 100 under 15% of the bytes with vectors, at every offset',
            `${(100 * Math.max(...paging.map((p) => p.share))).toFixed(1)}% at worst`,
            verdict(paging.every((p) => p.share < 0.15)),
          ],
          ['indexed ≥ 10× faster than flat (local)', `${speedup.toFixed(1)}×`, verdict(speedup >= 10)],
          [
            'cold start, filled cache, R2 ≤ 3 s',
            opt(r2?.coldFilledMs ?? null),
            verdict(r2?.coldFilledMs != null ? r2.coldFilledMs <= 3000 : undefined),
          ],
          [
            'cold start, empty cache, R2 ≤ 15 s',
            opt(r2?.coldEmptyMs ?? null),
            verdict(r2?.coldEmptyMs != null ? r2.coldEmptyMs <= 15000 : undefined),
          ],
        ],
      },
    ],
    data: { plan, build, flat, recallAt10, refine, paging, figures, skipped },
  };
}
