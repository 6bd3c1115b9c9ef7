// Several service instances (separate Lance connections, as separate processes have) on one
// dataset in a temp directory. The S3 variants of these races are in s3-concurrency.test.ts.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import type { Services } from '../src/services/index.js';
import { COLOURS, distinctImages } from './support/images.js';
import { keepOne } from '../src/services/catalog/duplicates.js';
import { execute, graphqlServer, openServices, syntheticRows, tempDir, testModel } from './support/harness.js';

const DEFAULT_READ_CONSISTENCY_MS = 1000;
const READ = 'query ($id: ID!) { image(id: $id) { id } dataset { version rowCount } }';
type ReadData = { image: { id: string } | null; dataset: { version: number; rowCount: number } };

let server: ApolloServer<GraphQLContext>;
let dimension: number;
before(async () => {
  server = await graphqlServer();
  dimension = (await testModel()).dimension;
});
after(() => server.stop());

/** Instances on one new dataset (each one's close removes it). */
async function replicas(count: number, env: Record<string, string>): Promise<Services[]> {
  const DATA_URI = await tempDir();
  const all: Services[] = [];
  for (let i = 0; i < count; i++) all.push(await openServices({ ...env, DATA_URI }));
  return all;
}

async function read(services: Services, id: string): Promise<ReadData> {
  const result = await execute<ReadData>(server, services, READ, { id });
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data!;
}

/** Rows with the id, counted in the dataset itself rather than in any writer's id set. */
async function copiesOf(services: Services, id: string): Promise<number> {
  const { table } = await services.catalog.reader(await services.catalog.refresh());
  return table.countRows(`id = '${id}'`);
}

/**
 * Spies on `services`' looks at the store for new versions. They run on its READ_CONSISTENCY_MS
 * timer, which the tests move by hand (`t.mock.timers`): until a test moves it, the process looks
 * no more, and what it sees comes from what it knows itself.
 */
function spyOnLooks(t: TestContext, services: Services) {
  const looks = t.mock.method(services.catalog, 'refreshLatest');
  return {
    count: () => looks.mock.callCount(),
    /** Moves the mocked clock on by `ms`, and waits for the looks that set off to be done. */
    tick: async (ms: number) => {
      t.mock.timers.tick(ms);
      await Promise.all(looks.mock.calls.map((call) => call.result));
    },
  };
}

describe('replicas on one dataset', () => {
  test('two copies of an id: every process keeps the earliest uploaded, wherever a fold or compaction moved it', async () => {
    const services = await openServices({ READ_CONSISTENCY_MS: '0' });
    try {
      const [early, late] = syntheticRows(2, dimension, 0);
      const id = early!.id;
      // As two replicas storing the same image at once leave it: the later upload at the lower
      // address. (A fold moves the copies it takes to the end, so row order alone would keep a
      // different copy before and after one.)
      await services.catalog.append([{ ...late!, id, filename: 'late.jpg', createdAt: new Date(2_000) }]);
      const version = await services.catalog.append([{ ...early!, filename: 'early.jpg', createdAt: new Date(1_000) }]);
      const copies = await services.catalog.copiesOf([id], version);
      const { kept, extra } = keepOne(copies);
      assert.equal(extra.length, 1);
      assert.equal(copies.find((c) => c.rowId === extra[0])?.filename, 'late.jpg', 'the copy uploaded later goes');
      assert.equal(kept.get(id)?.filename, 'early.jpg');
    } finally {
      await services.close();
    }
  });

  test('a replica that re-uploads bytes another stored answers the stored row and adds no second', async () => {
    const [a, b] = await replicas(2, { READ_CONSISTENCY_MS: '0' });
    try {
      const [bytes] = await distinctImages(1, COLOURS.red, 4242);
      const [stored] = await a!.uploads.uploadAll([{ bytes: bytes!, filename: 'first.jpg' }]);
      const { id } = stored!.image;
      const [again] = await b!.uploads.uploadAll([{ bytes: bytes!, filename: 'again.jpg' }]);
      assert.equal(again!.created, false);
      assert.equal(again!.image.filename, 'first.jpg', 'the stored row is returned');
      assert.equal(await copiesOf(b!, id), 1);
    } finally {
      await Promise.all([a, b].map((s) => s!.close()));
    }
  });

  test('a process reads its own append, delete and restore at once at the default READ_CONSISTENCY_MS', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const [self, other] = await replicas(2, { READ_CONSISTENCY_MS: String(DEFAULT_READ_CONSISTENCY_MS) });
    try {
      const [row] = syntheticRows(1, dimension, 100);
      const looks = spyOnLooks(t, self!);
      const within = async <T>(write: () => Promise<T>, offset: number) => {
        // The other process commits, and this one's periodic look sees it: the look is fresh.
        const { version } = await other!.writer.append(syntheticRows(1, dimension, offset)[0]!);
        await looks.tick(DEFAULT_READ_CONSISTENCY_MS);
        assert.equal(await self!.catalog.version(), version);
        const before = looks.count();
        const outcome = await write();
        const seen = await read(self!, row!.id);
        assert.equal(looks.count(), before, 'the process looked at the store between its write and its read');
        return { outcome, seen };
      };

      const appended = await within(() => self!.writer.append(row!), 1);
      assert.equal(appended.seen.image?.id, row!.id);
      assert.equal(appended.seen.dataset.version, appended.outcome.version);

      const deleted = await within(() => self!.dataset.delete(row!.id), 2);
      assert.equal(deleted.seen.image, null);
      assert.equal(deleted.seen.dataset.version, deleted.outcome.version);

      const restored = await within(() => self!.dataset.restore(appended.outcome.version), 3);
      assert.equal(restored.seen.image?.id, row!.id);
      assert.deepEqual({ ...restored.seen.dataset }, { version: restored.outcome.version, rowCount: 2 });
    } finally {
      await Promise.all([self, other].map((s) => s!.close()));
    }
  });

  test('another process commit shows within READ_CONSISTENCY_MS, and need not show sooner', async (t) => {
    const bound = DEFAULT_READ_CONSISTENCY_MS;
    t.mock.timers.enable({ apis: ['setInterval'] });
    const [writer, reader] = await replicas(2, { READ_CONSISTENCY_MS: String(bound) });
    try {
      const looks = spyOnLooks(t, reader!);
      const [row] = syntheticRows(1, dimension, 1);
      const { version } = await writer!.writer.append(row!);
      assert.equal((await read(reader!, row!.id)).image, null, 'seen before the reader looked');
      await looks.tick(bound - 1);
      assert.equal((await read(reader!, row!.id)).image, null, 'seen before READ_CONSISTENCY_MS was over');
      await looks.tick(1);
      const seen = await read(reader!, row!.id);
      assert.equal(seen.image?.id, row!.id, 'not seen once READ_CONSISTENCY_MS was over');
      assert.equal(seen.dataset.version, version);
    } finally {
      await Promise.all([writer, reader].map((s) => s!.close()));
    }
  });
});
