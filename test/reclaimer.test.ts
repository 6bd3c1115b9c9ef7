import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import path from 'node:path';
import { ImageReclaimer } from '../src/services/images/reclaimer.js';
import type { Services } from '../src/services/index.js';
import { COLOURS, distinctImages } from './support/images.js';
import { openServices } from './support/harness.js';

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
