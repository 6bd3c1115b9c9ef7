// The dataset mirror (src/services/storage/dataset-mirror.ts): a reader on S3 with the object
// cache reads the versions it follows as a local dataset of links into the cache. Reads that
// reach the read endpoint are counted with a spy on the real ObjectCache, and requests that reach
// the bucket with the counting proxy.
//
//   source /tmp/s3env.sh && node --import tsx --test test/dataset-mirror.test.ts
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import type { Services } from '../src/services/index.js';
import { DatasetMirror, GRACE_MS } from '../src/services/storage/dataset-mirror.js';
import { ObjectCache, type RangeSource } from '../src/services/storage/object-cache.js';
import { openServices, syntheticRows, tempDir, until } from './support/harness.js';
import { S3_SKIP, s3Env } from './support/s3.js';
import { datasetGets, startS3Proxy, type S3Proxy } from './support/s3-proxy.js';
import { allRows, searchIds } from './support/catalog-answers.js';
import { tableWrites } from '../src/services/catalog/test-access.js';

const DIM = 512;

/** Counts the reads the read endpoint asks of the object cache (every GET Lance sends it). */
function spyOnEndpointReads(): { count: () => number; reset: () => void; restore: () => void } {
  const original = ObjectCache.prototype.read;
  let calls = 0;
  ObjectCache.prototype.read = function (this: ObjectCache, ...args) {
    calls++;
    return original.apply(this, args);
  };
  return {
    count: () => calls,
    reset: () => void (calls = 0),
    restore: () => void (ObjectCache.prototype.read = original),
  };
}

/** The versions whose manifests the mirror links. */
async function mirroredManifests(cacheDir: string): Promise<number> {
  const names = await readdir(path.join(cacheDir, 'mirror', String(process.pid), 'images.lance', '_versions'));
  return names.filter((n) => n.endsWith('.manifest')).length;
}

describe('dataset mirror', { skip: S3_SKIP }, () => {
  let proxy: S3Proxy;
  let env: Record<string, string>;
  /** Another replica without the cache: it writes, and its answers are the expected ones. */
  let writer: Services;
  const opened: Services[] = [];
  let spy: ReturnType<typeof spyOnEndpointReads>;

  async function reader(extra: Record<string, string> = {}): Promise<Services> {
    const services = await openServices({ ...env, OBJECT_CACHE_DIR: await tempDir('mirror-'), ...extra });
    opened.push(services);
    return services;
  }

  before(async () => {
    proxy = await startS3Proxy(process.env.S3_ENDPOINT!);
    env = s3Env(proxy.url);
    writer = await openServices({ ...env, OBJECT_CACHE_BYTES: '0' });
    await tableWrites(writer.writer).append(syntheticRows(3000, DIM, 0));
    await tableWrites(writer.writer).append(syntheticRows(500, DIM, 3000));
    await writer.dataset.createVectorIndex('IVF_HNSW_SQ');
  });

  afterEach(() => spy?.restore());

  after(async () => {
    for (const services of opened) await services.close();
    await writer?.close();
    await proxy?.close();
  });

  test('at the default READ_CONSISTENCY_MS, warm searches, pages and lookups read the mirror: no request reaches the endpoint or the bucket', async () => {
    const services = await reader({ READ_CONSISTENCY_MS: '1000' });
    const probes = [5, 77, 1234, 3300];
    // The writer reads through the same proxy: its answers first.
    const expected = { hits: await Promise.all(probes.map((n) => searchIds(writer, n))), rows: await allRows(writer) };
    spy = spyOnEndpointReads();
    await searchIds(services, 1);
    spy.reset();
    proxy.reset();
    for (const [i, n] of probes.entries()) assert.deepEqual(await searchIds(services, n), expected.hits[i]);
    assert.equal(await allRows(services), expected.rows);
    const ids = syntheticRows(3, DIM, 10).map((r) => r.id);
    assert.equal((await services.catalog.get(ids, ['id', 'vector'])).size, 3);
    assert.equal(spy.count(), 0, 'reads that went through the endpoint');
    // Listings apart: the background refresh looks for new versions once a second.
    assert.deepEqual(datasetGets(proxy.stats()), [], 'dataset files read from the bucket');
  });

  test("another replica's commit is read through the endpoint at once, then from the mirror; only the newest versions stay mirrored", async () => {
    const services = await reader({ READ_CONSISTENCY_MS: '100' });
    const dir = services.settings.OBJECT_CACHE_DIR;
    await searchIds(services, 1);
    spy = spyOnEndpointReads();
    let version = 0;
    for (let i = 0; i < 5; i++) version = await tableWrites(writer.writer).append(syntheticRows(2, DIM, 9000 + 2 * i));
    await until(async () => (await services.catalog.version()) >= version, 'the new version seen', 10_000);
    const added = syntheticRows(10, DIM, 9000).map((r) => r.id);
    assert.equal((await services.catalog.get(added, ['id'])).size, 10);
    await until(
      async () => {
        spy.reset();
        const found = await services.catalog.get(added, ['id', 'filename']);
        assert.equal(found.size, 10);
        return spy.count() === 0;
      },
      'the new version mirrored',
      10_000,
    );
    assert.deepEqual(await searchIds(services, 9001), await searchIds(writer, 9001));
    assert.ok((await mirroredManifests(dir)) <= 3, 'at most three versions are linked');
    // An older version reads through the endpoint, and reads right.
    assert.equal(await allRows(services, version - 4), await allRows(writer, version - 4));
  });

  test('read your writes: a row this process commits is read back at once, and later from the mirror', async () => {
    const services = await reader({ READ_CONSISTENCY_MS: '1000' });
    await searchIds(services, 1);
    const [row] = syntheticRows(1, DIM, 20_000);
    await services.writer.append(row!);
    assert.equal((await services.catalog.get([row!.id], ['id'])).size, 1);
    spy = spyOnEndpointReads();
    await until(
      async () => {
        spy.reset();
        assert.equal((await services.catalog.get([row!.id], ['id'])).size, 1);
        return spy.count() === 0;
      },
      'the committed version mirrored',
      10_000,
    );
  });

  test('a version whose files do not fit OBJECT_CACHE_BYTES stays out of the mirror and reads right through the endpoint', async () => {
    // The data file of 3,000 rows is about 6 MB.
    const services = await reader({ OBJECT_CACHE_BYTES: String(2 * 1024 * 1024) });
    assert.equal(await allRows(services), await allRows(writer));
    assert.deepEqual(await searchIds(services, 42), await searchIds(writer, 42));
    assert.equal(await mirroredManifests(services.settings.OBJECT_CACHE_DIR), 0);
  });
});

describe('DatasetMirror on its own, over a local Lance dataset', () => {
  /** A bucket holding the files under `root`, keyed `/bucket/<path>` as the read endpoint names them. */
  const localBucket =
    (root: string): RangeSource =>
    async (key, start, end) => {
      const file = path.join(root, key.slice('/bucket/'.length));
      const { size, mtime } = await stat(file);
      const body = (await readFile(file)).subarray(start, end + 1);
      return { info: { size, etag: `"${size}"`, lastModified: mtime.toUTCString() }, body };
    };

  test('a retired version leaves the mirror at once, and its files stay pinned for the grace, then are released', async (t) => {
    const root = await tempDir('mirror-unit-bucket-');
    const cacheDir = await tempDir('mirror-unit-cache-');
    const db = await lancedb.connect(root);
    const table = await db.createTable('images', [{ id: 0, label: 'v1' }]);
    for (let i = 1; i <= 3; i++) await table.add([{ id: i, label: `v${i + 1}` }]);
    assert.equal(await table.version(), 4);
    const cache = await ObjectCache.open(cacheDir, 64 * 1024 * 1024, localBucket(root));
    // Only setTimeout is mocked: the grace's timer fires when the test moves the clock, not before.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const pins = t.mock.method(cache, 'pin');
    const unpins = t.mock.method(cache, 'unpin');
    const mirror = await DatasetMirror.open({
      cache,
      datasetKey: '/bucket/images.lance',
      dir: path.join(cacheDir, 'mirror'),
      datasetDir: 'images.lance',
    });
    const retired: number[] = [];
    mirror.onRetire = (version) => retired.push(version);
    try {
      assert.equal(await mirror.sync(1), true);
      const pinnedByFirst = pins.mock.calls.map((call) => call.arguments[0]).sort();
      assert.ok(pinnedByFirst.length >= 2, `a manifest and a data file at least: ${pinnedByFirst}`);
      for (const version of [2, 3, 4]) assert.equal(await mirror.sync(version), true);
      // Three versions are kept: the fourth retires the first.
      assert.deepEqual(retired, [1]);
      assert.equal(mirror.has(1), false, 'the retired version left the mirror at once');
      t.mock.timers.tick(GRACE_MS - 1);
      assert.equal(unpins.mock.callCount(), 0, 'no file released before the grace is over');
      t.mock.timers.tick(1);
      assert.deepEqual(unpins.mock.calls.map((call) => call.arguments[0]).sort(), pinnedByFirst);
    } finally {
      mirror.close();
      await cache.close();
      table.close();
      await rm(root, { recursive: true, force: true });
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});
