/**
 * Replicas on one dataset (issue 15's replica targets): real service processes (designed test
 * model) over a dataset prefilled with `--rows` synthetic rows, on local disk or the local S3 store
 * (`--store s3`, optionally through the proxy's R2 latency profile).
 *
 * By default, two replicas with the id index (the upkeep's index builds kept out), handing their
 * appends to the lease holder (REPLICA_URL, REPLICA_TOKEN; `--no-relay`: each commits its own):
 * - An upload right after the other replica's commit, against one right after the replica's own
 *   (issue 15: ≤ 1.5× at p50). The first used to wait for a rescan of every id.
 * - How long a write on one replica takes to be found by id on the other (≤ 3 s).
 * - The same bytes to both replicas at once: errors, and rows with the id once both answered.
 *
 * With `--rate`, the upload rate of 1, 2 and 4 replicas at their defaults instead (≥ 2.5× with 4,
 * 0 lost, 0 duplicated): `--clients` per replica for `--seconds` each (lib/replica-rate.ts), handing
 * their appends over or not as above.
 *
 * Usage: npm run bench:replicas [-- --rows 100000 --rounds 20 --store s3 --profile R2]
 *        npm run bench:replicas -- --rate [--replicas 1,2,4 --clients 8 --seconds 30] --store s3 --profile R2
 * Writes benchmarks/results/replicas[-no-relay][-s3[-r2]].{json,md}, or replicas-rate[-no-relay][-s3[-r2]].{json,md}
 * with `--rate` (`--quick`: *.quick.*, a smoke run).
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { tempDir } from '../test/support/harness.js';
import { COLOURS, distinctImages } from '../test/support/images.js';
import { startServiceProcess, testModelDir, type ServiceProcess } from '../test/support/service-process.js';
import { describeEnvironment } from './lib/environment.js';
import { RESULTS_DIR, resultName } from './lib/paths.js';
import { measureRates } from './lib/replica-rate.js';
import { writeRateResults } from './lib/replica-rate-report.js';
import {
  describeRelay,
  describeStore,
  openDataset,
  prefilledStore,
  relaySettings,
  storeSuffix,
} from './lib/replica-store.js';
import { summarise, type LatencySummary } from './lib/stats.js';

const { values } = parseArgs({
  allowNegative: true,
  options: {
    rows: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '20' },
    store: { type: 'string', default: 'local' },
    profile: { type: 'string' },
    quick: { type: 'boolean', default: false },
    rate: { type: 'boolean', default: false },
    replicas: { type: 'string', default: '1,2,4' },
    clients: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '30' },
    relay: { type: 'boolean', default: true },
  },
});
const ROWS = Number(values.quick ? 2000 : values.rows);
const ROUNDS = Number(values.quick ? 3 : values.rounds);
const STORE = { rows: ROWS, store: values.store, profile: values.profile };
const MODEL = 'designed test model (scripts/make-test-model.ts)';
const RELAY_SUFFIX = values.relay ? '' : '-no-relay';

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

/** Two replicas, one upload at a time (the default). */
async function measurePairs(): Promise<void> {
  const store = await prefilledStore({ ...STORE, indices: 'id' });
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
          ...(await relaySettings(values.relay)),
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
      environment: await describeEnvironment(MODEL),
      store: values.store,
      profile: values.profile ?? null,
      rows: ROWS,
      rounds: ROUNDS,
      relay: values.relay,
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
    // One results file per store and profile: replicas, replicas-s3, replicas-s3-r2 (-no-relay: each commits its own).
    const name = resultName(`replicas${RELAY_SUFFIX}${storeSuffix(STORE)}`, values.quick);
    await writeFile(path.join(RESULTS_DIR, `${name}.json`), JSON.stringify(result, null, 2) + '\n');
    const row = (label: string, s: LatencySummary) =>
      `| ${label} | ${s.p50.toFixed(0)} | ${s.p95.toFixed(0)} | ${s.min.toFixed(0)} | ${s.max.toFixed(0)} |`;
    const md = [
      '# Two replicas on one dataset',
      '',
      `${ROWS.toLocaleString('en')} rows prefilled with the id index, ${describeStore({ ...STORE, indices: 'id' })}; ` +
        `two service processes at their defaults (READ_CONSISTENCY_MS 1000), ${describeRelay(values.relay)}, ${ROUNDS} rounds, one upload at a time.`,
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
}

/**
 * The upload rate of 1, 2 and 4 replicas (`--rate`), in results files of its own: a run of one
 * part must not overwrite the other's figures, and the two parts prefill differently.
 */
async function measureRate(): Promise<void> {
  const options = {
    ...STORE,
    indices: 'all' as const,
    replicaCounts: (values.quick ? '1,2' : values.replicas).split(',').map(Number),
    clients: Number(values.clients),
    seconds: Number(values.quick ? 5 : values.seconds),
    relay: values.relay,
  };
  const environment = await describeEnvironment(MODEL);
  const runs = await measureRates(options, (line) => process.stderr.write(`${line}\n`));
  const name = resultName(`replicas-rate${RELAY_SUFFIX}${storeSuffix(STORE)}`, values.quick);
  process.stdout.write(await writeRateResults(name, environment, options, runs));
}

await (values.rate ? measureRate() : measurePairs());
