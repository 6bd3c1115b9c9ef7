// A cold start on an empty object cache, against the real S3-compatible store through the
// counting proxy: readiness waits for the indices, not for the data files, which fill in the
// background while queries read what they need of them from the bucket by range.
//
//   eval "$(scripts/s3-local.sh env)" && node --import tsx --test test/cold-start.test.ts
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { tableWrites } from '../src/services/catalog/test-access.js';
import type { Services } from '../src/services/index.js';
import { openServices, syntheticRows, tempDir, until } from './support/harness.js';
import { S3_SKIP, s3Env } from './support/s3.js';
import { datasetGets, startS3Proxy, type S3Proxy } from './support/s3-proxy.js';
import { searchIds } from './support/catalog-answers.js';

const DIM = 512;
/** The object cache's fill part: a fill fetches a file in ranges of this size, from offset 0. */
const PART = 8 * 1024 * 1024;
const DATA_FILE = /\/images\.lance\/data\/[^/]+\.lance$/;

/** A GET of a data file's fill part past the first: ranges that start at a multiple of PART above 0. */
function laterFillPart({ method, path, range }: { method: string; path: string; range?: string }): boolean {
  const start = Number(/^bytes=(\d+)-/.exec(range ?? '')?.[1] ?? 0);
  return method === 'GET' && DATA_FILE.test(path) && start > 0 && start % PART === 0;
}

/** `promise`, or a failure naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('a cold start on an empty cache', { skip: S3_SKIP }, () => {
  let proxy: S3Proxy;
  let env: Record<string, string>;
  /** Another replica, without the cache: it writes, and its answers are the expected ones. */
  let writer: Services;

  /**
   * A reader on `cacheDir`. Its requests to the bucket do not time out within the test, so that
   * a start or a stop that waits for a held fill waits past the test's bound.
   */
  const openReader = (cacheDir: string) =>
    openServices({
      ...env,
      OBJECT_CACHE_DIR: cacheDir,
      READ_CONSISTENCY_MS: '600000',
      S3_REQUEST_TIMEOUT_MS: '600000',
    });

  before(async () => {
    proxy = await startS3Proxy(process.env.S3_ENDPOINT!);
    env = s3Env(proxy.url);
    writer = await openServices({ ...env, OBJECT_CACHE_BYTES: '0' });
    // 12,000 rows make a data file of ~25 MB: more than the 16 MiB below which a miss waits for
    // the whole file, and three fill parts.
    await tableWrites(writer.writer).append(syntheticRows(12_000, DIM, 0));
    await writer.dataset.createVectorIndex('IVF_HNSW_SQ');
  });

  after(async () => {
    await writer?.close();
    await proxy?.close();
  });

  test('the data files wait for the index files to be loaded, which have the bandwidth to themselves', async () => {
    const cacheDir = await tempDir('cold-start-');
    // The index files held for 3 s: past READ_CONSISTENCY_MS (1 s by default), whose refresh
    // would start the mirror's sync of the data files, as it did before.
    const release = proxy.hold(({ method, path }) => method === 'GET' && path.includes('/images.lance/_indices/'));
    const dataReads = () => datasetGets(proxy.stats()).filter((key) => DATA_FILE.test(key));
    let whileHeld: string[] | undefined;
    const timer = setTimeout(() => {
      whileHeld = dataReads();
      release();
    }, 3000);
    let services: Services | undefined;
    try {
      proxy.reset();
      services = await within(
        openServices({ ...env, OBJECT_CACHE_DIR: cacheDir, S3_REQUEST_TIMEOUT_MS: '600000' }),
        60_000,
        'readiness',
      );
      assert.deepEqual(whileHeld, [], 'data files read while the index files were held');
    } finally {
      await services?.close();
      clearTimeout(timer);
      release();
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  test('a stop does not wait for the data files to fill', async () => {
    const cacheDir = await tempDir('cold-start-');
    const release = proxy.hold(laterFillPart);
    try {
      const services = await within(openReader(cacheDir), 60_000, 'readiness while the data file cannot fill');
      await searchIds(services, 4321);
      await within(services.close(), 60_000, 'a stop while the data file cannot fill');
      // The fill ended with the stop: nothing is left writing in the cache (a temp file growing
      // there kept a test's removal of the directory from succeeding).
      const left = (await readdir(cacheDir)).filter((name) => name.endsWith('.tmp'));
      assert.deepEqual(left, [], 'temp files of fills left in the cache after the stop');
    } finally {
      release();
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  test('is ready and answers searches before a big data file is whole, and mirrors the version once it is', async () => {
    const cacheDir = await tempDir('cold-start-');
    const expected = await searchIds(writer, 4321);
    const release = proxy.hold(laterFillPart);
    let services: Services | undefined;
    try {
      proxy.reset();
      // Before, readiness waited for the whole version in the mirror: here until the held parts
      // time out, which they do not within the test.
      services = await within(openReader(cacheDir), 60_000, 'readiness while the data file cannot fill');
      assert.deepEqual(await searchIds(services, 4321), expected);
      const reads = datasetGets(proxy.stats()).filter((key) => DATA_FILE.test(key));
      // The fill's first part, and the query's own reads of the rows it needed.
      assert.ok(reads.length > 1, `reads of the data file: ${reads.length}`);
    } finally {
      release();
    }
    const ready = services;
    const nearest77 = await searchIds(writer, 77);
    try {
      // Once the file is whole, the version enters the mirror: a search reads nothing from the bucket.
      await until(async () => {
        proxy.reset();
        assert.deepEqual(await searchIds(ready, 77), nearest77);
        return datasetGets(proxy.stats()).length === 0;
      }, 'a search without a read from the bucket');
    } finally {
      await ready.close();
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});
