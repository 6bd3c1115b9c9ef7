// Concurrent writers and readers in one process against the real S3-compatible store (Ceph RGW from
// scripts/s3-local.sh), whose conditional PUTs are what Lance's commit protocol relies on.
//
//   eval "$(scripts/s3-local.sh start)" && node --import tsx --test test/s3-concurrency.test.ts
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import type { Services } from '../src/services/index.js';
import {
  UPLOAD_ONE,
  execute,
  graphqlServer,
  openServices,
  storedIds,
  upload,
  type GraphQLResponse,
} from './support/harness.js';
import { COLOURS, distinctImages } from './support/images.js';
import { S3_SKIP, emptyPrefix, s3Env } from './support/s3.js';
import { lanceReader, tableWrites } from '../src/services/catalog/test-access.js';

/** Every field of Image except the vector, so that a half-written row would show as a null. */
const IMAGE_FIELDS = ['id', 'key', 'url', 'filename', 'contentType', 'size', 'width', 'height', 'createdAt'] as const;
const SEARCH = `query ($text: String!) { search(text: $text, limit: 100) { version cached hits { image { ${IMAGE_FIELDS.join(' ')} } } } }`;
const IDS_AT = 'query ($version: Int!) { images(version: $version, limit: 1000) { id } }';

type Hit = { image: Record<(typeof IMAGE_FIELDS)[number], unknown> };
type SearchData = { search: { version: number; cached: boolean; hits: Hit[] } };

let server: ApolloServer<GraphQLContext>;
before(async () => {
  if (!S3_SKIP) server = await graphqlServer();
});
after(() => server?.stop());

const run = (services: Services, query: string, variables?: Record<string, unknown>) =>
  execute(server, services, query, variables);
const search = (services: Services, text: string) => execute<SearchData>(server, services, SEARCH, { text });

/** Uploads through GraphQL, as a client would; returns the new image's id. */
async function uploadVia(services: Services, bytes: Uint8Array, filename: string): Promise<string> {
  const result = await run(services, UPLOAD_ONE, { file: upload(bytes, filename) });
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data!.uploadImage.image.id as string;
}

/** How many rows carry `id`, read fresh from the dataset (not from any writer's id set). */
async function copiesOf(services: Services, id: string): Promise<number> {
  await tableWrites(services.writer).refresh();
  const rows = await (await lanceReader(services.catalog)).table.query().where(`id = '${id}'`).select(['id']).toArray();
  return rows.length;
}

describe('one service instance on S3 under concurrent requests', { skip: S3_SKIP }, () => {
  let services: Services;
  before(async () => {
    services = await openServices(s3Env());
  });
  after(async () => {
    if (!services) return;
    await emptyPrefix(services.objects);
    await services.close();
  });

  test('20 concurrent uploads give 20 rows, no duplicate ids, in fewer than 20 versions', async (t) => {
    const images = await distinctImages(20, COLOURS.yellow);
    const { ids: earlier } = await storedIds(services); // the other tests' rows, if they ran first
    const before = await services.catalog.version();
    const ids = await Promise.all(images.map((bytes, i) => uploadVia(services, bytes, `yellow-${i}.jpg`)));
    assert.equal(new Set(ids).size, 20);
    const { ids: stored, duplicated } = await storedIds(services);
    assert.equal(await (await lanceReader(services.catalog)).table.countRows(), earlier.size + 20);
    assert.deepEqual([...stored].sort(), [...earlier, ...ids].sort());
    assert.deepEqual(duplicated, []);
    const newVersions = (await services.catalog.version()) - before;
    t.diagnostic(`20 uploads committed as ${newVersions} versions`);
    assert.ok(newVersions < 20, `${newVersions} versions for 20 uploads`);
  });

  test('searches running during uploads never fail and never see a partial row', async (t) => {
    const waves = [
      await distinctImages(10, COLOURS.gray, 100),
      await distinctImages(10, COLOURS.red, 200),
      await distinctImages(10, COLOURS.gray, 300),
    ];
    const searches: Array<GraphQLResponse<SearchData>> = [];
    let writing = true;
    const texts = ['gray', 'a red thing', 'yellow'];
    const searchLoop = async (offset: number) => {
      for (let i = offset; writing; i++) searches.push(await search(services, texts[i % texts.length]!));
    };
    const readers = [searchLoop(0), searchLoop(1)];
    try {
      for (const [w, wave] of waves.entries()) {
        await Promise.all(wave.map((bytes, i) => uploadVia(services, bytes, `wave${w}-${i}.jpg`)));
        // One search after each wave as well, so the waves' versions are checked whatever the timing.
        searches.push(await search(services, 'gray'));
      }
    } finally {
      writing = false;
      await Promise.all(readers);
    }

    for (const result of searches) assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const versions = new Set(searches.map((r) => r.data!.search.version));
    t.diagnostic(`${searches.length} searches over ${versions.size} versions while 30 images were uploaded`);
    assert.ok(versions.size >= waves.length, `searches saw versions ${[...versions]}`);

    // Each result is exactly what its version holds: every hit is a whole row of that version.
    const idsAt = new Map<number, Set<string>>();
    for (const version of versions) {
      const read = await run(services, IDS_AT, { version });
      assert.equal(read.errors, undefined, JSON.stringify(read.errors));
      idsAt.set(version, new Set(read.data!.images.map((i: { id: string }) => i.id)));
    }
    for (const { data } of searches) {
      const { version, hits } = data!.search;
      const stored = idsAt.get(version)!;
      assert.equal(hits.length, Math.min(100, stored.size), `version ${version} holds ${stored.size} rows`);
      assert.equal(new Set(hits.map((h) => h.image.id)).size, hits.length, 'a hit appears twice');
      for (const { image } of hits) {
        assert.ok(stored.has(image.id as string), `hit ${image.id} is not in version ${version}`);
        for (const field of IMAGE_FIELDS) assert.notEqual(image[field] ?? null, null, `${field} of ${image.id}`);
      }
    }
  });

  test('a delete racing an append: both take effect', async () => {
    const [victimBytes, fresh] = await distinctImages(2, COLOURS.blue, 500);
    const victim = await uploadVia(services, victimBytes!, 'victim.jpg');
    const [deleted, created] = await Promise.all([
      services.dataset.delete(victim),
      uploadVia(services, fresh!, 'blue.jpg'),
    ]);
    assert.equal(deleted.deleted, true);
    assert.equal(await copiesOf(services, victim), 0);
    assert.equal(await copiesOf(services, created), 1);
  });
});

describe('two service instances (separate Lance connections) on one S3 prefix', { skip: S3_SKIP }, () => {
  const env = s3Env();
  let a: Services;
  let b: Services;
  before(async () => {
    a = await openServices(env);
    b = await openServices(env);
  });
  after(async () => {
    if (!a || !b) return;
    await emptyPrefix(a.objects);
    await Promise.all([a.close(), b.close()]);
  });

  // Observed on Ceph: both instances commit their copy (each writer's id set misses the other's
  // row, and Lance rebases one append over the other), so the dataset briefly holds two rows with
  // the id. The instance whose commit landed one version further than it expected reloads its id
  // set, finds the copy and deletes it by row id, in the same drain, after the uploads have
  // answered. Once both writers are idle there is one row.
  test('the same image uploaded to both at the same moment ends as one row', async (t) => {
    // The duplicate repairs (deletes by row id) each writer makes.
    const repairs = [
      t.mock.method(tableWrites(a.writer), 'deleteCopies'),
      t.mock.method(tableWrites(b.writer), 'deleteCopies'),
    ];
    const { ids: earlier } = await storedIds(a); // the other tests' rows, if they ran first
    const uploaded: string[] = [];
    for (let round = 0; round < 3; round++) {
      const [bytes] = await distinctImages(1, COLOURS.magenta, 600 + round);
      const [fromA, fromB] = await Promise.all([
        a.uploads.uploadAll([{ bytes: bytes!, filename: 'a.jpg' }]),
        b.uploads.uploadAll([{ bytes: bytes!, filename: 'b.jpg' }]),
      ]);
      const id = fromA[0]!.image.id;
      assert.equal(fromB[0]!.image.id, id);
      uploaded.push(id);
      await Promise.all([a.writer.flush(), b.writer.flush()]);
      assert.equal(await copiesOf(a, id), 1, `round ${round}: rows with the id`);
      t.diagnostic(
        `round ${round}: created A=${fromA[0]!.created} B=${fromB[0]!.created}; repairs so far A=${repairs[0]!.mock.callCount()} B=${repairs[1]!.mock.callCount()}`,
      );
    }
    const { ids, duplicated } = await storedIds(a);
    assert.deepEqual([...ids].sort(), [...earlier, ...uploaded].sort());
    assert.deepEqual(duplicated, []);
  });

  test('a delete on one instance racing an append on the other: both take effect', async () => {
    const [victimBytes, freshBytes] = await distinctImages(2, COLOURS.cyan, 700);
    const victim = await uploadVia(a, victimBytes!, 'victim.jpg');
    const [deleted, created] = await Promise.all([a.dataset.delete(victim), uploadVia(b, freshBytes!, 'fresh.jpg')]);
    assert.equal(deleted.deleted, true);
    assert.equal(await copiesOf(a, victim), 0);
    assert.equal(await copiesOf(a, created), 1);
  });

  // Each writer trusts its in-memory id set, which learns of the other instance's commits only
  // when one of its own commits lands on an unexpected version (or at start-up).
  test('an image uploaded on one instance can be deleted on the other', async () => {
    const [bytes] = await distinctImages(1, COLOURS.orange, 800);
    const id = await uploadVia(a, bytes!, 'orange.jpg');
    assert.equal(await copiesOf(b, id), 1, 'B reads the row');
    const outcome = await b.dataset.delete(id);
    assert.equal(outcome.deleted, true);
    assert.equal(await copiesOf(a, id), 0);
  });

  test('an image deleted on one instance can be uploaded again on the other', async (t: TestContext) => {
    const [bytes] = await distinctImages(1, COLOURS.purple, 900);
    const id = await uploadVia(a, bytes!, 'purple.jpg');
    // The deleter must know the row (see the test above): a fresh instance reads the id set.
    const c = await openServices(env);
    t.after(() => c.close());
    assert.equal((await c.dataset.delete(id)).deleted, true);
    const again = await a.uploads.uploadAll([{ bytes: bytes!, filename: 'purple-again.jpg' }]);
    assert.equal(again[0]!.created, true);
    assert.equal(await copiesOf(a, id), 1);
  });
});
