import { after, afterEach, before, beforeEach, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as lancedb from '@lancedb/lancedb';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import type { Services } from '../src/services/index.js';
import { COLOURS, distinctImages } from './support/images.js';
import { createLogger } from '../src/logger.js';
import { TABLE_NAME } from '../src/services/catalog/catalog.js';
import { startServices } from '../src/services/index.js';
import {
  UPLOAD_ONE,
  commitRows,
  execute,
  graphqlServer,
  openServices,
  storedIds,
  syntheticRows,
  testModel,
  upload,
} from './support/harness.js';
import { lanceReader, tableWrites } from '../src/services/catalog/test-access.js';

/** Restores `version` of the dataset at `uri` through a Lance connection of its own, as another process would. */
async function restoreElsewhere(uri: string, version: number): Promise<void> {
  const db = await lancedb.connect(uri);
  const table = await db.openTable(TABLE_NAME);
  try {
    await table.checkout(version);
    await table.restore();
  } finally {
    table.close();
    db.close();
  }
}

/** The group-commit writer against a real Lance dataset in a temp directory, a fresh one per test. */
describe('writer', () => {
  let server: ApolloServer<GraphQLContext>;
  let services: Services;
  let dimension: number;
  const run = (query: string, variables?: Record<string, unknown>) => execute(server, services, query, variables);
  const version = () => services.catalog.version();
  const rows = (count: number, offset = 0) => syntheticRows(count, dimension, offset);

  before(async () => {
    server = await graphqlServer();
    dimension = (await testModel()).dimension;
  });
  after(() => server.stop());
  beforeEach(async () => {
    services = await openServices();
  });
  afterEach(() => services.close());

  test('a write queued just as the writer goes idle is still committed (no lost wake-up)', async () => {
    // The writer idles a few microtasks after it resolves its last write; a write queued in that
    // gap must start a new drain. Every offset from 0 to 20 microtasks is tried.
    for (let hops = 0; hops <= 20; hops += 1) {
      await services.writer.append(rows(1, 2 * hops)[0]!);
      for (let i = 0; i < hops; i += 1) await Promise.resolve();
      const next = services.writer.append(rows(1, 2 * hops + 1)[0]!);
      const stuck = new Promise((resolve) => setTimeout(resolve, 5000, 'stuck')).finally(() => {});
      assert.notEqual(await Promise.race([next, stuck]), 'stuck', `a write queued ${hops} microtasks after idle hung`);
    }
  });

  test('20 concurrent uploads give 20 rows in fewer than 20 versions, one per Lance append', async (t) => {
    const images = await distinctImages(20, COLOURS.yellow);
    const before = await version();
    const appends = t.mock.method(tableWrites(services.writer), 'append');
    const results = await Promise.all(images.map((bytes) => run(UPLOAD_ONE, { file: upload(bytes) })));
    assert.ok(results.every((r) => r.errors === undefined && r.data!.uploadImage.created));
    assert.equal(await (await lanceReader(services.catalog)).table.countRows(), 20);
    const { ids, duplicated } = await storedIds(services);
    assert.deepEqual([ids.size, duplicated], [20, []], 'no duplicate ids');
    const newVersions = (await version()) - before;
    assert.ok(newVersions < 20, `${newVersions} versions for 20 uploads`);
    assert.equal(appends.mock.callCount(), newVersions);
  });

  test('deletes queued together become one deletion', async () => {
    await commitRows(services, rows(20));
    const ids = rows(5).map((r) => r.id);
    const before = await version();
    const outcomes = await Promise.all(ids.map((id) => services.dataset.delete(id)));
    assert.ok(outcomes.every((o) => o.deleted));
    assert.equal(new Set(outcomes.map((o) => o.version)).size, 1);
    assert.equal(await version(), before + 1);
    assert.equal(await (await lanceReader(services.catalog)).table.countRows(), 15);
  });

  test('a delete racing an append: both take effect', async () => {
    const [victim] = rows(1);
    await commitRows(services, [victim!]);
    const [fresh] = await distinctImages(1, COLOURS.blue, 500);
    const [deleted, uploaded] = await Promise.all([
      services.dataset.delete(victim!.id),
      run(UPLOAD_ONE, { file: upload(fresh!) }),
    ]);
    assert.equal(deleted.deleted, true);
    const { ids } = await storedIds(services);
    assert.ok(!ids.has(victim!.id));
    assert.ok(ids.has(uploaded.data!.uploadImage.image.id));
  });

  test('a failed commit rejects its operations, writes nothing, and the writer goes on', async (t) => {
    const [bytes] = await distinctImages(1, COLOURS.cyan, 900);
    const before = await version();
    const diskFull = t.mock.method(tableWrites(services.writer), 'append', async () => {
      throw new Error('disk full');
    });
    const failed = await run(UPLOAD_ONE, { file: upload(bytes!) });
    diskFull.mock.restore();
    assert.equal(failed.errors?.[0]?.extensions?.code, 'SERVICE_UNAVAILABLE');
    assert.equal(await version(), before);
    const retried = await run(UPLOAD_ONE, { file: upload(bytes!) });
    assert.equal(retried.data!.uploadImage.created, true, 'the id was not left marked as stored');
  });

  test('a restarted process finds the rows stored before it started: an append of one is not created', async () => {
    await commitRows(services, rows(10));
    const restarted = await startServices(services.settings, createLogger('silent'), testModel());
    try {
      const [again, fresh] = await Promise.all([rows(1)[0]!, rows(1, 10)[0]!].map((r) => restarted.writer.append(r)));
      assert.deepEqual([again!.created, fresh!.created], [false, true]);
      assert.equal((await storedIds(restarted)).ids.size, 11);
    } finally {
      await restarted.close();
    }
  });

  test('an append of the very row committed already (a hand-off whose answer was lost) is answered created, once', async () => {
    const [row] = rows(1);
    // What the lease holder did with a hand-off before its answer was lost (append-relay.ts).
    await commitRows(services, [row!]);
    const again = await services.writer.append(row!);
    // Another upload of the same bytes, later: not created by that upload.
    const later = await services.writer.append({ ...row!, createdAt: new Date(row!.createdAt.getTime() + 1000) });
    assert.deepEqual([again.created, later.created], [true, false]);
    assert.deepEqual((await storedIds(services)).ids, new Set([row!.id]));
    assert.deepEqual((await storedIds(services)).duplicated, []);
  });

  test('an optimize and a delete requested together both take effect: the delete waits for the compaction', async () => {
    for (let i = 0; i < 6; i++) await commitRows(services, rows(3, i * 3));
    const [victim] = rows(1);
    const [optimized, deleted] = await Promise.all([services.dataset.optimize(), services.dataset.delete(victim!.id)]);
    assert.equal(deleted.deleted, true);
    assert.equal(optimized.fragmentCount, 1);
    assert.ok(deleted.version > optimized.version, 'the delete committed after the compaction');
    assert.equal(await (await lanceReader(services.catalog)).table.countRows(), 17);
  });

  test('an index build and an optimize requested together run one after the other: both take effect', async () => {
    for (let i = 0; i < 6; i++) await commitRows(services, rows(60, i * 60));
    await Promise.all([services.dataset.createVectorIndex('IVF_PQ'), services.dataset.optimize()]);
    const info = await services.catalog.describe();
    assert.equal(info.fragmentCount, 1);
    const vector = info.indices.find((i) => i.columns.includes('vector'));
    assert.equal(vector?.unindexedRows, 0, 'the index covers every row');
  });

  test("an append that loses the race to another process's restore is retried on the restored version", async (t) => {
    const first = await commitRows(services, rows(5));
    await commitRows(services, rows(3, 5));
    const append = tableWrites(services.writer).append.bind(tableWrites(services.writer));
    const refused: unknown[] = [];
    // The other process commits between this writer's look at the latest version and its append.
    let raced = false;
    const appends = t.mock.method(
      tableWrites(services.writer),
      'append',
      async (batch: Parameters<typeof append>[0]) => {
        if (!raced) {
          raced = true;
          await restoreElsewhere(services.settings.DATA_URI, first);
        }
        return append(batch).catch((error: unknown) => {
          refused.push(error);
          throw error;
        });
      },
    );
    const [row] = rows(1, 100);
    const outcome = await services.writer.append(row!);
    assert.equal(refused.length, 1, 'Lance refused the first append');
    assert.match(String(refused[0]), /Append transaction is incompatible with concurrent transaction Restore/);
    assert.equal(appends.mock.callCount(), 2, 'and the writer tried it again');
    assert.equal(outcome.created, true);
    const { ids } = await storedIds(services);
    assert.deepEqual([...ids].sort(), [...rows(5), row!].map((r) => r.id).sort(), 'the restored rows and the new one');
  });

  /**
   * Holds every call of a real Lance table method at its start until released; `entered`
   * settles at the first call. Restored by the test's mock tracker.
   */
  async function holdLance(t: TestContext, method: 'createIndex' | 'optimize') {
    const lanceTable = Object.getPrototypeOf((await lanceReader(services.catalog)).table) as lancedb.Table;
    const real = lanceTable[method] as (...args: unknown[]) => Promise<unknown>;
    let enter!: () => void;
    let release!: () => void;
    const entered = new Promise<void>((resolve) => (enter = resolve));
    const held = new Promise<void>((resolve) => (release = resolve));
    t.mock.method(lanceTable, method, async function (this: lancedb.Table, ...args: unknown[]) {
      enter();
      await held;
      return real.apply(this, args);
    });
    return { entered, release };
  }

  /** True when `upload` commits while the work beside the queue is held; on a writer that holds its queue it never would. */
  async function commitsWhileHeld(upload: Promise<unknown>, release: () => void): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise((resolve) => (timer = setTimeout(resolve, 20_000, 'stuck')));
    try {
      return (await Promise.race([upload, stuck])) !== 'stuck';
    } finally {
      clearTimeout(timer);
      release();
    }
  }

  test('an upload queued behind a restore that waits for an index build commits before the build ends', async (t) => {
    const before = await commitRows(services, rows(300));
    const lance = await holdLance(t, 'createIndex');
    const config = lancedb.Index.ivfFlat({ numPartitions: 1, distanceType: 'cosine' });
    const indexed = services.writer.buildIndex({ column: 'vector', config, name: 'vector_held', type: 'IvfFlat' });
    await lance.entered;
    const restored = services.dataset.restore(before);
    const uploaded = services.writer.append(rows(1, 300)[0]!);
    assert.ok(await commitsWhileHeld(uploaded, lance.release), 'the upload waited for the index build');
    const [upload, index, restore] = await Promise.all([uploaded, indexed, restored]);
    assert.ok(upload.version < index && index < restore.version, `${upload.version}, ${index}, ${restore.version}`);
    assert.equal(await (await lanceReader(services.catalog)).table.countRows(), 300, 'the restore landed after both');
    await services.writer.flush();
    assert.equal((await storedIds(services)).ids.has(rows(1, 300)[0]!.id), false, 'the restore removed the upload');
  });

  test('an upload queued behind a delete that waits for an optimize commits before the optimize ends', async (t) => {
    await commitRows(services, rows(300));
    const lance = await holdLance(t, 'optimize');
    const optimized = services.writer.optimize();
    await lance.entered;
    const deleted = services.dataset.delete(rows(1)[0]!.id);
    const uploaded = services.writer.append(rows(1, 300)[0]!);
    assert.ok(await commitsWhileHeld(uploaded, lance.release), 'the upload waited for the optimize');
    const [upload, deletion] = await Promise.all([uploaded, deleted, optimized]);
    assert.ok(upload.version < deletion.version);
    const { ids } = await storedIds(services);
    assert.ok(!ids.has(rows(1)[0]!.id) && ids.has(rows(1, 300)[0]!.id));
    assert.equal(ids.size, 300);
  });

  test('a fold asked for while an index build runs waits for it, without holding the uploads behind it', async (t) => {
    await commitRows(services, rows(300));
    for (const row of rows(4, 300)) await tableWrites(services.writer).append([row]);
    const lance = await holdLance(t, 'createIndex');
    const config = lancedb.Index.ivfFlat({ numPartitions: 1, distanceType: 'cosine' });
    const indexed = services.writer.buildIndex({ column: 'vector', config, name: 'vector_held', type: 'IvfFlat' });
    await lance.entered;
    const folded = services.writer.fold();
    const uploaded = services.writer.append(rows(1, 304)[0]!);
    assert.ok(await commitsWhileHeld(uploaded, lance.release), 'the upload waited for the index build');
    const [index, fold] = await Promise.all([indexed, folded]);
    assert.ok(fold !== null && fold > index, `fold ${fold}, index ${index}`);
    const info = await services.catalog.describe();
    assert.deepEqual(
      info.indices.map((i) => i.name),
      ['vector_held'],
    );
    assert.equal(info.rowCount, 305);
  });

  test('a restore requested while an index build runs waits for it: the build is not thrown away', async () => {
    const before = await commitRows(services, rows(300));
    await commitRows(services, rows(1, 300));
    const config = lancedb.Index.ivfFlat({ numPartitions: 1, distanceType: 'cosine' });
    const [indexed, restored] = await Promise.all([
      services.writer.buildIndex({ column: 'vector', config, name: 'vector_one_partition', type: 'IvfFlat' }),
      services.dataset.restore(before),
    ]);
    assert.ok(restored.version > indexed, 'the restore committed after the index');
    assert.equal(await (await lanceReader(services.catalog)).table.countRows(), 300);
  });
});
