import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import path from 'node:path';
import { ImageReclaimer } from '../src/services/images/reclaimer.js';
import type { Services } from '../src/services/index.js';
import { COLOURS, distinctImages } from './support/images.js';
import { openServices } from './support/harness.js';

/** The maintenance command's core: unreferenced image objects are found and deleted, nothing else. */
describe('image reclaimer', () => {
  let services: Services;
  let reclaimer: ImageReclaimer;
  const orphanKey = `images/${'e'.repeat(64)}.png`;
  const youngOrphanKey = `images/${'d'.repeat(64)}.png`;
  let keptKey: string;
  let deletedKey: string;

  before(async () => {
    services = await openServices();
    reclaimer = new ImageReclaimer(services.objects, services.catalog);
    const [kept, deleted] = await services.uploads.uploadAll(
      (await distinctImages(2, COLOURS.red)).map((bytes) => ({ bytes, filename: null })),
    );
    keptKey = kept!.image.key!;
    deletedKey = deleted!.image.key!;
    await services.dataset.delete(deleted!.image.id);
    // What a crash between an image's PUT and its row's commit leaves behind, an hour ago and now.
    await services.objects.put(orphanKey, Buffer.from('orphan'), 'image/png');
    const anHourAgo = new Date(Date.now() - 3_600_000);
    await utimes(path.join(services.settings.DATA_URI, orphanKey), anHourAgo, anHourAgo);
    await services.objects.put(youngOrphanKey, Buffer.from('in flight'), 'image/png');
  });
  after(() => services.close());

  test('a dry run reports the orphans and deletes nothing', async () => {
    const report = await reclaimer.reclaim({ graceMs: 60_000, dryRun: true });
    assert.deepEqual(
      report.orphans.map((o) => o.key),
      [orphanKey],
    );
    assert.equal(report.scanned, 4);
    assert.equal(await services.objects.exists(orphanKey), true);
  });

  test('reclaiming deletes old orphans only: not images older versions refer to, nor young objects', async () => {
    const report = await reclaimer.reclaim({ graceMs: 60_000, dryRun: false });
    assert.deepEqual(
      report.orphans.map((o) => o.key),
      [orphanKey],
    );
    assert.equal(report.bytes, 'orphan'.length);
    assert.equal(await services.objects.exists(orphanKey), false);
    assert.equal(await services.objects.exists(youngOrphanKey), true, 'inside the grace period');
    assert.equal(await services.objects.exists(keptKey), true);
    assert.equal(await services.objects.exists(deletedKey), true, 'deleted rows are still in older versions');
  });
});
