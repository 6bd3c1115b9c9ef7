import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import type { Services } from '../src/services/index.js';
import { execute, graphqlServer, openServices, syntheticRows } from './support/harness.js';
import { S3_SKIP, s3Env } from './support/s3.js';
import { startS3Proxy, type S3Proxy } from './support/s3-proxy.js';
import { tableWrites } from '../src/services/catalog/test-access.js';

const ROWS = 2000;

/**
 * What a GraphQL selection downloads from the bucket, counted by an HTTP proxy in front of the
 * real S3 store: the service reads only the Lance columns the selection needs.
 */
describe('partial reads from S3', { skip: S3_SKIP }, () => {
  let proxy: S3Proxy;
  let server: ApolloServer<GraphQLContext>;
  let services: Services;

  before(async () => {
    proxy = await startS3Proxy(process.env.S3_ENDPOINT!);
    server = await graphqlServer();
    // The object cache (on for s3://) would fetch whole objects once and then nothing: this test
    // is about what Lance itself reads, so it reads straight from the bucket.
    services = await openServices({ ...s3Env(proxy.url), OBJECT_CACHE_BYTES: '0' });
    for (let i = 0; i < ROWS; i += 500)
      await tableWrites(services.writer).append(syntheticRows(500, services.batcher.dimension, i));
  });
  after(async () => {
    await services?.close();
    await server?.stop();
    await proxy?.close();
  });

  /** Bytes and requests the second run of a query downloads (the first warms metadata caches). */
  async function download(selection: string): Promise<{ bytes: number; requests: number }> {
    // Two pages of 1,000 (the most one page may hold) read every row.
    const query = `{ a: images(limit: 1000) { ${selection} } b: images(limit: 1000, offset: 1000) { ${selection} } }`;
    await execute(server, services, query);
    proxy.reset();
    const result = await execute(server, services, query);
    assert.equal(result.errors, undefined);
    assert.equal(result.data!.a.length + result.data!.b.length, ROWS);
    const { bytesOut, requests } = proxy.stats();
    return { bytes: bytesOut, requests };
  }

  test(`over ${ROWS} rows, metadata costs a fraction of vectors, and vectors fetch no metadata`, async (t) => {
    const idOnly = await download('id');
    const metadata = await download('id key url filename contentType size width height createdAt');
    const vectors = await download('id vector');
    const everything = await download('id key url filename contentType size width height createdAt vector');
    for (const [name, m] of Object.entries({ idOnly, metadata, vectors, everything })) {
      t.diagnostic(`${name}: ${m.bytes} bytes in ${m.requests} requests`);
    }
    assert.ok(metadata.bytes < vectors.bytes * 0.1, `metadata ${metadata.bytes} B vs vectors ${vectors.bytes} B`);
    assert.ok(vectors.bytes >= ROWS * services.batcher.dimension * 4, 'the vector query downloads the vectors');
    // The metadata columns beyond the id cost (metadata - idOnly) bytes; the vector query must
    // have skipped nearly all of them, which the full query pays.
    const metadataColumns = metadata.bytes - idOnly.bytes;
    assert.ok(metadataColumns > 0);
    assert.ok(
      everything.bytes - vectors.bytes > metadataColumns * 0.8,
      'the full query fetches what the vector query skips',
    );
    assert.ok(vectors.bytes - idOnly.bytes < everything.bytes - idOnly.bytes - metadataColumns * 0.8);
  });
});
