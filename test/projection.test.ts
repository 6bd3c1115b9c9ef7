import { after, before, describe, test, type Mock } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import type { ImageCatalog } from '../src/services/catalog/catalog.js';
import type { Column } from '../src/services/catalog/image-record.js';
import type { Services } from '../src/services/index.js';
import { execute, graphqlServer, openServices, syntheticRows } from './support/harness.js';
import { lanceReader, tableWrites } from '../src/services/catalog/test-access.js';

const ROWS = 2000;

/** Bytes this process has read through read(2)/pread(2) so far: Lance's local reads included. */
async function bytesRead(): Promise<number> {
  const io = await readFile('/proc/self/io', 'utf8');
  return Number(/^rchar: (\d+)$/m.exec(io)![1]);
}

/**
 * GraphQL selections decide which Lance columns are read. Measured two ways: the bytes the
 * process reads from disk while answering (/proc/self/io), and Lance's own bytes_read figure
 * from analyzePlan() for the columns the resolver asked for.
 */
describe(
  'column projection',
  { skip: process.platform !== 'linux' && 'reads /proc/self/io, which only Linux has' },
  () => {
    let server: ApolloServer<GraphQLContext>;
    let services: Services;

    before(async () => {
      server = await graphqlServer();
      services = await openServices();
      await tableWrites(services.writer).append(syntheticRows(ROWS, services.batcher.dimension));
    });
    after(async () => {
      await server.stop();
      await services.close();
    });

    /**
     * Runs the query twice (the first warms file metadata caches) and measures the second; `list`
     * is the test's spy on the catalog's list, which tells the columns the resolver asked for.
     */
    async function measure(
      list: Mock<ImageCatalog['list']>,
      selection: string,
    ): Promise<{ bytes: number; columns: Column[]; lanceBytes: number }> {
      const query = `{ images(limit: 1000, offset: 500) { ${selection} } }`;
      await execute(server, services, query);
      const calls = list.mock.callCount();
      const start = await bytesRead();
      const result = await execute(server, services, query);
      const bytes = (await bytesRead()) - start;
      assert.equal(result.errors, undefined);
      assert.equal(result.data!.images.length, 1000);
      assert.equal(list.mock.callCount(), calls + 1, 'one list call for the page');
      const columns = [...list.mock.calls.at(-1)!.arguments[2]];
      const plan = await (
        await lanceReader(services.catalog)
      ).table
        .query()
        .select(columns)
        .offset(500)
        .limit(1000)
        .analyzePlan();
      return { bytes, columns, lanceBytes: parseBytes(/bytes_read=([\d.]+ ?[KMG]?)/.exec(plan)![1]!) };
    }

    test('a metadata-only query reads no vectors, a vector query no metadata', async (t) => {
      const list = t.mock.method(services.catalog, 'list');
      const metadata = await measure(list, 'id filename contentType size width height createdAt url');
      const vectors = await measure(list, 'id vector');
      t.diagnostic(
        `1000 of ${ROWS} rows: metadata ${metadata.bytes} B read (Lance ${metadata.lanceBytes}), vectors ${vectors.bytes} B (Lance ${vectors.lanceBytes})`,
      );
      assert.ok(!metadata.columns.includes('vector'));
      assert.deepEqual(vectors.columns.sort(), ['id', 'vector']);
      assert.ok(metadata.bytes < vectors.bytes * 0.1, `metadata read ${metadata.bytes} B, vectors ${vectors.bytes} B`);
      assert.ok(
        metadata.lanceBytes < vectors.lanceBytes * 0.1,
        `Lance: ${metadata.lanceBytes} vs ${vectors.lanceBytes}`,
      );
      // 1000 vectors of 512 float32 are 2 MB: the vector query must have read at least that.
      assert.ok(vectors.bytes >= 1000 * services.batcher.dimension * 4);
    });

    test('search hits read only the columns selected inside hits { image { ... } }', async (t) => {
      const search = t.mock.method(services.catalog, 'search');
      await execute(
        server,
        services,
        '{ search(text: "red", limit: 5) { hits { score image { ... on Image { filename } } } } }',
      );
      await execute(
        server,
        services,
        'fragment V on Image { vector } { search(text: "red", limit: 5) { hits { image { ...V } } } }',
      );
      const asked = search.mock.calls.map((call) => [...call.arguments[1].columns]);
      assert.deepEqual(asked, [
        ['id', 'filename'],
        ['id', 'vector'],
      ]);
    });
  },
);

function parseBytes(text: string): number {
  const scale = { K: 1e3, M: 1e6, G: 1e9 }[text.trim().slice(-1)] ?? 1;
  return parseFloat(text) * scale;
}
