import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import type { Services } from '../src/services/index.js';
import { COLOURS, distinctImages } from './support/images.js';
import { createLogger } from '../src/logger.js';
import { startServices } from '../src/services/index.js';
import { UPLOAD_ONE, execute, graphqlServer, openServices, testModel, upload } from './support/harness.js';

/** The group-commit writer against a real Lance dataset in a temp directory. */
describe('writer', () => {
  let server: ApolloServer<GraphQLContext>;
  let services: Services;
  const run = (query: string, variables?: Record<string, unknown>) => execute(server, services, query, variables);
  const version = () => services.catalog.version();

  before(async () => {
    server = await graphqlServer();
    services = await openServices();
  });
  after(async () => {
    await server.stop();
    await services.close();
  });

  test('20 concurrent uploads give 20 rows in fewer than 20 versions', async () => {
    const images = await distinctImages(20, COLOURS.yellow);
    const before = await version();
    const commitsBefore = services.writer.commitCount;
    const results = await Promise.all(images.map((bytes) => run(UPLOAD_ONE, { file: upload(bytes) })));
    assert.ok(results.every((r) => r.errors === undefined && r.data!.uploadImage.created));
    assert.equal(await services.catalog.table.countRows(), 20);
    assert.equal((await services.catalog.allIds()).size, 20, 'no duplicate ids');
    const newVersions = (await version()) - before;
    assert.ok(newVersions < 20, `${newVersions} versions for 20 uploads`);
    assert.equal(services.writer.commitCount - commitsBefore, newVersions);
  });

  test('deletes queued together become one deletion', async () => {
    const ids = [...(await services.catalog.allIds())].slice(0, 5);
    const before = await version();
    const outcomes = await Promise.all(ids.map((id) => services.dataset.delete(id)));
    assert.ok(outcomes.every((o) => o.deleted));
    assert.equal(new Set(outcomes.map((o) => o.version)).size, 1);
    assert.equal(await version(), before + 1);
    assert.equal(await services.catalog.table.countRows(), 15);
  });

  test('a delete racing an append: both take effect', async () => {
    const [victim] = [...(await services.catalog.allIds())];
    const [fresh] = await distinctImages(1, COLOURS.blue, 500);
    const [deleted, uploaded] = await Promise.all([
      services.dataset.delete(victim!),
      run(UPLOAD_ONE, { file: upload(fresh!) }),
    ]);
    assert.equal(deleted.deleted, true);
    const ids = await services.catalog.allIds();
    assert.ok(!ids.has(victim!));
    assert.ok(ids.has(uploaded.data!.uploadImage.image.id));
  });

  test('a failed commit rejects its operations, writes nothing, and the writer goes on', async () => {
    const [bytes] = await distinctImages(1, COLOURS.cyan, 900);
    const append = services.catalog.append.bind(services.catalog);
    services.catalog.append = async () => {
      throw new Error('disk full');
    };
    const before = await version();
    const failed = await run(UPLOAD_ONE, { file: upload(bytes!) });
    services.catalog.append = append;
    assert.equal(failed.errors?.[0]?.extensions?.code, 'SERVICE_UNAVAILABLE');
    assert.equal(await version(), before);
    const retried = await run(UPLOAD_ONE, { file: upload(bytes!) });
    assert.equal(retried.data!.uploadImage.created, true, 'the id was not left marked as stored');
  });

  test('a restarted process rebuilds its id set from the dataset', async () => {
    const ids = await services.catalog.allIds();
    const restarted = await startServices(services.settings, createLogger('silent'), testModel());
    try {
      for (const id of ids) assert.equal(restarted.writer.has(id), true);
      assert.equal(restarted.writer.has('0'.repeat(64)), false);
    } finally {
      await restarted.close();
    }
  });
});
