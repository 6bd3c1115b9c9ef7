import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execute, graphqlServer, openServices, tempDir, upload } from './support/harness.js';
import { COLOURS, solid } from './support/images.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'dataset-lancedb-0.37');

/** Datasets written before the move to LanceDB 0.39 keep working: read, time travel, append, delete. */
describe('a dataset written by LanceDB 0.37 (file format 2.1)', () => {
  test('opens, answers searches and old versions, and takes new uploads and deletes', async () => {
    const dir = await tempDir();
    await cp(FIXTURE, dir, { recursive: true });
    const services = await openServices({ DATA_URI: dir });
    const server = await graphqlServer();
    try {
      const run = (query: string) => execute(server, services, query);
      const before = await run('{ dataset { version rowCount } versions { version } }');
      // Version 8 records the running model, which the dataset did not (it predates the record).
      assert.equal(services.catalog.modelAdopted, true);
      assert.deepEqual({ ...before.data?.dataset }, { version: 8, rowCount: 7 }, JSON.stringify(before));
      assert.equal(before.data?.versions.length, 8);
      const green = await run('{ search(text: "green", limit: 1) { hits { image { filename } } } }');
      assert.equal(green.data?.search.hits[0]?.image.filename, 'green.png', JSON.stringify(green));
      // The version before the delete still has red.
      const old = await run('{ images(version: 5, limit: 10) { filename } }');
      assert.ok(
        old.data?.images.some((i: { filename: string }) => i.filename === 'red.png'),
        JSON.stringify(old),
      );

      const [added] = await services.uploads.uploadAll([upload(await solid(COLOURS.white), 'white.png')]);
      assert.equal(added?.created, true);
      const [again] = await services.uploads.uploadAll([upload(await solid(COLOURS.green), 'green-again.png')]);
      assert.equal(again?.created, false, 'an image stored under 0.37 is found by its id');
      const deleted = await services.dataset.delete(again!.image.id);
      assert.equal(deleted.deleted, true);
      const after = await run(
        '{ dataset { rowCount } white: search(text: "white", limit: 1) { hits { image { filename } } } }',
      );
      assert.equal(after.data?.dataset.rowCount, 7, JSON.stringify(after));
      assert.equal(after.data?.white.hits[0]?.image.filename, 'white.png');
    } finally {
      await server.stop();
      await services.close();
    }
  });
});
