// Several service instances (separate Lance connections, as separate processes have) on one
// dataset in a temp directory. The S3 variants of these races are in s3-concurrency.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import type { Services } from '../src/services/index.js';
import { COLOURS, distinctImages } from './support/images.js';
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
 * Commits a row through `writer` and waits until `reader`'s latest-version handle has seen it.
 * That handle has then just looked at the store, and will not look again for READ_CONSISTENCY_MS:
 * what `reader` sees next comes from what it knows itself, not from a fresh look.
 */
async function freshlyChecked(writer: Services, reader: Services, offset: number): Promise<number> {
  const { version } = await writer.writer.append(syntheticRows(1, dimension, offset)[0]!);
  const deadline = performance.now() + 2 * DEFAULT_READ_CONSISTENCY_MS;
  while ((await reader.catalog.version()) < version) {
    assert.ok(performance.now() < deadline, `version ${version} never reached the other instance`);
    await sleep(5);
  }
  return performance.now();
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
      await services.catalog.append([{ ...early!, filename: 'early.jpg', createdAt: new Date(1_000) }]);
      const { duplicateRowIds } = await services.catalog.scanIds();
      assert.equal(duplicateRowIds.length, 1);
      const { table } = await services.catalog.reader(await services.catalog.refresh());
      const doomed = await table.query().where(`_rowid = ${duplicateRowIds[0]}`).select(['filename']).toArray();
      assert.equal(doomed[0]?.filename, 'late.jpg', 'the copy uploaded later goes');
    } finally {
      await services.close();
    }
  });

  test('a replica with a stale id set that re-uploads stored bytes adds no second row', async () => {
    const [a, b] = await replicas(2, { READ_CONSISTENCY_MS: '0' });
    try {
      const [bytes] = await distinctImages(1, COLOURS.red, 4242);
      const [stored] = await a!.uploads.uploadAll([{ bytes: bytes!, filename: 'first.jpg' }]);
      const { id } = stored!.image;
      assert.equal(b!.writer.has(id), false, 'the replica has not seen the row yet');
      const [again] = await b!.uploads.uploadAll([{ bytes: bytes!, filename: 'again.jpg' }]);
      assert.equal(again!.created, false);
      assert.equal(again!.image.filename, 'first.jpg', 'the stored row is returned');
      assert.equal(await copiesOf(b!, id), 1);
    } finally {
      await Promise.all([a, b].map((s) => s!.close()));
    }
  });

  test('a process reads its own append, delete and restore at once at the default READ_CONSISTENCY_MS', async (t) => {
    const [self, other] = await replicas(2, { READ_CONSISTENCY_MS: String(DEFAULT_READ_CONSISTENCY_MS) });
    try {
      const [row] = syntheticRows(1, dimension, 100);
      const lags: number[] = [];
      const within = async <T>(write: () => Promise<T>, offset: number) => {
        const checked = await freshlyChecked(other!, self!, offset);
        const outcome = await write();
        const seen = await read(self!, row!.id);
        lags.push(performance.now() - checked);
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

      // Past the bound the handle may have looked again, and the reads prove less.
      t.diagnostic(`write and read within ${lags.map((ms) => ms.toFixed(0)).join(', ')} ms of the last look`);
      assert.ok(Math.max(...lags) < DEFAULT_READ_CONSISTENCY_MS, 'too slow a run to tell');
    } finally {
      await Promise.all([self, other].map((s) => s!.close()));
    }
  });

  test('another process commit shows within READ_CONSISTENCY_MS, and need not show sooner', async (t) => {
    const bound = DEFAULT_READ_CONSISTENCY_MS;
    const [writer, reader] = await replicas(2, { READ_CONSISTENCY_MS: String(bound) });
    try {
      const checked = await freshlyChecked(writer!, reader!, 0);
      const [row] = syntheticRows(1, dimension, 1);
      const { version } = await writer!.writer.append(row!);
      const written = performance.now();
      const first = await read(reader!, row!.id);
      if (performance.now() - checked < bound) {
        assert.equal(first.image, null, 'the reader looked at the store again inside the bound');
      } else t.diagnostic('the first read came after the bound; staleness not checked');

      let seen = first;
      while (seen.image === null && performance.now() < written + bound + 500) {
        await sleep(20);
        seen = await read(reader!, row!.id);
      }
      t.diagnostic(`visible to the other process ${(performance.now() - written).toFixed(0)} ms after the commit`);
      assert.equal(seen.image?.id, row!.id, `not visible ${bound} ms + 500 ms after the commit`);
      assert.equal(seen.dataset.version, version);
    } finally {
      await Promise.all([writer, reader].map((s) => s!.close()));
    }
  });
});
