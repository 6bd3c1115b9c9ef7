import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import type { Services } from '../src/services/index.js';
import { COLOURS, COLOUR_NAMES, noisy, solid } from './support/images.js';
import { UPLOAD_MANY, UPLOAD_ONE, execute, graphqlServer, openServices, upload } from './support/harness.js';
import { lanceReader } from '../src/services/catalog/test-access.js';

/**
 * GraphQL operations in-process (executeOperation) against real services on temp Lance datasets:
 * the tests that only read share one dataset of solid colours; a test that writes has its own.
 */
describe('GraphQL API', () => {
  let server: ApolloServer<GraphQLContext>;

  /** Services on a temp dataset, and operations run against them. */
  const on = (services: Services) => ({
    services,
    run: (query: string, variables?: Record<string, unknown>) => execute(server, services, query, variables),
  });
  type Dataset = ReturnType<typeof on>;

  /** One solid image of every colour; no test writes to it. */
  let colours: Dataset & { ids: Record<string, string> };

  /** An empty dataset of the test's own, closed when the test ends. */
  async function ownDataset(t: TestContext): Promise<Dataset> {
    const services = await openServices();
    t.after(() => services.close());
    return on(services);
  }

  /** Uploads one solid image of every colour; returns their ids by colour name. */
  async function uploadColours({ run }: Dataset): Promise<Record<string, string>> {
    const images = await Promise.all(COLOUR_NAMES.map((name) => solid(COLOURS[name])));
    const result = await run(UPLOAD_MANY, { files: images.map((bytes, i) => upload(bytes, `${COLOUR_NAMES[i]}.png`)) });
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const uploaded = result.data!.uploadImages as Array<{ image: { id: string } }>;
    return Object.fromEntries(uploaded.map((r, i) => [COLOUR_NAMES[i]!, r.image.id]));
  }

  /** Uploads two images in one request (so one fragment) and deletes the first: a deletion file. */
  async function uploadPairAndDeleteOne({ run }: Dataset): Promise<void> {
    const pair = await Promise.all([noisy(COLOURS.gray, 5, 1), noisy(COLOURS.gray, 5, 2)]);
    const uploaded = await run(UPLOAD_MANY, { files: pair.map((bytes) => upload(bytes)) });
    assert.equal(uploaded.errors, undefined, JSON.stringify(uploaded.errors));
    const deleted = await run('mutation ($id: ID!) { deleteImage(id: $id) { deleted } }', {
      id: uploaded.data!.uploadImages[0].image.id,
    });
    assert.equal(deleted.data?.deleteImage.deleted, true, JSON.stringify(deleted.errors));
  }

  before(async () => {
    server = await graphqlServer();
    const dataset = on(await openServices());
    colours = { ...dataset, ids: await uploadColours(dataset) };
  });
  after(async () => {
    await server?.stop();
    await colours?.services.close();
  });

  test('an upload reports what was detected from the bytes', async (t) => {
    const { services, run } = await ownDataset(t);
    const bytes = await solid([10, 200, 90], 'webp', 40);
    const { data } = await run(UPLOAD_ONE, { file: upload(bytes, 'leaf.PNG') });
    const { image, created } = data!.uploadImage;
    assert.equal(created, true);
    assert.match(image.id, /^[0-9a-f]{64}$/);
    assert.equal(image.key, `images/${image.id}.webp`);
    assert.deepEqual([image.contentType, image.width, image.height, image.size], ['image/webp', 40, 40, bytes.length]);
    assert.equal(image.filename, 'leaf.PNG');
    assert.equal(await services.objects.exists(image.key), true);
  });

  test('the same bytes again give the same id, created false and no new row', async (t) => {
    const { services, run } = await ownDataset(t);
    const first = await run(UPLOAD_ONE, { file: upload(await solid(COLOURS.red), 'red.png') });
    assert.equal(first.data!.uploadImage.created, true);
    const before = await (await lanceReader(services.catalog)).table.countRows();
    const { data } = await run(UPLOAD_ONE, { file: upload(await solid(COLOURS.red), 'again.png') });
    assert.equal(data!.uploadImage.created, false);
    assert.equal(data!.uploadImage.image.id, first.data!.uploadImage.image.id);
    assert.equal(data!.uploadImage.image.filename, 'red.png', 'the stored row is returned, not the new name');
    assert.equal(await (await lanceReader(services.catalog)).table.countRows(), before);
  });

  test('the same bytes uploaded at the same moment make one row', async (t) => {
    const { services, run } = await ownDataset(t);
    const bytes = await noisy(COLOURS.orange, 20, 4242);
    const before = await (await lanceReader(services.catalog)).table.countRows();
    const results = await Promise.all([1, 2, 3].map(() => run(UPLOAD_ONE, { file: upload(bytes) })));
    const created = results.map((r) => r.data!.uploadImage.created);
    assert.deepEqual(created.filter(Boolean).length, 1);
    assert.equal(new Set(results.map((r) => r.data!.uploadImage.image.id)).size, 1);
    assert.equal(await (await lanceReader(services.catalog)).table.countRows(), before + 1);
  });

  test('text search ranks the image of the named colour first, for every colour', async () => {
    const { run, ids } = colours;
    for (const name of COLOUR_NAMES) {
      const { data, errors } = await run(
        'query ($t: String!) { search(text: $t, limit: 3) { query hits { score distance image { id } } } }',
        {
          t: `a ${name} car`,
        },
      );
      assert.equal(errors, undefined);
      const [first, second] = data!.search.hits;
      assert.equal(first.image.id, ids[name], `"a ${name} car" should find the ${name} image first`);
      assert.ok(first.score > second.score);
      assert.ok(Math.abs(first.score - (1 - first.distance)) < 1e-6);
    }
  });

  test('similarImages leaves the image out and finds the nearest colour', async (t) => {
    const own = await ownDataset(t);
    const ids = await uploadColours(own);
    const { run } = own;
    const near = await run(UPLOAD_ONE, { file: upload(await noisy(COLOURS.red, 10, 7)) });
    const { data } = await run(
      'query ($id: ID!) { similarImages(id: $id, limit: 3) { query hits { image { id } } } }',
      {
        id: near.data!.uploadImage.image.id,
      },
    );
    const hitIds = data!.similarImages.hits.map((h: { image: { id: string } }) => h.image.id);
    assert.equal(data!.similarImages.query, null);
    assert.ok(!hitIds.includes(near.data!.uploadImage.image.id));
    assert.equal(hitIds[0], ids.red);
  });

  test('repeated searches are answered from the cache until the dataset changes', async (t) => {
    const { run } = await ownDataset(t);
    const images = await Promise.all([solid(COLOURS.magenta), solid(COLOURS.purple)]);
    assert.equal((await run(UPLOAD_MANY, { files: images.map((bytes) => upload(bytes)) })).errors, undefined);
    const query = '{ search(text: "something magenta", limit: 2) { version cached hits { image { id } } } }';
    const first = (await run(query)).data!.search;
    const second = (await run(query)).data!.search;
    assert.equal(first.hits.length, 2);
    assert.deepEqual([first.cached, second.cached], [false, true]);
    assert.deepEqual(second.hits, first.hits);
    await run(UPLOAD_ONE, { file: upload(await noisy(COLOURS.cyan, 30, 99)) });
    const third = (await run(query)).data!.search;
    assert.equal(third.cached, false, 'a new version is a new cache key');
    assert.ok(third.version > first.version);
  });

  test('image and images read by id and by page', async () => {
    const { services, run, ids } = colours;
    const one = await run('query ($id: ID!) { image(id: $id) { id url contentType createdAt } }', { id: ids.blue });
    assert.equal(one.data!.image.url, `/images/${ids.blue}.png`);
    assert.ok(!Number.isNaN(Date.parse(one.data!.image.createdAt)));
    const missing = await run('query ($id: ID!) { image(id: $id) { id } }', { id: 'f'.repeat(64) });
    assert.equal(missing.data!.image, null);
    const page = await run('{ images(limit: 3, offset: 2) { id } all: images(limit: 1000) { id vector } }');
    assert.equal(page.data!.images.length, 3);
    assert.equal(page.data!.all.length, await (await lanceReader(services.catalog)).table.countRows());
    assert.equal(page.data!.all[0].vector.length, 512);
  });

  test('images newest first (the default) pages backwards through storage order; thumbnailUrl names the preview', async () => {
    const { run, ids } = colours;
    const result = await run(`{
      stored: images(limit: 1000, orderBy: OLDEST_FIRST) { id }
      newest: images(limit: 4) { id thumbnailUrl }
      next: images(limit: 4, offset: 4, orderBy: NEWEST_FIRST) { id }
      past: images(limit: 4, offset: 1000) { id }
    }`);
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const stored = result.data!.stored.map((i: { id: string }) => i.id).reverse();
    assert.deepEqual(
      [...result.data!.newest, ...result.data!.next].map((i: { id: string }) => i.id),
      stored.slice(0, 8),
    );
    assert.equal(result.data!.newest[0].id, ids[COLOUR_NAMES.at(-1)!], 'the last upload comes first');
    assert.equal(result.data!.newest[0].thumbnailUrl, `/thumbnails/${result.data!.newest[0].id}.webp`);
    assert.deepEqual(result.data!.past, []);
  });

  test('delete hides the image everywhere but in older versions, and keeps its bytes', async (t) => {
    const { services, run } = await ownDataset(t);
    // Two rows in one fragment: deleting one of them writes a deletion file (a fragment whose
    // rows are all deleted is dropped instead).
    const pair = await Promise.all([noisy(COLOURS.purple, 5, 1), noisy(COLOURS.purple, 5, 2)]);
    await run(UPLOAD_MANY, { files: pair.map((bytes) => upload(bytes)) });
    const target = (await run(UPLOAD_ONE, { file: upload(pair[0]!) })).data!.uploadImage.image;
    const before = (await run('{ dataset { version } }')).data!.dataset.version;
    const deleted = await run('mutation ($id: ID!) { deleteImage(id: $id) { id deleted version } }', { id: target.id });
    assert.deepEqual({ ...deleted.data!.deleteImage }, { id: target.id, deleted: true, version: before + 1 });

    const after = await run(
      `query ($id: ID!, $v: Int) {
        now: image(id: $id) { id } then: image(id: $id, version: $v) { id }
        all: images(limit: 1000) { id } allThen: images(limit: 1000, version: $v) { id }
        search(text: "purple", limit: 100) { hits { image { id } } }
        searchThen: search(text: "purple", limit: 100, version: $v) { version hits { image { id } } }
      }`,
      { id: target.id, v: before },
    );
    const data = after.data!;
    assert.equal(data.now, null);
    assert.equal(data.then.id, target.id);
    assert.ok(!data.all.some((i: { id: string }) => i.id === target.id));
    assert.ok(data.allThen.some((i: { id: string }) => i.id === target.id));
    assert.ok(!data.search.hits.some((h: { image: { id: string } }) => h.image.id === target.id));
    assert.equal(data.searchThen.version, before);
    assert.ok(data.searchThen.hits.some((h: { image: { id: string } }) => h.image.id === target.id));
    assert.equal(await services.objects.exists(target.key), true, 'older versions still refer to the bytes');

    const again = await run('mutation ($id: ID!) { deleteImage(id: $id) { deleted } }', { id: target.id });
    assert.equal(again.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  });

  test('versions name their operation and count their rows', async (t) => {
    const own = await ownDataset(t);
    const { services, run } = own;
    await uploadPairAndDeleteOne(own);
    const { data } = await run('{ versions { version timestamp operation rowCount } }');
    const versions = data!.versions as Array<{ version: number; operation: string | null; rowCount: number }>;
    assert.equal(versions[0]!.operation, 'Create');
    assert.equal(versions[0]!.rowCount, 0);
    assert.ok(versions.some((v) => v.operation === 'Append'));
    assert.ok(versions.some((v) => v.operation === 'Delete'));
    const last = versions.at(-1)!;
    assert.equal(last.rowCount, await (await lanceReader(services.catalog)).table.countRows());
  });

  test('restoreVersion brings an older state back as a new version', async (t) => {
    const { run } = await ownDataset(t);
    await run(UPLOAD_ONE, { file: upload(await solid(COLOURS.white)) });
    const { data } = await run('{ dataset { version rowCount } }');
    const { version, rowCount } = data!.dataset;
    assert.equal(rowCount, 1);
    await run(UPLOAD_ONE, { file: upload(await noisy(COLOURS.green, 25, 3)) });
    const restored = await run('mutation ($v: Int!) { restoreVersion(version: $v) { version operation rowCount } }', {
      v: version,
    });
    assert.deepEqual({ ...restored.data!.restoreVersion }, { version: version + 2, operation: 'Restore', rowCount });
    const now = (await run('{ dataset { version rowCount } }')).data!.dataset;
    assert.deepEqual({ ...now }, { version: version + 2, rowCount });
    // The writer's id set follows the restore: the upload that was undone can be made again.
    const redo = await run(UPLOAD_ONE, { file: upload(await noisy(COLOURS.green, 25, 3)) });
    assert.equal(redo.data!.uploadImage.created, true);
  });

  test('dataset lists its files by kind', async (t) => {
    const own = await ownDataset(t);
    await uploadPairAndDeleteOne(own);
    const { data } = await own.run(
      '{ dataset { uri version rowCount fragmentCount indices files { path size kind } } }',
    );
    const dataset = data!.dataset;
    assert.match(dataset.uri, /images\.lance$/);
    assert.ok(dataset.fragmentCount >= 1);
    const kinds = new Set(dataset.files.map((f: { kind: string }) => f.kind));
    for (const kind of ['data', 'manifest', 'transaction', 'deletion']) assert.ok(kinds.has(kind), `has ${kind} files`);
    assert.ok(dataset.files.every((f: { size: number }) => f.size > 0));
  });

  test('unknown versions and ids are NOT_FOUND', async () => {
    const { run } = colours;
    const result = await run(`{
      a: images(version: 9999) { id }
    }`);
    assert.equal(result.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const similar = await run('query ($id: ID!) { similarImages(id: $id) { hits { distance } } }', {
      id: 'a'.repeat(64),
    });
    assert.equal(similar.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    const restore = await run('mutation { restoreVersion(version: 9999) { version } }');
    assert.equal(restore.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  });
});
