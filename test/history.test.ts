// The dataset's history (`versions`): read from the versions' manifests, a page at a time, with
// no Lance table opened per version, and priced by the page it reads.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import protobuf from 'protobufjs';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import { TABLE_NAME } from '../src/services/catalog/catalog.js';
import { DatasetHistory } from '../src/services/catalog/dataset-history.js';
import { toLanceRow } from '../src/services/catalog/image-record.js';
import { manifestPath } from '../src/services/storage/lance-manifest.js';
import { LocalObjectStore } from '../src/services/storage/object-store.js';
import type { Services } from '../src/services/index.js';
import { execute, graphqlServer, openServices, syntheticRows, tempDir, testModel } from './support/harness.js';
import { S3_SKIP, s3Env } from './support/s3.js';

interface VersionData {
  version: number;
  timestamp: string;
  operation: string | null;
  rowCount: number;
}

/** Where the dataset lives, and how many small commits to make there. */
interface Place {
  name: string;
  appends: number;
  env: Record<string, string>;
  storageOptions: Record<string, string>;
  skip: string | false;
}

const LOCAL: Place = { name: 'on local disk', appends: 300, env: {}, storageOptions: {}, skip: false };

function onS3(): Place {
  const env = S3_SKIP ? {} : s3Env();
  return {
    name: 'on the S3 store',
    // Fewer: each commit is several round trips to the store.
    appends: 30,
    env,
    storageOptions: S3_SKIP
      ? {}
      : {
          aws_endpoint: env.S3_ENDPOINT!,
          aws_access_key_id: env.AWS_ACCESS_KEY_ID!,
          aws_secret_access_key: env.AWS_SECRET_ACCESS_KEY!,
          aws_region: env.AWS_REGION!,
          allow_http: 'true',
        },
    skip: S3_SKIP,
  };
}

for (const place of [LOCAL, onS3()]) describeHistory(place);

function describeHistory({ name, appends: APPENDS, env, storageOptions, skip }: Place): void {
  describe(`dataset history ${name}`, { skip }, () => {
    let server: ApolloServer<GraphQLContext>;
    let services: Services;
    /** A connection of the test's own to the same dataset: the commits above, and Lance's answers to compare with. */
    let connection: lancedb.Connection;
    let table: lancedb.Table;
    /** What Lance itself says of every version: its live rows (checked out and counted) and its timestamp. */
    const truth = new Map<number, { rowCount: number; timestamp: number }>();
    /** Versions by what committed them. */
    let firstDelete = 0;
    let optimized: number[] = [];

    const run = (query: string, variables?: Record<string, unknown>) => execute(server, services, query, variables);
    const page = async (args: string) => {
      const result = await run(`{ versions${args} { version timestamp operation rowCount } }`);
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      return result.data!.versions as VersionData[];
    };

    before(async () => {
      server = await graphqlServer();
      services = await openServices(env);
      const dimension = (await testModel()).dimension;
      connection = await lancedb.connect(path.dirname(services.catalog.uri), { storageOptions });
      table = await connection.openTable(TABLE_NAME);
      // Small commits straight through Lance, as another process would make them: fast, and
      // nothing in this process knows what made them.
      for (let i = 0; i < APPENDS; i++) await table.add(syntheticRows(3, dimension, 3 * i).map(toLanceRow));
      // One row of three out of a few fragments: deletion files, not whole fragments dropped.
      firstDelete = (await table.version()) + 1;
      const deleted = [0, 7, Math.floor(APPENDS / 2), Math.floor(APPENDS / 2) + 1, APPENDS - 1];
      for (const i of deleted) await table.delete(`id = '${syntheticRows(1, dimension, 3 * i)[0]!.id}'`);
      const beforeOptimize = await table.version();
      await services.dataset.optimize();
      await table.checkoutLatest();
      optimized = Array.from({ length: (await table.version()) - beforeOptimize }, (_, i) => beforeOptimize + 1 + i);
      for (const { version, timestamp } of await table.listVersions()) {
        await table.checkout(version);
        truth.set(version, { rowCount: await table.countRows(), timestamp: timestamp.getTime() });
      }
      await table.checkoutLatest();
    });
    after(async () => {
      table?.close();
      connection?.close();
      await services?.close();
      await server?.stop();
    });

    /** Counts the Lance tables opened or checked out while `during` runs, on any connection. */
    async function tablesOpened(t: TestContext, during: () => Promise<unknown>): Promise<number> {
      const connections = Object.getPrototypeOf(connection) as lancedb.Connection;
      const tables = Object.getPrototypeOf(table) as lancedb.Table;
      const opens = t.mock.method(connections, 'openTable');
      const checkouts = t.mock.method(tables, 'checkout');
      const counts = t.mock.method(tables, 'countRows');
      await during();
      const total = opens.mock.callCount() + checkouts.mock.callCount() + counts.mock.callCount();
      opens.mock.restore();
      checkouts.mock.restore();
      counts.mock.restore();
      return total;
    }

    test('many versions: every row count right after deletes and an optimize, from manifests, no table opened', async (t) => {
      const latest = await table.version();
      assert.ok(latest > APPENDS + 5, `${latest} versions`);
      let deletions = 0;
      for await (const _ of services.objects.list('images.lance/_deletions/')) deletions += 1;
      assert.ok(deletions >= 4, 'the deletes wrote deletion files');

      const pages: VersionData[][] = [];
      const opened = await tablesOpened(t, async () => {
        let before = '';
        for (;;) {
          const versions = await page(`(limit: 100${before})`);
          if (versions.length === 0) break;
          pages.push(versions);
          before = `, before: ${versions[0]!.version}`;
        }
      });
      assert.equal(opened, 0, 'no Lance table opened, checked out or counted');
      const all = pages.reverse().flat();
      assert.deepEqual(
        all.map((v) => v.version),
        [...truth.keys()],
      );
      for (const v of all) {
        const expected = truth.get(v.version)!;
        assert.equal(v.rowCount, expected.rowCount, `rows in version ${v.version}`);
        assert.equal(Date.parse(v.timestamp), expected.timestamp, `timestamp of version ${v.version}`);
      }
      assert.equal(all.at(-1)!.rowCount, 3 * APPENDS - 5);
    });

    test("every version is named by the transaction its manifest records, an optimize's every version too", async () => {
      const versions = await page('(limit: 1000)');
      const named = new Map(versions.map((v) => [v.version, v.operation]));
      assert.equal(named.get(1), 'Create');
      for (let v = 2; v <= APPENDS + 1; v++) assert.equal(named.get(v), 'Append', `version ${v}`);
      for (let v = firstDelete; v < firstDelete + 5; v++) assert.equal(named.get(v), 'Delete', `version ${v}`);
      assert.ok(optimized.length >= 2, `the optimize committed versions ${optimized.join(', ')}`);
      assert.deepEqual(
        optimized.map((v) => named.get(v)),
        optimized.map(() => 'Optimize'),
      );
    });

    test('a page is the newest versions before `before`, oldest first; the default page is the newest 100', async () => {
      const latest = await table.version();
      const newest = Math.min(100, latest);
      assert.deepEqual(
        (await page('')).map((v) => v.version),
        Array.from({ length: newest }, (_, i) => latest - newest + 1 + i),
      );
      assert.deepEqual(
        (await page('(limit: 3, before: 10)')).map((v) => v.version),
        [7, 8, 9],
      );
      assert.deepEqual(
        (await page('(limit: 5, before: 3)')).map((v) => v.version),
        [1, 2],
      );
      assert.deepEqual(await page('(before: 1)'), []);
      assert.deepEqual(
        (await page(`(limit: 2, before: ${latest + 50})`)).map((v) => v.version),
        [latest - 1, latest],
      );
      const refused = await run('{ versions(limit: 1001) { version } }');
      assert.equal(refused.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      const badCursor = await run('{ versions(before: 0) { version } }');
      assert.equal(badCursor.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    });

    test("a version's manifest is read once: the same page again reads no object", async (t) => {
      await page('(limit: 20, before: 30)');
      const reads = t.mock.method(services.objects, 'get');
      const again = await page('(limit: 20, before: 30)');
      assert.equal(again.length, 20);
      assert.equal(reads.mock.callCount(), 0);
    });

    test('the cost of versions follows its page: one full page fits in an operation, two do not', async () => {
      const one = await run('{ versions(limit: 1000) { version rowCount } }');
      assert.equal(one.errors, undefined, JSON.stringify(one.errors));
      const two = await run('{ a: versions(limit: 1000) { rowCount } b: versions(limit: 1000) { rowCount } }');
      assert.equal(two.errors?.[0]?.extensions?.code, 'QUERY_TOO_COSTLY');
      const small = await run(
        `{ ${Array.from({ length: 15 }, (_, i) => `v${i}: versions(limit: 100) { rowCount }`).join(' ')} }`,
      );
      assert.equal(small.errors, undefined, 'fifteen default pages fit');
    });
  });
}

/**
 * Manifests as Lance wrote them before it kept the transaction inline (1.0), and before it
 * recorded row counts (0.8): built here from Lance's field numbers in protos/table.proto and
 * transaction.proto, since no such version of Lance can be installed beside the current one.
 */
describe('manifests older Lance wrote', () => {
  const PROTO = protobuf.parse(
    `
    syntax = "proto3";
    message DeletionFile { uint64 id = 3; uint64 num_deleted_rows = 4; }
    message DataFragment { uint64 id = 1; DeletionFile deletion_file = 3; uint64 physical_rows = 4; }
    message Timestamp { int64 seconds = 1; int32 nanos = 2; }
    message Manifest {
      repeated DataFragment fragments = 2;
      uint64 version = 3;
      Timestamp timestamp = 7;
      string transaction_file = 12;
    }
    message Delete { string predicate = 3; }
    message Transaction { uint64 read_version = 1; Delete delete = 101; }
  `,
    { keepCase: true },
  ).root;

  /** A manifest file: the message after its u32 length, then the footer that points at it. */
  function manifestFile(manifest: Record<string, unknown>): Buffer {
    const message = PROTO.lookupType('Manifest').encode(manifest).finish();
    const footer = Buffer.alloc(16);
    footer.writeBigUInt64LE(0n, 0);
    footer.writeUInt16LE(0, 8);
    footer.writeUInt16LE(2, 10);
    footer.write('LANC', 12, 'latin1');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(message.length);
    return Buffer.concat([length, message, footer]);
  }

  test('the operation comes from the transaction file; rows Lance did not record are counted by Lance', async (t) => {
    const dir = await tempDir();
    t.after(() => rm(dir, { recursive: true, force: true }));
    const objects = new LocalObjectStore(dir);
    const seconds = 1_700_000_000;
    await objects.put(
      `images.lance/${manifestPath(1)}`,
      manifestFile({
        version: 1,
        timestamp: { seconds, nanos: 250_000_000 },
        transaction_file: '0-one.txn',
        fragments: [
          { id: 0, physical_rows: 10, deletion_file: { id: 1, num_deleted_rows: 3 } },
          { id: 1, physical_rows: 5 },
        ],
      }),
    );
    const transaction = PROTO.lookupType('Transaction')
      .encode({ read_version: 0, delete: Buffer.from([]) })
      .finish();
    await objects.put('images.lance/_transactions/0-one.txn', transaction);
    // A deletion file that does not say how many rows it deletes.
    await objects.put(
      `images.lance/${manifestPath(2)}`,
      manifestFile({ version: 2, fragments: [{ id: 0, physical_rows: 10, deletion_file: { id: 2 } }] }),
    );
    const counted: number[] = [];
    const history = new DatasetHistory(objects, 'images.lance', (version) => {
      counted.push(version);
      return Promise.resolve(8);
    });
    const versions = await history.range(1, 3);
    assert.deepEqual(versions, [
      { version: 1, timestamp: new Date(seconds * 1000 + 250), operation: 'Delete', rowCount: 12 },
      { version: 2, timestamp: new Date(0), operation: null, rowCount: 8 },
    ]);
    assert.deepEqual(counted, [2], 'only the version whose manifest lacks a count');
  });
});
