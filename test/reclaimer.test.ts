import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ImageReclaimer } from '../src/services/images/reclaimer.js';
import type { Services } from '../src/services/index.js';
import { COLOURS, distinctImages } from './support/images.js';
import { openServices, tempDir, until } from './support/harness.js';

const orphanKey = `images/${'e'.repeat(64)}.png`;
const youngOrphanKey = `images/${'d'.repeat(64)}.png`;
/** The orphan's thumbnail: made at upload, before the commit that failed. */
const orphanThumbnailKey = `thumbnails/${'e'.repeat(64)}.webp`;

/**
 * A dataset of the test's own (reclaiming deletes objects): an image with its row, an image whose
 * row was deleted (older versions still refer to it), and two orphans, one an hour old, one new.
 */
async function datasetWithOrphans(
  t: TestContext,
): Promise<{ services: Services; reclaimer: ImageReclaimer; keptKey: string; deletedKey: string }> {
  const services = await openServices();
  t.after(() => services.close());
  const [kept, deleted] = await services.uploads.uploadAll(
    (await distinctImages(2, COLOURS.red)).map((bytes) => ({ bytes, filename: null })),
  );
  await services.dataset.delete(deleted!.image.id);
  // What a crash between an image's PUT and its row's commit leaves behind, an hour ago and now.
  await services.objects.put(orphanKey, Buffer.from('orphan'), 'image/png');
  await services.objects.put(orphanThumbnailKey, Buffer.from('thumb'), 'image/webp');
  const anHourAgo = new Date(Date.now() - 3_600_000);
  for (const key of [orphanKey, orphanThumbnailKey]) {
    await utimes(path.join(services.settings.DATA_URI, key), anHourAgo, anHourAgo);
  }
  await services.objects.put(youngOrphanKey, Buffer.from('in flight'), 'image/png');
  const reclaimer = new ImageReclaimer(services.objects, services.catalog);
  return { services, reclaimer, keptKey: kept!.image.key!, deletedKey: deleted!.image.key! };
}

/** The maintenance command's core: unreferenced image objects are found and deleted, nothing else. */
describe('image reclaimer', () => {
  test('a dry run reports the orphans and deletes nothing', async (t) => {
    const { services, reclaimer } = await datasetWithOrphans(t);
    const report = await reclaimer.reclaim({ graceMs: 60_000, dryRun: true });
    assert.deepEqual(
      report.orphans.map((o) => o.key),
      [orphanKey, orphanThumbnailKey],
    );
    assert.equal(report.scanned, 7, 'four originals, three thumbnails');
    assert.equal(await services.objects.exists(orphanKey), true);
  });

  test('reclaiming deletes old orphans only: not images older versions refer to, nor young objects', async (t) => {
    const { services, reclaimer, keptKey, deletedKey } = await datasetWithOrphans(t);
    const report = await reclaimer.reclaim({ graceMs: 60_000, dryRun: false });
    assert.deepEqual(
      report.orphans.map((o) => o.key),
      [orphanKey, orphanThumbnailKey],
    );
    assert.equal(report.bytes, 'orphan'.length + 'thumb'.length);
    assert.equal(await services.objects.exists(orphanKey), false);
    assert.equal(await services.objects.exists(orphanThumbnailKey), false);
    assert.equal(await services.objects.exists(youngOrphanKey), true, 'inside the grace period');
    assert.equal(await services.objects.exists(keptKey), true);
    assert.equal(await services.objects.exists(deletedKey), true, 'deleted rows are still in older versions');
  });
});

/** Temp files of writes cut short, by name: what LocalObjectStore.put leaves when a crash stops it. */
const staleTemp = `images/${'a'.repeat(64)}.png.${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}.tmp`;
const staleThumbnailTemp = `thumbnails/${'a'.repeat(64)}.webp.${'1'.repeat(8)}-1111-4111-8111-${'1'.repeat(12)}.tmp`;
const freshTemp = `images/${'b'.repeat(64)}.png.${'2'.repeat(8)}-2222-4222-8222-${'2'.repeat(12)}.tmp`;

/** Writes the three temp files under `root`, the stale two an hour old, and returns `root`. */
async function plantTemps(root: string): Promise<string> {
  for (const key of [staleTemp, staleThumbnailTemp, freshTemp]) {
    await mkdir(path.dirname(path.join(root, key)), { recursive: true });
    await writeFile(path.join(root, key), 'part of an image');
  }
  const anHourAgo = new Date(Date.now() - 3_600_000);
  for (const key of [staleTemp, staleThumbnailTemp]) await utimes(path.join(root, key), anHourAgo, anHourAgo);
  return root;
}

async function tempFilesUnder(root: string): Promise<string[]> {
  const names = await readdir(root, { recursive: true });
  return names.filter((name) => name.endsWith('.tmp')).sort();
}

/**
 * A crash or a full disk mid-write leaves a temp file beside the object it was writing. Stale ones
 * are removed at start and by the reclaimer; young ones may be a write in flight and are kept,
 * whatever grace period the reclaimer is given.
 */
describe('temp files of interrupted writes', () => {
  test('stale ones are removed when the service starts, young ones kept', async (t) => {
    const root = await plantTemps(await tempDir());
    const services = await openServices({ DATA_URI: root });
    t.after(() => services.close());
    // Beside the start, which does not wait for it.
    await until(async () => (await tempFilesUnder(root)).length === 1, 'the stale temp files to go');
    assert.deepEqual(await tempFilesUnder(root), [freshTemp]);
  });

  test('the reclaimer removes stale ones (reports them in a dry run), and keeps young ones even with no grace', async (t) => {
    const services = await openServices();
    t.after(() => services.close());
    const root = await plantTemps(services.settings.DATA_URI);
    const reclaimer = new ImageReclaimer(services.objects, services.catalog);
    const dryRun = await reclaimer.reclaim({ graceMs: 0, dryRun: true });
    assert.deepEqual(dryRun.leftovers.map((file) => file.key).sort(), [staleTemp, staleThumbnailTemp]);
    assert.equal((await tempFilesUnder(root)).length, 3, 'a dry run deletes nothing');
    const report = await reclaimer.reclaim({ graceMs: 0, dryRun: false });
    assert.deepEqual(report.leftovers.map((file) => file.key).sort(), [staleTemp, staleThumbnailTemp]);
    assert.deepEqual(report.orphans, [], 'a temp file is no object');
    assert.deepEqual(await tempFilesUnder(root), [freshTemp]);
  });
});
