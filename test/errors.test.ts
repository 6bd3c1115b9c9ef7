import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Services } from '../src/services/index.js';
import { createCaches } from '../src/services/cache.js';
import { createContext } from '../src/context.js';
import { ERROR_LEVEL, execute, graphqlServer, openServices, recordingLogger } from './support/harness.js';

const INTROSPECT = '{ __schema { queryType { name } } }';
const BAD_ID = '{ image(id: "nope") { id } }';
const AN_ID = 'a'.repeat(64);

/** What errors tell a client: codes and messages, never internals, unless asked for in development. */
describe('error answers', () => {
  let services: Services;
  before(async () => (services = await openServices()));
  after(() => services.close());

  test('no stack traces without NODE_ENV=development; with it, there are', async () => {
    const plain = await execute(await graphqlServer(), services, BAD_ID);
    assert.equal(plain.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.equal(plain.errors?.[0]?.extensions?.stacktrace, undefined);
    const development = await execute(await graphqlServer({ NODE_ENV: 'development' }), services, BAD_ID);
    assert.ok(Array.isArray(development.errors?.[0]?.extensions?.stacktrace));
  });

  test('an unexpected error is answered with a reference, not its message', async (t) => {
    t.mock.method(services.catalog, 'get', async () => {
      throw new Error('panicked at /root/.cargo/registry/src/lance-0.30/src/dataset.rs:42: index out of bounds');
    });
    const result = await execute(await graphqlServer(), services, `{ image(id: "${AN_ID}") { id } }`);
    const error = result.errors?.[0];
    assert.equal(error?.extensions?.code, 'INTERNAL_SERVER_ERROR');
    assert.match(String(error?.extensions?.reference), /^[0-9a-f]{8}$/);
    assert.doesNotMatch(JSON.stringify(result), /panicked|\.rs|cargo/);
  });

  test("refused requests are the client's: a 4xx with a client code, and no error logged", async () => {
    const { logger, lines } = recordingLogger();
    const server = await graphqlServer({}, logger);
    const refused = async (request: Parameters<typeof server.executeOperation>[0]) => {
      const response = await server.executeOperation(request, { contextValue: createContext(services) });
      assert.equal(response.body.kind, 'single');
      const errors = response.body.kind === 'single' ? response.body.singleResult.errors : undefined;
      return { status: response.http.status, code: errors?.[0]?.extensions?.code, message: errors?.[0]?.message };
    };
    const subscription = await refused({ query: 'subscription { versions { version } }' });
    assert.deepEqual(subscription, {
      status: 400,
      code: 'GRAPHQL_VALIDATION_FAILED',
      message: 'subscription operations are not supported: this API serves queries and mutations',
    });
    const mismatched = await refused({
      query: '{ versions { version } }',
      extensions: { persistedQuery: { version: 1, sha256Hash: 'a'.repeat(64) } },
    });
    assert.deepEqual(mismatched, { status: 400, code: 'BAD_REQUEST', message: 'provided sha does not match query' });
    assert.deepEqual(
      lines.filter((line) => line.level >= ERROR_LEVEL),
      [],
    );
  });

  test("introspection follows Apollo's convention, and INTROSPECTION overrides it", async () => {
    const allowed = async (settings: Parameters<typeof graphqlServer>[0]) =>
      (await execute(await graphqlServer(settings), services, INTROSPECT)).errors === undefined;
    assert.equal(await allowed({}), true);
    assert.equal(await allowed({ NODE_ENV: 'production' }), false);
    assert.equal(await allowed({ NODE_ENV: 'production', INTROSPECTION: true }), true);
    assert.equal(await allowed({ INTROSPECTION: false }), false);
  });
});

describe('in-memory caches', () => {
  test('hold at most CACHE_MAX_BYTES whatever the traffic, keeping the most recent', async () => {
    const maxBytes = 200_000;
    const caches = createCaches('memory:', 60_000, maxBytes);
    const result = Array.from({ length: 100 }, (_, i) => ({ id: AN_ID, distance: i / 100 }));
    for (let i = 0; i < 2000; i++) await caches.results.set(`search ${i}`, result);
    await caches.embeddings.set(
      'a red car',
      Array.from({ length: 512 }, () => 0.044194173824159216),
    );
    const store = caches.results.store as { bytes: number };
    assert.ok(store.bytes <= maxBytes, `${store.bytes} bytes held`);
    assert.ok(store.bytes > maxBytes / 2, 'the budget is used, not wasted');
    assert.deepEqual(await caches.results.get('search 1999'), result);
    assert.ok(await caches.embeddings.get('a red car'));
    assert.equal(await caches.results.get('search 0'), undefined, 'the oldest entries were evicted');
    await caches.close();
  });
});
