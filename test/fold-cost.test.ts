// What a fold of the newest fragments reads from the bucket, through the counting proxy in front
// of the real S3-compatible store: the rows it folds, not the rest of the table.
//
//   eval "$(scripts/s3-local.sh env)" && node --import tsx --test test/fold-cost.test.ts
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tableWrites } from '../src/services/catalog/test-access.js';
import type { Services } from '../src/services/index.js';
import { openServices, syntheticRows } from './support/harness.js';
import { S3_SKIP, s3Env } from './support/s3.js';
import { datasetGets, startS3Proxy, type S3Proxy } from './support/s3-proxy.js';

const DIM = 512;

describe('a fold of the newest fragments', { skip: S3_SKIP }, () => {
  let proxy: S3Proxy;
  let services: Services;

  before(async () => {
    proxy = await startS3Proxy(process.env.S3_ENDPOINT!);
    // No object cache: every read reaches the bucket, where the proxy counts it.
    services = await openServices({ ...s3Env(proxy.url), OBJECT_CACHE_BYTES: '0' });
  });

  after(async () => {
    await services?.close();
    await proxy?.close();
  });

  test('reads a few KB of each other fragment, not the table, and keeps every row in order', async () => {
    const writes = tableWrites(services.writer);
    const rows = 12_000;
    await writes.append(syntheticRows(rows, DIM, 0));
    for (let i = 0; i < 4; i++) await writes.append(syntheticRows(1, DIM, rows + i));
    const before = await services.catalog.list(10, rows - 2, ['id']);
    proxy.reset();
    assert.equal((await writes.foldTail()).length, 1, 'one fold of the four one-row fragments');
    // The other fragment's file metadata, and the four rows. A merge-insert by id, the fold before,
    // read every id of the table: 399 KB here, where the ids take 64 bytes a row.
    const fetched = proxy.stats().byMethod.GET?.bytesOut ?? 0;
    assert.ok(datasetGets(proxy.stats()).length > 0, 'the fold read the rows it folds');
    assert.ok(fetched < (rows * 64) / 4, `${fetched} bytes read, for ${rows} rows whose ids take ${rows * 64}`);
    assert.equal((await services.catalog.describe()).fragmentCount, 2);
    assert.deepEqual(await services.catalog.list(10, rows - 2, ['id']), before);
  });
});
