// Two service instances on one dataset sharing their caches through a real redis-server
// (CACHE_URL=redis://...), as replicas behind a load balancer would.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import type { Services } from '../src/services/index.js';
import { execute, graphqlServer, openServices, tempDir, type GraphQLResponse } from './support/harness.js';
import { COLOURS, distinctImages } from './support/images.js';
import { REDIS_SKIP, startRedis, type RedisServer } from './support/redis.js';

const SEARCH =
  'query ($text: String!, $version: Int) { search(text: $text, limit: 5, version: $version) { version cached hits { image { id } } } }';

type SearchResult = { version: number; cached: boolean; hits: Array<{ image: { id: string } }> };
type Pair = { a: Services; b: Services; close(): Promise<void> };

describe('two service instances sharing a Redis cache', { skip: REDIS_SKIP }, () => {
  let redis: RedisServer;
  let server: ApolloServer<GraphQLContext>;
  /** Only searched, never written to. */
  let shared: Pair;

  async function search(services: Services, text: string, version?: number): Promise<SearchResult> {
    const result: GraphQLResponse<{ search: SearchResult }> = await execute(server, services, SEARCH, {
      text,
      version,
    });
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    return result.data!.search;
  }
  const ids = (result: SearchResult) => result.hits.map((h) => h.image.id);

  /** Two instances on a new dataset of three red and three blue images, sharing the Redis cache. */
  async function openPair(): Promise<Pair> {
    const env = { DATA_URI: await tempDir(), CACHE_URL: redis.url };
    const a = await openServices(env);
    const b = await openServices(env);
    const images = [...(await distinctImages(3, COLOURS.red)), ...(await distinctImages(3, COLOURS.blue, 10))];
    await a.uploads.uploadAll(images.map((bytes, i) => ({ bytes, filename: `${i}.jpg` })));
    const close = async () => {
      // b first: a's close removes the temp directory they share.
      await b.close();
      await a.close();
    };
    return { a, b, close };
  }

  /** A pair of the test's own, for a test that writes. */
  async function ownPair(t: TestContext): Promise<Pair> {
    const pair = await openPair();
    t.after(() => pair.close());
    return pair;
  }

  /** Uploads a red image new to the dataset through `a`. */
  async function uploadNewRed(a: Services): Promise<string> {
    const [bytes] = await distinctImages(1, COLOURS.red, 20);
    const [stored] = await a.uploads.uploadAll([{ bytes: bytes!, filename: 'new-red.jpg' }]);
    assert.equal(stored!.created, true);
    return stored!.image.id;
  }

  before(async () => {
    redis = await startRedis();
    server = await graphqlServer();
    shared = await openPair();
  });
  after(async () => {
    await server?.stop();
    await shared?.close();
    await redis?.stop();
  });

  test('a search answered on one instance is a cache hit on the other, at the same version', async () => {
    const { a, b } = shared;
    const first = await search(a, 'red');
    assert.equal(first.cached, false);
    assert.equal(first.hits.length, 5);
    const onB = await search(b, 'red');
    assert.equal(onB.cached, true);
    assert.equal(onB.version, first.version);
    assert.deepEqual(ids(onB), ids(first));
  });

  test('after a write the other instance searches the new version afresh and finds the new image', async (t) => {
    const { a, b } = await ownPair(t);
    const first = await search(a, 'red');
    assert.equal(first.cached, false);
    const stored = await uploadNewRed(a);

    const onB = await search(b, 'red');
    assert.ok(onB.version > first.version, `version ${onB.version} after ${first.version}`);
    assert.equal(onB.cached, false, 'a result of the old version must not answer for the new one');
    assert.ok(ids(onB).includes(stored), 'the new red image is among the red hits');

    const onA = await search(a, 'red');
    assert.equal(onA.cached, true);
    assert.deepEqual(ids(onA), ids(onB));

    // The old version's answer is still right for the old version, and still cached.
    const pinned = await search(b, 'red', first.version);
    assert.equal(pinned.cached, true);
    assert.deepEqual(ids(pinned), ids(first));
  });

  test('result keys name the dataset and the version, one per version searched', async (t) => {
    const { a, b } = await ownPair(t);
    // A text no other test searches, so that every key of it in the shared Redis is this test's.
    const text = 'red, before and after a write';
    const first = await search(a, text);
    await uploadNewRed(a);
    const second = await search(b, text);
    assert.ok(second.version > first.version);

    const keys = (await redis.keys()).filter((k) => k.endsWith(`|text:${text}`));
    const versions = keys.map((k) => Number(k.split('|')[1]));
    assert.equal(keys.length, 2, JSON.stringify(keys));
    assert.ok(keys.every((k) => k.includes(a.catalog.uri)));
    assert.deepEqual(
      versions.sort((x, y) => x - y),
      [first.version, await b.catalog.version()],
    );
  });
});
