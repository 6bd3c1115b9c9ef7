// The object cache behind the read endpoint (src/services/storage/read-endpoint.ts), against the
// real S3-compatible store through the counting proxy: every request the cache lets through to
// the bucket shows in the proxy's stats, so "no GET" below is the bucket's count, not the cache's.
//
//   source /tmp/s3env.sh && node --import tsx --test test/object-cache.test.ts
import { after, before, describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import assert from 'node:assert/strict';
import fsPromises, { open, readdir, readFile, rm, stat, truncate, utimes } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { ImageCatalog } from '../src/services/catalog/catalog.js';
import type { Services } from '../src/services/index.js';
import { ObjectCache, type RangeSource } from '../src/services/storage/object-cache.js';
import { commitRows, openServices, syntheticRows, tempDir, until } from './support/harness.js';
import { S3_SKIP, s3Env } from './support/s3.js';
import { datasetGets, startS3Proxy, type S3Proxy } from './support/s3-proxy.js';
import { allRows, searchIds } from './support/catalog-answers.js';
import { lanceReader, tableWrites } from '../src/services/catalog/test-access.js';

const DIM = 512;

async function cacheFiles(dir: string): Promise<Array<{ file: string; size: number }>> {
  const files = [];
  for (const name of await readdir(dir)) {
    // A seal's temp meta file may be renamed between the listing and the stat.
    const found = await stat(path.join(dir, name)).catch(() => null);
    if (found) files.push({ file: path.join(dir, name), size: found.size });
  }
  return files;
}

/** The cache's entries of Lance data files (`images.lance/data/*.lance`), by their meta files. */
async function cachedDataFiles(dir: string): Promise<Array<{ file: string; size: number }>> {
  const files = await cacheFiles(dir);
  const data = [];
  for (const meta of files.filter((f) => f.file.endsWith('.meta'))) {
    const { key } = JSON.parse(await readFile(meta.file, 'utf8')) as { key: string };
    const file = meta.file.replace(/\.meta$/, '.data');
    if (/\/data\/[^/]+\.lance$/.test(key)) data.push(files.find((f) => f.file === file)!);
  }
  return data;
}

/** Flips one byte in the middle of a file; the size stays. */
async function flipByte(file: string): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    const { size } = await handle.stat();
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, Math.floor(size / 2));
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, Math.floor(size / 2));
  } finally {
    await handle.close();
  }
}

describe('object cache in front of S3', { skip: S3_SKIP }, () => {
  let proxy: S3Proxy;
  let env: Record<string, string>;
  /** Another replica, without the cache: it writes, and its answers are the expected ones. */
  let writer: Services;
  let cacheDir: string;
  const opened: Services[] = [];
  let firstVersion = 0;
  /** Reads of the dataset's files from the bucket (the maintenance lease's own reads apart). */
  const gets = () => datasetGets(proxy.stats()).length;

  /** A reader on the cache; its refresh stays quiet unless asked, so a query lists nothing. */
  async function reader(dir: string, extra: Record<string, string> = {}): Promise<Services> {
    const services = await openServices({ ...env, OBJECT_CACHE_DIR: dir, READ_CONSISTENCY_MS: '600000', ...extra });
    opened.push(services);
    return services;
  }

  async function closeReader(services: Services): Promise<void> {
    opened.splice(opened.indexOf(services), 1);
    await services.close();
  }

  before(async () => {
    proxy = await startS3Proxy(process.env.S3_ENDPOINT!);
    env = s3Env(proxy.url);
    cacheDir = await tempDir('object-cache-');
    writer = await openServices({ ...env, OBJECT_CACHE_BYTES: '0' });
    // 5,000 rows make a 10 MB data file: more than one 8 MiB part of a fill.
    firstVersion = await tableWrites(writer.writer).append(syntheticRows(5000, DIM, 0));
    await tableWrites(writer.writer).append(syntheticRows(1000, DIM, 5000));
    await writer.dataset.createVectorIndex('IVF_HNSW_SQ');
  });

  after(async () => {
    for (const services of opened) await services.close();
    await writer?.close();
    await proxy?.close();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  test('a warm query, repeated or novel, makes no GET to the bucket', async () => {
    const services = await reader(cacheDir);
    assert.deepEqual(await searchIds(services, 7), await searchIds(writer, 7));
    proxy.reset();
    assert.deepEqual(await searchIds(services, 7), await searchIds(writer, 7));
    proxy.reset();
    for (const n of [11, 123, 999, 2500, 4999, 5500]) {
      const got = await searchIds(services, n);
      assert.equal(gets(), 0, `GETs for novel query ${n}: ${JSON.stringify(datasetGets(proxy.stats()))}`);
      assert.deepEqual(got, await searchIds(writer, n));
      proxy.reset();
    }
    assert.equal(await allRows(services), await allRows(writer));
    await closeReader(services);
  });

  test('a restarted instance answers its first query from the cache it left', async () => {
    const dir = await tempDir('object-cache-restart-');
    const expected = await searchIds(writer, 42);
    /** Starts an instance on `dir` and runs its first query: the Lance data and index files it fetched from the bucket. */
    const startAndQuery = async () => {
      proxy.reset(); // start-up counts too: it prewarms the indices and mirrors the latest version
      const services = await reader(dir);
      assert.deepEqual(await searchIds(services, 42), expected);
      await closeReader(services);
      return proxy.stats().objectGets.filter((key) => /\/images\.lance\/(data|_indices)\//.test(key));
    };
    try {
      // On an empty cache they are fetched, so the count below can see them.
      assert.ok((await startAndQuery()).length > 0, 'the first instance filled the cache from the bucket');
      assert.deepEqual(await startAndQuery(), [], 'files the restarted instance fetched again');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('time travel reads older versions through the cache', async () => {
    const services = await reader(cacheDir);
    const old = await allRows(services, firstVersion);
    assert.equal(JSON.parse(old).length, 5000);
    assert.equal(old, await allRows(writer, firstVersion));
    assert.deepEqual(await searchIds(services, 5500, firstVersion), await searchIds(writer, 5500, firstVersion));
    const expected = await searchIds(writer, 5501, firstVersion);
    proxy.reset();
    assert.deepEqual(await searchIds(services, 5501, firstVersion), expected);
    assert.equal(gets(), 0, JSON.stringify(datasetGets(proxy.stats())));
    await closeReader(services);
  });

  for (const [damage, harm] of [
    ['a flipped byte', flipByte],
    ['a truncated file', (file: string) => truncate(file, 1000)],
  ] as const) {
    test(`${damage} in cached files is detected, dropped and fetched again, also after a restart`, async () => {
      let services = await reader(cacheDir);
      const expected = { rows: await allRows(writer), hits: await searchIds(writer, 77) };
      await allRows(services); // every data file in the cache
      for (const restart of [false, true]) {
        if (restart) await closeReader(services);
        // Lance data files: the indices stay in Lance's memory, and so are not read again.
        const data = await cachedDataFiles(cacheDir);
        assert.ok(data.length > 0);
        for (const { file } of data) await harm(file);
        // A running instance reads these files through its mirror: a truncated one fails the
        // read, which then goes through the endpoint (and the cache's checks); a flipped byte
        // decodes without error, and is found by the mirror's scrub (every 10 minutes).
        if (!restart && damage === 'a flipped byte') await services.catalog.scrubMirror();
        // Counted from before the restart: the writer reads the id column at start-up.
        proxy.reset();
        if (restart) services = await reader(cacheDir);
        assert.equal(await allRows(services), expected.rows);
        assert.deepEqual(await searchIds(services, 77), expected.hits);
        const damaged = data.reduce((sum, f) => sum + f.size, 0);
        const fetched = proxy.stats().byMethod.GET?.bytesOut ?? 0;
        assert.ok(fetched >= damaged, `${fetched} bytes fetched again, ${damaged} damaged`);
        proxy.reset();
        assert.equal(await allRows(services), expected.rows);
        assert.equal(gets(), 0, `and are served from the cache again: ${JSON.stringify(datasetGets(proxy.stats()))}`);
      }
      await closeReader(services);
    });
  }

  test('a write by another replica is visible within READ_CONSISTENCY_MS', async () => {
    const services = await reader(cacheDir, { READ_CONSISTENCY_MS: '250' });
    await searchIds(services, 1);
    const rows = syntheticRows(3, DIM, 9000);
    const version = await tableWrites(writer.writer).append(rows);
    const started = Date.now();
    while ((await services.catalog.version()) < version) {
      assert.ok(Date.now() - started < 3000, `version ${version} not seen after 3 s`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const found = await services.catalog.get(
      rows.map((r) => r.id),
      ['id'],
    );
    assert.equal(found.size, 3);
    await closeReader(services);
  });

  test('a dataset deleted and made again under the same path is read anew, not from cached manifests', async () => {
    const dir = await tempDir('object-cache-remade-');
    const place = s3Env(proxy.url);
    const make = async (offset: number) => {
      const services = await openServices({ ...place, OBJECT_CACHE_BYTES: '0' });
      await tableWrites(services.writer).append(syntheticRows(20, DIM, offset));
      await tableWrites(services.writer).append(syntheticRows(20, DIM, offset + 20));
      const rows = await allRows(services);
      return { services, rows };
    };
    const first = await make(0);
    const cached = await reader(dir, { DATA_URI: place.DATA_URI! });
    assert.equal(await allRows(cached), first.rows);
    await closeReader(cached);
    for await (const object of first.services.objects.list('images.lance/')) {
      await first.services.objects.delete(object.key);
    }
    await first.services.close();
    const second = await make(1000);
    try {
      assert.ok(second.rows !== first.rows);
      const again = await reader(dir, { DATA_URI: place.DATA_URI! });
      assert.ok((await allRows(again)) === second.rows, 'the rows of the dataset made again, not of the deleted one');
      await closeReader(again);
    } finally {
      await second.services.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('the directory never exceeds OBJECT_CACHE_BYTES; the least recently used entries go', async () => {
    const dir = await tempDir('object-cache-small-');
    // Less than a search needs (10.5 + 2.1 MB of data files, 3.2 MB of index): it must evict.
    const bound = 12 * 1024 * 1024;
    const services = await reader(dir, { OBJECT_CACHE_BYTES: String(bound) });
    const held = new Map<string, number>();
    const check = async () => {
      const files = await cacheFiles(dir);
      const total = files.reduce((sum, f) => sum + f.size, 0);
      assert.ok(total <= bound, `${total} bytes in the cache directory, bound ${bound}: ${JSON.stringify(files)}`);
      for (const f of files) held.set(f.file, Math.max(f.size, held.get(f.file) ?? 0));
    };
    // Files are also noted every 10 ms: an entry filled and evicted again between two checks counts.
    const sampler = setInterval(() => {
      for (const name of readdirSync(dir)) {
        const file = path.join(dir, name);
        try {
          held.set(file, Math.max(statSync(file).size, held.get(file) ?? 0));
        } catch {
          // removed between the listing and the stat
        }
      }
    }, 10).unref(); // a failed assertion must not leave it holding the process
    for (let n = 0; n < 10; n++) {
      const expected = await searchIds(writer, n * 500);
      assert.deepEqual(await searchIds(services, n * 500), expected);
      await check();
    }
    // Every row of both data files (10.5 + 2.1 MB), then of the first version's one: more than the bound in all.
    assert.equal(await allRows(services), await allRows(writer));
    await check();
    assert.equal(await allRows(services, firstVersion), await allRows(writer, firstVersion));
    await check();
    clearInterval(sampler);
    const everHeld = [...held.values()].reduce((sum, size) => sum + size, 0);
    assert.ok(everHeld > bound, `entries were evicted: ${everHeld} bytes held over time`);
    await closeReader(services);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('dataset-wide writes with the object cache on, as S3 runs by default', { skip: S3_SKIP }, () => {
  test('an index build, an optimize and a restore commit straight to the bucket, not through the read-only endpoint', async () => {
    const dir = await tempDir('object-cache-writes-');
    const services = await openServices({ ...s3Env(), OBJECT_CACHE_DIR: dir });
    try {
      const first = await commitRows(services, syntheticRows(300, DIM, 0));
      await commitRows(services, syntheticRows(10, DIM, 300));
      const indexed = await services.dataset.createVectorIndex('IVF_FLAT');
      assert.ok(indexed.indices.some((index) => index.columns.includes('vector')));
      await services.dataset.optimize();
      const restored = await services.dataset.restore(first);
      assert.equal(await (await lanceReader(services.catalog, restored.version)).table.countRows(), 300);
    } finally {
      await services.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a start that fails after the read endpoint is up', { skip: S3_SKIP }, () => {
  test('closes the endpoint again: no server is left listening', async (t) => {
    const servers: http.Server[] = [];
    const listen = http.Server.prototype.listen;
    t.mock.method(http.Server.prototype, 'listen', function (this: http.Server, ...args: unknown[]) {
      servers.push(this);
      return listen.apply(this, args as Parameters<typeof listen>);
    });
    t.mock.method(ImageCatalog, 'open', () => Promise.reject(new Error('the dataset cannot be opened')));
    const dir = await tempDir('object-cache-failed-start-');
    try {
      await assert.rejects(openServices({ ...s3Env(), OBJECT_CACHE_DIR: dir }), /the dataset cannot be opened/);
      assert.equal(servers.length, 1, 'the read endpoint was started');
      assert.equal(servers[0]!.listening, false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a bucket the service cannot open', { skip: S3_SKIP }, () => {
  test('fails the start naming DATA_URI, what the bucket answered and the settings to check', async () => {
    const env = { ...s3Env(), AWS_ACCESS_KEY_ID: 'WRONGKEY', AWS_SECRET_ACCESS_KEY: 'wrong' };
    await assert.rejects(openServices(env), (error: Error) => {
      assert.match(error.message, /^DATA_URI s3:\/\/\S+: the dataset cannot be opened \(the bucket answered 403 /);
      assert.match(error.message, /AWS_ACCESS_KEY_ID/);
      assert.ok(error.message.length < 400, error.message);
      return true;
    });
  });
});

describe('ObjectCache on its own', () => {
  /** A fake bucket of `objects`, counting the ranged reads the cache makes. */
  function fakeSource(objects: Map<string, Buffer>) {
    const calls: Array<{ key: string; start: number; end: number; ifMatch?: string }> = [];
    const source: RangeSource = (key, start, end, ifMatch) => {
      calls.push({ key, start, end, ifMatch });
      const whole = objects.get(key);
      if (!whole) return Promise.reject(new Error(`no ${key}`));
      const info = { size: whole.length, etag: '"e1"', lastModified: new Date(0).toUTCString() };
      return Promise.resolve({ info, body: whole.subarray(start, Math.min(end + 1, whole.length)) });
    };
    return { source, calls };
  }
  const whole = (size: number) => ({ start: 0, end: size - 1 });

  test('fills a big object in parallel ranged parts, all pinned to the first ETag, once for concurrent readers', async () => {
    const dir = await tempDir('object-cache-unit-');
    const big = Buffer.from(Array.from({ length: 20 * 1024 * 1024 }, (_, i) => (i * 7) & 0xff));
    // An index file: its readers wait for the whole object (a big data file's do not, below).
    const key = '/b/t.lance/_indices/big';
    const { source, calls } = fakeSource(new Map([[key, big]]));
    const cache = await ObjectCache.open(dir, 64 * 1024 * 1024, source);
    const reads = await Promise.all([0, 1, 2].map(() => cache.read(key, () => ({ start: 9e6, end: 9e6 + 99 }))));
    for (const read of reads) assert.deepEqual(read?.body, big.subarray(9e6, 9e6 + 100));
    assert.equal(calls.length, 3, 'one fill of three 8 MiB parts');
    assert.deepEqual(
      calls.slice(1).map((c) => c.ifMatch),
      ['"e1"', '"e1"'],
    );
    assert.deepEqual((await cache.read(key, whole))?.body, big);
    await cache.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a miss on a big data file is left to the bucket while the whole file fills; a small one waits for its fill', async () => {
    const dir = await tempDir('object-cache-unit-');
    const big = Buffer.alloc(20 * 1024 * 1024, 7);
    const small = Buffer.alloc(100_000, 3);
    const { source, calls } = fakeSource(
      new Map([
        ['/b/t.lance/data/big.lance', big],
        ['/b/t.lance/data/small.lance', small],
      ]),
    );
    const cache = await ObjectCache.open(dir, 64 * 1024 * 1024, source);
    const range = () => ({ start: 9e6, end: 9e6 + 99 });
    // Null: the endpoint reads the range from the bucket itself, at once.
    assert.equal(await cache.read('/b/t.lance/data/big.lance', range), null);
    await until(() => cache.info('/b/t.lance/data/big.lance') !== undefined, 'the big file filled in the background');
    assert.equal(calls.length, 3, 'one fill of three 8 MiB parts');
    assert.deepEqual((await cache.read('/b/t.lance/data/big.lance', range))?.body, big.subarray(9e6, 9e6 + 100));
    assert.deepEqual((await cache.read('/b/t.lance/data/small.lance', whole))?.body, small);
    assert.equal(calls.length, 4, 'and nothing else fetched');
    await cache.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('evicts the least recently used entry, and keeps its order across a reopen', async () => {
    const dir = await tempDir('object-cache-unit-');
    const objects = new Map(['/b/a', '/b/b', '/b/c', '/b/d'].map((k, i) => [k, Buffer.alloc(100_000, i)]));
    const { source, calls } = fakeSource(objects);
    // Room for two entries and their meta files, not three.
    let cache = await ObjectCache.open(dir, 250_000, source);
    await cache.read('/b/a', whole);
    await cache.read('/b/b', whole);
    await new Promise((r) => setTimeout(r, 20)); // distinct mtimes for the reopen below
    await cache.read('/b/a', whole); // a is now the most recent
    await cache.read('/b/c', whole); // so b goes
    assert.deepEqual(
      calls.map((c) => c.key),
      ['/b/a', '/b/b', '/b/c'],
    );
    assert.ok(cache.info('/b/a') && !cache.info('/b/b') && cache.info('/b/c'));
    await cache.close();
    cache = await ObjectCache.open(dir, 250_000, source);
    assert.ok(cache.info('/b/a') && cache.info('/b/c'), 'entries survive a reopen');
    assert.deepEqual((await cache.read('/b/a', whole))?.body, objects.get('/b/a'));
    await cache.read('/b/d', whole); // c was used least recently (a was just read)
    assert.ok(cache.info('/b/a') && !cache.info('/b/c') && cache.info('/b/d'));
    const onDisk = (await cacheFiles(dir)).reduce((sum, f) => sum + f.size, 0);
    assert.ok(onDisk <= 250_000, `${onDisk} bytes on disk`);
    await cache.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a pinned entry is never evicted (a fill that would need it fails instead); localPath checks a reopened file whole', async () => {
    const dir = await tempDir('object-cache-unit-');
    const objects = new Map(['/b/a', '/b/b', '/b/c'].map((k, i) => [k, Buffer.alloc(100_000, i + 1)]));
    const { source } = fakeSource(objects);
    let cache = await ObjectCache.open(dir, 250_000, source);
    cache.pin('/b/a');
    cache.pin('/b/b');
    const a = await cache.localPath('/b/a');
    assert.deepEqual(await readFile(a!), objects.get('/b/a'));
    await cache.localPath('/b/b');
    assert.equal(await cache.read('/b/c', whole), null, 'no room but pinned entries');
    assert.ok(cache.info('/b/a') && cache.info('/b/b'));
    cache.unpin('/b/a');
    assert.ok(await cache.read('/b/c', whole), 'the unpinned entry made room');
    assert.ok(!cache.info('/b/a') && cache.info('/b/b'));
    // A reopened entry is checked whole before its path is handed out: a flipped byte refills it.
    await flipByte(path.join(dir, `${createHash('sha256').update('/b/b').digest('hex')}.data`));
    await cache.close();
    cache = await ObjectCache.open(dir, 250_000, source);
    const b = await cache.localPath('/b/b');
    assert.deepEqual(await readFile(b!), objects.get('/b/b'));
    assert.equal(cache.stats().corrupt, 1);
    await cache.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a sealed file is handed out after a reopen without being read whole, also once its entry was touched; a changed one is read whole', async (t) => {
    const dir = await tempDir('object-cache-unit-');
    const objects = new Map(['/b/a', '/b/b'].map((k, i) => [k, Buffer.alloc(300_000, i + 1)]));
    const { source } = fakeSource(objects);
    const entryFile = (key: string, kind: string) =>
      path.join(dir, `${createHash('sha256').update(key).digest('hex')}.${kind}`);
    const sealed = async (key: string) =>
      (JSON.parse(await readFile(entryFile(key, 'meta'), 'utf8')) as { sealed?: string }).sealed !== undefined;
    // Whole-file checks open the data file through fs/promises; small reads go through fs.
    const opened: string[] = [];
    const realOpen = fsPromises.open;
    t.mock.method(fsPromises, 'open', (file: string, ...rest: []) => {
      opened.push(String(file));
      return realOpen(file, ...rest);
    });
    syncBuiltinESMExports();
    t.after(() => {
      t.mock.restoreAll();
      syncBuiltinESMExports();
    });
    const wholeChecks = (key: string) => opened.filter((f) => f === entryFile(key, 'data')).length;

    let cache = await ObjectCache.open(dir, 1_000_000, source);
    for (const key of objects.keys()) await cache.read(key, whole);
    for (const key of objects.keys()) await until(() => sealed(key), `${key} sealed`);
    await cache.close();
    // An entry last read long ago is touched by the next read: its meta, not its data file.
    const longAgo = Date.now() / 1000 - 3600;
    await utimes(entryFile('/b/a', 'meta'), longAgo, longAgo);
    await cache.close();
    cache = await ObjectCache.open(dir, 1_000_000, source);
    await cache.read('/b/a', whole);
    await until(async () => (await stat(entryFile('/b/a', 'meta'))).mtimeMs > longAgo * 1000 + 60_000, 'the touch');
    await cache.close();
    await flipByte(entryFile('/b/b', 'data'));

    opened.length = 0;
    await cache.close();
    cache = await ObjectCache.open(dir, 1_000_000, source);
    assert.deepEqual(await readFile((await cache.localPath('/b/a'))!), objects.get('/b/a'));
    assert.equal(wholeChecks('/b/a'), 0, 'sealed and unchanged: trusted');
    assert.deepEqual(await readFile((await cache.localPath('/b/b'))!), objects.get('/b/b'));
    assert.equal(cache.stats().corrupt, 1, 'changed since its seal: checked whole, and filled again');
    await cache.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('eviction passes over a pinned entry, even the least recently used, and takes an unpinned one', async () => {
    const dir = await tempDir('object-cache-unit-');
    const objects = new Map(['/b/a', '/b/b', '/b/c'].map((k, i) => [k, Buffer.alloc(100_000, i + 1)]));
    const { source } = fakeSource(objects);
    // Room for two entries and their meta files, not three: the third fill must evict one.
    const cache = await ObjectCache.open(dir, 250_000, source);
    await cache.read('/b/a', whole);
    await cache.read('/b/b', whole);
    cache.pin('/b/a'); // the least recently used, so the first candidate
    assert.deepEqual((await cache.read('/b/c', whole))?.body, objects.get('/b/c'));
    assert.equal(cache.stats().evictions, 1, 'the fill evicted an entry');
    assert.ok(cache.info('/b/a'), 'the pinned entry stays');
    assert.ok(!cache.info('/b/b'), 'the unpinned one went');
    assert.deepEqual((await cache.read('/b/a', whole))?.body, objects.get('/b/a'));
    await cache.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('an object bigger than the bound is not cached, and the caller is told to ask the bucket', async () => {
    const dir = await tempDir('object-cache-unit-');
    const { source, calls } = fakeSource(new Map([['/b/x', Buffer.alloc(300_000)]]));
    const cache = await ObjectCache.open(dir, 250_000, source);
    assert.equal(await cache.read('/b/x', whole), null);
    assert.deepEqual(await readdir(dir), []);
    assert.equal(calls.length, 1);
    assert.equal(await cache.read('/b/x', whole), null);
    assert.equal(calls.length, 1, 'a second read does not fetch a part of it again');
    await cache.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('fills fetch at most 16 parts at once, across all fills', async () => {
    const dir = await tempDir('object-cache-unit-');
    // Three 80 MiB objects: 3 × 8 parallel parts wanted after each first part.
    const size = 80 * 1024 * 1024;
    let inFlight = 0;
    let most = 0;
    const source: RangeSource = async (key, start, end) => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      const info = { size, etag: '"e1"', lastModified: new Date(0).toUTCString() };
      return { info, body: Buffer.alloc(Math.min(end, size - 1) - start + 1, key.at(-1)) };
    };
    // Index files, whose readers wait for the whole object.
    const objects = new Map(['a', 'b', 'c'].map((k) => [`/b/t.lance/_indices/${k}`, k]));
    const cache = await ObjectCache.open(dir, 1024 * 1024 * 1024, source);
    const reads = await Promise.all([...objects.keys()].map((key) => cache.read(key, () => ({ start: 0, end: 0 }))));
    assert.deepEqual(
      reads.map((r) => r?.body.toString()),
      ['a', 'b', 'c'],
    );
    assert.equal(most, 16);
    await cache.close();
    await rm(dir, { recursive: true, force: true });
  });
});
