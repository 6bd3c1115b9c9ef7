/**
 * Two replicas on one dataset (issue 15's replica targets): real service processes (designed test
 * model) over a dataset prefilled with `--rows` synthetic rows and its id index, on local disk or
 * the local S3 store (`--store s3`, optionally through the proxy's R2 latency profile).
 *
 * - An upload right after the other replica's commit, against one right after the replica's own
 *   (issue 15: ≤ 1.5× at p50). The first used to wait for a rescan of every id.
 * - How long a write on one replica takes to be found by id on the other (≤ 3 s).
 * - The same bytes to both replicas at once: errors, and rows with the id once both answered.
 *
 * Usage: npm run bench:replicas [-- --rows 100000 --rounds 20 --store s3 --profile R2]
 * Writes benchmarks/results/replicas[-s3[-r2]].{json,md} (`--quick`: *.quick.*, a smoke run).
 */
import * as lancedb from '@lancedb/lancedb';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startS3Proxy, LATENCY_PROFILES, type S3Proxy } from '../test/support/s3-proxy.js';
import { s3Env } from '../test/support/s3.js';
import { syntheticRows, tempDir, testModel, testModelDir } from '../test/support/harness.js';
import { COLOURS, distinctImages } from '../test/support/images.js';
import { startServiceProcess, type ServiceProcess } from '../test/support/service-process.js';
import { loadSettings } from '../src/config.js';
import { TABLE_NAME } from '../src/services/catalog/catalog.js';
import { openStorage } from '../src/services/storage/storage.js';
import { describeEnvironment } from './lib/environment.js';
import { openServices } from './lib/harness.js';
import { RESULTS_DIR, resultName } from './lib/paths.js';
import { summarise, type LatencySummary } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '20' },
    store: { type: 'string', default: 'local' },
    profile: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const ROWS = Number(values.quick ? 2000 : values.rows);
const ROUNDS = Number(values.quick ? 3 : values.rounds);
const PREFILL_BATCH = 10_000;

/** The storage both replicas share, prefilled; `env` is what a replica is started with. */
async function prefilledStore(): Promise<{
  env: Record<string, string>;
  /** The same storage, past the proxy. */
  directEnv: Record<string, string>;
  proxy?: S3Proxy;
  drop(): Promise<void>;
}> {
  const dimension = (await testModel()).dimension;
  const base = values.store === 's3' ? s3Env() : { DATA_URI: await tempDir('bench-replicas-') };
  // Straight to the store, past the proxy: the prefill is not what is measured.
  const filler = await openServices(await testModel(), base);
  for (let offset = 0; offset < ROWS; offset += PREFILL_BATCH) {
    const rows = syntheticRows(Math.min(PREFILL_BATCH, ROWS - offset), dimension, offset);
    await Promise.all(rows.map((row) => filler.writer.append(row)));
  }
  // The id index the service builds at INDEX_MIN_ROWS: every lookup by id goes through it.
  await filler.writer.buildIndex({ column: 'id', config: lancedb.Index.btree(), name: 'id_idx', type: 'BTree' });
  await filler.writer.flush();
  const close = filler.close;
  const drop = async () => {
    await close();
    if (values.store !== 's3') return rm(base.DATA_URI!, { recursive: true, force: true });
    // The local store keeps everything in memory: what a run wrote goes with it.
    const { objects } = openStorage(loadSettings(base));
    const keys: string[] = [];
    for await (const object of objects.list('')) keys.push(object.key);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => objects.delete(k)));
  };
  if (values.store !== 's3') return { env: base, directEnv: base, drop };
  const profile = values.profile ? LATENCY_PROFILES[values.profile as keyof typeof LATENCY_PROFILES] : undefined;
  const proxy = await startS3Proxy(process.env.S3_ENDPOINT!, { latency: profile });
  return {
    env: { ...base, S3_ENDPOINT: proxy.url },
    directEnv: base,
    proxy,
    drop: async () => (await proxy.close(), drop()),
  };
}

/** The images table, opened apart from the replicas (a reader of the storage, as a person would). */
async function openDataset(env: Record<string, string>): Promise<lancedb.Table> {
  const storage = openStorage(loadSettings(env));
  const db = await lancedb.connect(storage.lanceUri, { storageOptions: storage.storageOptions });
  return db.openTable(TABLE_NAME);
}

async function timedUpload(replica: ServiceProcess, bytes: Uint8Array, name: string): Promise<number> {
  const started = performance.now();
  const { created } = await replica.upload(bytes, name);
  if (!created) throw new Error(`${name} was answered as stored already`);
  return performance.now() - started;
}

/** Milliseconds from `b`'s answer to an upload until `a` finds the image by id (polled every 20 ms). */
async function seenAfter(a: ServiceProcess, b: ServiceProcess, bytes: Uint8Array): Promise<number> {
  const { id } = await b.upload(bytes, 'seen.jpg');
  const started = performance.now();
  for (;;) {
    const read = await a.graphql<{ image: { id: string } | null }>('query ($id: ID!) { image(id: $id) { id } }', {
      id,
    });
    if (read.data?.image) return performance.now() - started;
    if (performance.now() - started > 30_000) throw new Error(`image ${id} not seen on the other replica in 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const store = await prefilledStore();
const model = await testModelDir();
const replicas: ServiceProcess[] = [];
const cacheDirs: string[] = [];
try {
  for (let i = 0; i < 2; i++) {
    cacheDirs.push(await tempDir('bench-replicas-cache-'));
    replicas.push(
      await startServiceProcess({
        ...store.env,
        EMBEDDING_MODEL: model,
        OBJECT_CACHE_DIR: cacheDirs[i]!,
        // The upkeep's index builds stay out of the figures; the id index exists already.
        INDEX_MIN_ROWS: '1000000000',
      }),
    );
  }
  const [a, b] = replicas as [ServiceProcess, ServiceProcess];
  const images = await distinctImages(ROUNDS * 6 + 2, COLOURS.green, 10_000);
  let next = 0;
  const image = () => images[next++]!;
  await timedUpload(a, image(), 'warm-a.jpg');
  await timedUpload(b, image(), 'warm-b.jpg');

  const afterOwn: number[] = [];
  const afterOther: number[] = [];
  const seen: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await a.upload(image(), 'own.jpg');
    afterOwn.push(await timedUpload(a, image(), 'after-own.jpg'));
    await b.upload(image(), 'other.jpg');
    afterOther.push(await timedUpload(a, image(), 'after-other.jpg'));
    seen.push(await seenAfter(a, b, image()));
  }

  const same = await distinctImages(ROUNDS, COLOURS.purple, 20_000);
  const failures: string[] = [];
  let extraRows = 0;
  const dataset = await openDataset(store.directEnv);
  try {
    for (const [i, bytes] of same.entries()) {
      const answers = await Promise.allSettled([
        a.upload(bytes, `same-${i}-a.jpg`),
        b.upload(bytes, `same-${i}-b.jpg`),
      ]);
      for (const answer of answers) if (answer.status === 'rejected') failures.push(String(answer.reason));
      // Once the staleness bound (READ_CONSISTENCY_MS) is over, with no further writes: counted in
      // the dataset itself, past the proxy, rather than by a replica whose view may lag.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await dataset.checkoutLatest();
      extraRows += Math.max(0, (await dataset.countRows(`filename LIKE 'same-${i}-%'`)) - 1);
    }
  } finally {
    dataset.close();
  }
  const errors = failures.length;

  const own = summarise(afterOwn);
  const other = summarise(afterOther);
  const result = {
    environment: await describeEnvironment('designed test model (scripts/make-test-model.ts)'),
    store: values.store,
    profile: values.profile ?? null,
    rows: ROWS,
    rounds: ROUNDS,
    uploadAfterOwnCommitMs: own,
    uploadAfterOtherCommitMs: other,
    ratioP50: other.p50 / own.p50,
    seenOnOtherReplicaMs: summarise(seen),
    sameBytesToBoth: {
      pairs: same.length,
      errors,
      failures: failures.slice(0, 5),
      extraRowsAfterStalenessBound: extraRows,
    },
    objectRequests: store.proxy?.stats().requests ?? null,
  };
  // One results file per store and profile: replicas, replicas-s3, replicas-s3-r2.
  const where = [values.store === 's3' ? '-s3' : '', values.profile ? `-${values.profile.toLowerCase()}` : ''].join('');
  const name = resultName(`replicas${where}`, values.quick ?? false);
  await writeFile(path.join(RESULTS_DIR, `${name}.json`), JSON.stringify(result, null, 2) + '\n');
  const row = (label: string, s: LatencySummary) =>
    `| ${label} | ${s.p50.toFixed(0)} | ${s.p95.toFixed(0)} | ${s.min.toFixed(0)} | ${s.max.toFixed(0)} |`;
  const md = [
    '# Two replicas on one dataset',
    '',
    `${ROWS.toLocaleString('en')} rows prefilled with the id index, ${values.store === 's3' ? `the local S3 store${values.profile ? ` through the ${values.profile} latency profile` : ''}` : 'local disk'}; ` +
      `two service processes at their defaults (READ_CONSISTENCY_MS 1000), ${ROUNDS} rounds, one upload at a time.`,
    '',
    '| ms | p50 | p95 | min | max |',
    '|---|---|---|---|---|',
    row("upload right after the replica's own commit", own),
    row("upload right after the other replica's commit", other),
    row('a write found by id on the other replica', result.seenOnOtherReplicaMs),
    '',
    `After the other's commit ÷ after its own, p50: **${result.ratioP50.toFixed(2)}×** (issue 15: ≤ 1.5×).`,
    '',
    `The same bytes to both replicas at once, ${same.length} times: ${errors} errors, ${extraRows} extra rows in the dataset 1 s after both had answered (no further writes).`,
    '',
  ].join('\n');
  await writeFile(path.join(RESULTS_DIR, `${name}.md`), md);
  process.stdout.write(md);
} catch (error) {
  // What the replicas logged last says why one stopped answering.
  for (const [i, replica] of replicas.entries()) {
    process.stderr.write(
      `replica ${i}:\n${replica.logs
        .slice(-15)
        .map((l) => JSON.stringify(l).slice(0, 600))
        .join('\n')}\n`,
    );
  }
  throw error;
} finally {
  await Promise.all(replicas.map((r) => r.stop()));
  await Promise.all(cacheDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  await store.drop();
}
