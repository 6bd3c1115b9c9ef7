// GraphQL answers over real HTTP: which are cacheable, and persisted queries shared by replicas.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { openApp } from './support/harness.js';
import { COLOURS, distinctImages } from './support/images.js';
import { REDIS_SKIP, startRedis, type RedisServer } from './support/redis.js';

type App = Awaited<ReturnType<typeof openApp>>;
type Answer = { status: number; cacheControl: string | null; body: { data?: any; errors?: any[] } }; // eslint-disable-line @typescript-eslint/no-explicit-any

// Apollo's CSRF prevention answers a GET only with a header a simple cross-site request cannot set.
const PREFLIGHT = { 'apollo-require-preflight': 'true' };
const IMMUTABLE = 'public, max-age=31536000, immutable';

type Request = { query?: string; variables?: Record<string, unknown>; extensions?: Record<string, unknown> };

async function answer(response: Response): Promise<Answer> {
  return { status: response.status, cacheControl: response.headers.get('cache-control'), body: await response.json() };
}

/** A GraphQL GET: the operation in the URL, as an HTTP cache keys it. */
async function get(app: App, request: Request): Promise<Answer> {
  const url = new URL(`${app.url}/graphql`);
  for (const [name, value] of Object.entries(request)) {
    url.searchParams.set(name, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return answer(await fetch(url, { headers: PREFLIGHT }));
}

async function post(app: App, request: Request): Promise<Answer> {
  const headers = { 'content-type': 'application/json' };
  return answer(await fetch(`${app.url}/graphql`, { method: 'POST', headers, body: JSON.stringify(request) }));
}

/** Uploads three images; returns the version that holds them. */
async function uploadThree(app: App): Promise<number> {
  const services = await app.services;
  const images = await distinctImages(3, COLOURS.red);
  await services.uploads.uploadAll(images.map((bytes, i) => ({ bytes, filename: `${i}.jpg` })));
  return services.catalog.version();
}

describe('Cache-Control of GraphQL answers', () => {
  let app: App;
  let version: number;
  before(async () => {
    app = await openApp();
    version = await uploadThree(app);
  });
  after(() => app?.close());

  const PAGE = 'query ($version: Int) { images(limit: 5, version: $version) { id url createdAt } }';

  test('a read of a named version is public and immutable over GET', async () => {
    const pinned = await get(app, { query: PAGE, variables: { version } });
    assert.equal(pinned.status, 200);
    assert.equal(pinned.body.data.images.length, 3);
    assert.equal(pinned.cacheControl, IMMUTABLE);

    // Nested types inherit the hint: hits and their images are as immutable as the search.
    const search = `{ search(text: "red", limit: 2, version: ${version}) { version hits { score image { id } } } }`;
    const searched = await get(app, { query: search });
    assert.equal(searched.body.data.search.hits.length, 2);
    assert.equal(searched.cacheControl, IMMUTABLE);
    const one = `{ image(id: "${pinned.body.data.images[0].id}", version: ${version}) { id width } }`;
    assert.equal((await get(app, { query: one })).cacheControl, IMMUTABLE);
  });

  test('a read of the latest version is not cacheable, nor is an answer that mixes one in', async () => {
    const latest = await get(app, { query: PAGE });
    assert.equal(latest.body.data.images.length, 3);
    assert.equal(latest.cacheControl, 'no-store');

    const mixed = await get(app, { query: `{ images(version: ${version}) { id } dataset { rowCount } }` });
    assert.equal(mixed.body.data.dataset.rowCount, 3);
    assert.equal(mixed.cacheControl, 'no-store');
    const twoVersions = `{ old: images(version: ${version}) { id } now: images { id } }`;
    assert.equal((await get(app, { query: twoVersions })).cacheControl, 'no-store');
  });

  test('errors, POSTs and mutations are never cacheable', async () => {
    const unknown = await get(app, { query: PAGE, variables: { version: version + 1000 } });
    assert.equal(unknown.body.errors?.[0]?.extensions?.code, 'NOT_FOUND');
    assert.equal(unknown.cacheControl, 'no-store');

    const posted = await post(app, { query: PAGE, variables: { version } });
    assert.equal(posted.body.data.images.length, 3);
    assert.equal(posted.cacheControl, 'no-store');

    // Compaction keeps the rows: the other tests see the same images.
    const mutation = 'mutation { optimizeDataset { rowCount } }';
    const refused = await get(app, { query: mutation });
    assert.equal(refused.status, 405);
    assert.equal(refused.cacheControl, 'no-store');
    const optimized = await post(app, { query: mutation });
    assert.equal(optimized.body.data.optimizeDataset.rowCount, 3);
    assert.equal(optimized.cacheControl, 'no-store');
  });
});

describe('persisted queries shared through CACHE_URL', { skip: REDIS_SKIP }, () => {
  let redis: RedisServer;
  let replicas: App[];
  before(async () => {
    redis = await startRedis();
    replicas = await Promise.all([openApp({ CACHE_URL: redis.url }), openApp({ CACHE_URL: redis.url })]);
  });
  after(async () => {
    await Promise.all(replicas?.map((app) => app.close()) ?? []);
    await redis?.stop();
  });

  const persisted = (query: string) => ({
    persistedQuery: { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') },
  });

  test('a query registered on one replica runs on another by its hash alone, over GET', async () => {
    const [a, b] = replicas as [App, App];
    const version = await uploadThree(b);
    const query = `query PinnedPage($version: Int!) { images(version: $version) { id } }`;
    const extensions = persisted(query);

    const unknown = await get(b, { variables: { version }, extensions });
    assert.equal(unknown.body.errors?.[0]?.extensions?.code, 'PERSISTED_QUERY_NOT_FOUND');
    assert.equal(unknown.cacheControl, 'no-store');

    // a's own dataset is empty: the query is registered all the same.
    const registered = await post(a, {
      query,
      variables: { version: await (await a.services).catalog.version() },
      extensions,
    });
    assert.deepEqual(registered.body, { data: { images: [] } });
    const keys = await redis.keys();
    assert.ok(
      keys.some((k) => k.includes(extensions.persistedQuery.sha256Hash)),
      JSON.stringify(keys),
    );

    const byHash = await get(b, { variables: { version }, extensions });
    assert.equal(byHash.body.errors, undefined, JSON.stringify(byHash.body.errors));
    assert.equal(byHash.body.data.images.length, 3);
    assert.equal(byHash.cacheControl, IMMUTABLE);
  });

  test('a query padded past any real one runs but is not stored in Redis', async () => {
    const [a] = replicas as [App, App];
    // Comments do not count against the token limit: 100 KB of them pass it.
    const query = `# ${'x'.repeat(100_000)}\n{ dataset { version } }`;
    const extensions = persisted(query);
    const answered = await post(a, { query, extensions });
    assert.equal(answered.body.errors, undefined, JSON.stringify(answered.body.errors));
    const keys = await redis.keys();
    assert.ok(!keys.some((k) => k.includes(extensions.persistedQuery.sha256Hash)), 'not stored');
  });
});
