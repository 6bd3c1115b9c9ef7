/**
 * The storage several service processes share in benchmarks/replicas.ts: a dataset prefilled with
 * synthetic rows on local disk or the local S3 store, optionally behind the proxy's latency profile.
 */
import * as lancedb from '@lancedb/lancedb';
import { rm } from 'node:fs/promises';
import { startS3Proxy, LATENCY_PROFILES, type S3Proxy } from '../../test/support/s3-proxy.js';
import { emptyPrefix, s3Env } from '../../test/support/s3.js';
import { syntheticRows, tempDir, testModel } from '../../test/support/harness.js';
import { loadSettings } from '../../src/config.js';
import { TABLE_NAME } from '../../src/services/catalog/catalog.js';
import { createLogger } from '../../src/logger.js';
import { startServices } from '../../src/services/index.js';
import { openStorage } from '../../src/services/storage/storage.js';
import { freePort } from '../../test/support/service-process.js';

const PREFILL_BATCH = 10_000;

export interface StoreOptions {
  rows: number;
  /** 'local' or 's3' */
  store: string;
  /** A key of LATENCY_PROFILES, for the S3 store only. */
  profile?: string;
  /**
   * 'id': the id index alone (replicas started with INDEX_MIN_ROWS out of reach). 'all': compacted,
   * with every index the upkeep builds at INDEX_MIN_ROWS, so that replicas at their defaults find
   * no index to build and measure what they do in steady state.
   */
  indices: 'id' | 'all';
}

export interface PrefilledStore {
  /** What a replica is started with. */
  env: Record<string, string>;
  /** The same storage, past the proxy. */
  directEnv: Record<string, string>;
  proxy?: S3Proxy;
  drop(): Promise<void>;
}

/** A fresh dataset (a temp dir, or a fresh prefix in the bucket) prefilled with `rows` rows. */
export async function prefilledStore(options: StoreOptions): Promise<PrefilledStore> {
  const s3 = options.store === 's3';
  const base = s3 ? s3Env() : { DATA_URI: await tempDir('bench-replicas-') };
  // Straight to the store, past the proxy: the prefill is not what is measured. Closed once done:
  // left open, it would hold the maintenance lease and run the upkeep for the replicas' commits.
  const fillerCache = await tempDir('bench-replicas-filler-cache-');
  const filler = await startServices(
    loadSettings({ ...base, INDEX_MIN_ROWS: '1000000000', OBJECT_CACHE_DIR: fillerCache }),
    createLogger('silent'),
    testModel(),
  );
  const dimension = (await testModel()).dimension;
  for (let offset = 0; offset < options.rows; offset += PREFILL_BATCH) {
    const rows = syntheticRows(Math.min(PREFILL_BATCH, options.rows - offset), dimension, offset);
    await Promise.all(rows.map((row) => filler.writer.append(row)));
  }
  if (options.indices === 'all') {
    await filler.dataset.optimize();
    await filler.dataset.buildScalarIndices();
    await filler.dataset.createVectorIndex(filler.dataset.defaultIndexType);
  } else {
    // The id index the service builds at INDEX_MIN_ROWS: every lookup by id goes through it.
    await filler.writer.buildIndex({ column: 'id', config: lancedb.Index.btree(), name: 'id_idx', type: 'BTree' });
  }
  await filler.close();
  await rm(fillerCache, { recursive: true, force: true });
  const drop = async () => {
    if (!s3) return rm(base.DATA_URI!, { recursive: true, force: true });
    // The local store keeps everything in memory: what a run wrote goes with it.
    await emptyPrefix(openStorage(loadSettings(base)).objects);
  };
  if (!s3) return { env: base, directEnv: base, drop };
  const profile = options.profile ? LATENCY_PROFILES[options.profile as keyof typeof LATENCY_PROFILES] : undefined;
  const proxy = await startS3Proxy(process.env.S3_ENDPOINT!, { latency: profile });
  return {
    env: { ...base, S3_ENDPOINT: proxy.url },
    directEnv: base,
    proxy,
    drop: async () => (await proxy.close(), drop()),
  };
}

/** The images table, opened apart from the replicas (a reader of the storage, as a person would). */
export async function openDataset(env: Record<string, string>): Promise<lancedb.Table> {
  const storage = openStorage(loadSettings(env));
  const db = await lancedb.connect(storage.lanceUri, { storageOptions: storage.storageOptions });
  return db.openTable(TABLE_NAME);
}

/** `--store s3 --profile R2` → `-s3-r2`: one results file per store and profile. */
export function storeSuffix(options: Pick<StoreOptions, 'store' | 'profile'>): string {
  return [options.store === 's3' ? '-s3' : '', options.profile ? `-${options.profile.toLowerCase()}` : ''].join('');
}

/** How the storage reads in a results file. */
export function describeStore(options: StoreOptions): string {
  if (options.store !== 's3') return 'local disk';
  return `the local S3 store${options.profile ? ` through the ${options.profile} latency profile` : ''}`;
}

/**
 * The settings under which replicas hand their appends to the lease holder: an address of their
 * own (a free port, so known before the start) and a shared token; none when `relay` is false.
 */
export async function relaySettings(relay: boolean): Promise<Record<string, string>> {
  if (!relay) return {};
  const port = await freePort();
  return { PORT: String(port), REPLICA_URL: `http://127.0.0.1:${port}`, REPLICA_TOKEN: 'replicas-benchmark-token' };
}

/** How the replicas commit, in the results files' words. */
export function describeRelay(relay: boolean): string {
  return relay
    ? 'handing their appends to the holder of the maintenance lease (REPLICA_URL and REPLICA_TOKEN set)'
    : 'each committing its own appends (no REPLICA_URL or REPLICA_TOKEN)';
}
