import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApolloServer } from '@apollo/server';
import * as lancedb from '@lancedb/lancedb';
import { loadSettings } from '../src/config.js';
import type { GraphQLContext } from '../src/context.js';
import type { IndexBuild } from '../src/services/catalog/catalog.js';
import type { NewImageRow } from '../src/services/catalog/image-record.js';
import {
  allFragments,
  FAN_IN,
  MAX_FOLDED_ROWS,
  planCompaction,
  planFold,
  type TailFragment,
} from '../src/services/catalog/tail-fold.js';
import type { Services } from '../src/services/index.js';
import { COLOURS, distinctImages } from './support/images.js';
import {
  commitRows,
  execute,
  graphqlServer,
  openServices,
  syntheticRows,
  testModel,
  until,
} from './support/harness.js';
import { lanceReader, tableWrites } from '../src/services/catalog/test-access.js';

const DATASET = '{ dataset { version rowCount fragmentCount indexDetails { type columns unindexedRows } } }';
const VERSIONS = '{ versions { version operation rowCount } }';

type IndexDetails = { type: string; columns: string[]; unindexedRows: number | null };
type DatasetData = { version: number; rowCount: number; fragmentCount: number; indexDetails: IndexDetails[] };
type VersionData = { version: number; operation: string | null; rowCount: number };

let server: ApolloServer<GraphQLContext>;
let dimension: number;
before(async () => {
  server = await graphqlServer();
  dimension = (await testModel()).dimension;
});
after(() => server.stop());

const rows = (count: number, offset = 0) => syntheticRows(count, dimension, offset);

async function dataset(services: Services): Promise<DatasetData> {
  const result = await execute(server, services, DATASET);
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data!.dataset as DatasetData;
}

async function versions(services: Services): Promise<VersionData[]> {
  const result = await execute(server, services, VERSIONS);
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data!.versions as VersionData[];
}

const indexOn = (info: DatasetData, column: string) => info.indexDetails.find((i) => i.columns.includes(column));

/** Each row's own vector finds that row first, at distance ~0: the index answers, and answers right. */
async function assertFindsThemselves(services: Services, sample: readonly NewImageRow[]): Promise<void> {
  for (const row of sample) {
    const { hits } = await services.catalog.search(row.vector, { limit: 3, columns: ['id'] });
    assert.equal(hits[0]?.image.id, row.id, `row ${row.filename} is not its own nearest neighbour`);
    assert.ok(hits[0]!.distance < 1e-4, `distance ${hits[0]!.distance}`);
  }
}

describe('automatic index upkeep after commits', () => {
  test('the id, filter and vector indices appear once the dataset reaches INDEX_MIN_ROWS', async () => {
    const services = await openServices({ INDEX_MIN_ROWS: '300', COMPACT_FRAGMENTS: '64' });
    try {
      await commitRows(services, rows(299));
      assert.deepEqual((await dataset(services)).indexDetails, [], 'no index below INDEX_MIN_ROWS');
      await commitRows(services, rows(1, 299));
      const info = await dataset(services);
      assert.equal(indexOn(info, 'id')?.type, 'BTree');
      // The filters' scalar indices come with it.
      assert.equal(indexOn(info, 'content_type')?.type, 'Bitmap');
      assert.equal(indexOn(info, 'created_at')?.type, 'BTree');
      assert.equal(indexOn(info, 'size')?.type, 'BTree');
      assert.equal(indexOn(info, 'vector')?.type, 'IvfHnswSq', 'the default index type');
      assert.equal(indexOn(info, 'vector')?.unindexedRows, 0);
      await assertFindsThemselves(services, [rows(1, 0)[0]!, rows(1, 150)[0]!, rows(1, 299)[0]!]);
    } finally {
      await services.close();
    }
  });

  test('new rows are folded into the indices once more than a tenth of the rows are unindexed', async () => {
    const services = await openServices({ INDEX_MIN_ROWS: '300', COMPACT_FRAGMENTS: '64' });
    try {
      await commitRows(services, rows(300));
      await commitRows(services, rows(30, 300));
      assert.equal(indexOn(await dataset(services), 'vector')?.unindexedRows, 30, '30 of 330: not yet a tenth');
      await commitRows(services, rows(10, 330));
      const info = await dataset(services);
      assert.equal(indexOn(info, 'vector')?.unindexedRows, 0, '40 of 340: folded in');
      assert.equal(indexOn(info, 'id')?.unindexedRows, 0);
      await assertFindsThemselves(services, rows(3, 335));
    } finally {
      await services.close();
    }
  });

  test('at the defaults, indexing new rows rewrites only them, twice over: the indexed fragment stays as it is', async () => {
    // The service's defaults, which the test harness otherwise sets aside.
    const defaults = loadSettings({ DATA_URI: '.' });
    const services = await openServices({
      INDEX_MIN_ROWS: String(defaults.INDEX_MIN_ROWS),
      READ_CONSISTENCY_MS: String(defaults.READ_CONSISTENCY_MS),
    });
    try {
      await commitRows(services, rows(45_000));
      const fragments = async () => allFragments((await lanceReader(services.catalog)).table);
      const [indexed] = await fragments();
      assert.deepEqual(indexed && indexed.rows, 45_000);
      let total = 45_000;
      // Twice: the second time every fragment is indexed alike, and Lance's optimize put them
      // all in one compaction (the whole table).
      for (const round of [1, 2]) {
        // Commits of 1,000 until more than a tenth are unindexed: the sixth.
        for (const end = total + 6000; total < end; total += 1000) await commitRows(services, rows(1000, total));
        const info = await services.catalog.describe();
        for (const index of info.indices) assert.equal(index.unindexedRows, 0, `round ${round}: ${index.name}`);
        const vector = info.indices.filter((i) => i.columns.includes('vector')).map((i) => i.name);
        assert.ok(vector.length === 1 && vector[0]!.endsWith(`_t${total}`), `trained on all rows: ${vector.join()}`);
        const now = await fragments();
        assert.deepEqual(now[0], indexed, `round ${round}: the first 45,000 rows were not rewritten`);
        // Upload order: the folds (at the end of the table, in the writer's queue) keep it.
        const newest = await services.catalog.list(12_000, total - 12_000, ['id']);
        assert.deepEqual(
          newest.map((r) => r.id),
          rows(12_000, total - 12_000).map((r) => r.id),
          `round ${round}: the newest 12,000 rows in upload order`,
        );
        assert.equal(
          now.reduce((n, f) => n + f.rows, 0),
          total,
        );
      }
      // Among the top ten: this generator repeats itself closely every 3,263 rows or so.
      for (const row of rows(2, 0).concat(rows(2, total - 2))) {
        const { hits } = await services.catalog.search(row.vector, { limit: 10, columns: ['id'] });
        assert.ok(
          hits.some((h) => h.image.id === row.id),
          `${row.filename} not found by its own vector`,
        );
      }
    } finally {
      await services.close();
    }
  });

  test('small fragments the fold leaves are compacted once there are more than COMPACT_FRAGMENTS, and every version stays readable', async () => {
    const services = await openServices({ INDEX_MIN_ROWS: '1000000', COMPACT_FRAGMENTS: '4' });
    try {
      // Sizes of different classes (20 rows, 3 rows): the newest fragments never make a run of
      // four of the newest one's class or below, so the fold leaves them to the table-wide compaction.
      let offset = 0;
      for (const size of [20, 3, 20, 3]) {
        await commitRows(services, rows(size, offset));
        offset += size;
      }
      assert.equal((await dataset(services)).fragmentCount, 4, 'four fragments: not more than COMPACT_FRAGMENTS');
      const before = await versions(services);
      await commitRows(services, rows(3, offset));
      assert.equal((await dataset(services)).fragmentCount, 1);
      const now = await versions(services);
      // Folded by the upkeep's compaction (an update), not by Lance's optimize.
      assert.ok(now.slice(before.length + 1).some((v) => v.operation === 'Compact'));
      assert.ok(!now.some((v) => v.operation === 'Optimize'));
      // Time travel: every version before the compaction still reads, with the rows it had.
      assert.deepEqual(
        now.slice(0, before.length).map((v) => [v.version, v.rowCount]),
        before.map((v) => [v.version, v.rowCount]),
      );
      await assertFindsThemselves(services, [rows(1, 0)[0]!, rows(1, 21)[0]!, rows(1, 48)[0]!]);
    } finally {
      await services.close();
    }
  });

  test('a burst of single uploads is folded into few fragments: the older rows stay where they are, order and time travel hold', async () => {
    const services = await openServices({ INDEX_MIN_ROWS: '1000000' });
    try {
      await commitRows(services, rows(500));
      const rowIdOf = async (id: string) =>
        (await (await lanceReader(services.catalog)).table.query().where(`id = '${id}'`).withRowId().toArray())[0]!
          ._rowid as bigint;
      const firstRow = await rowIdOf(rows(1)[0]!.id);
      const versionOfFive = await commitRows(services, rows(5, 500));
      for (let i = 5; i < 60; i++) await commitRows(services, rows(1, 500 + i));
      const info = await dataset(services);
      assert.equal(info.rowCount, 560);
      // 60 single rows: at most three fragments of each size class (1, 4, 16 rows) remain.
      assert.ok(info.fragmentCount <= 1 + 3 * 3, `${info.fragmentCount} fragments`);
      assert.ok((await versions(services)).some((v) => v.operation === 'Compact'));
      assert.equal(await rowIdOf(rows(1)[0]!.id), firstRow, 'the 500-row fragment was not rewritten');
      // Storage order is upload order (newest-first paging relies on it).
      const listed = await services.catalog.list(1000, 0, ['id']);
      assert.deepEqual(
        listed.map((r) => r.id),
        rows(560).map((r) => r.id),
      );
      const then = await services.catalog.list(1000, 0, ['id'], versionOfFive);
      assert.equal(then.length, 505);
      await assertFindsThemselves(services, [rows(1, 530)[0]!, rows(1, 559)[0]!]);
    } finally {
      await services.close();
    }
  });
});

describe('the fold', () => {
  test('above INDEX_MIN_ROWS at the default settings, with every index built, a burst of single uploads is folded', async () => {
    const { INDEX_MIN_ROWS, COMPACT_FRAGMENTS } = loadSettings({});
    const services = await openServices({
      INDEX_MIN_ROWS: String(INDEX_MIN_ROWS),
      COMPACT_FRAGMENTS: String(COMPACT_FRAGMENTS),
    });
    try {
      await commitRows(services, rows(INDEX_MIN_ROWS));
      const indexed = await dataset(services);
      assert.deepEqual(indexed.indexDetails.map((i) => i.columns[0]).sort(), [
        'content_type',
        'created_at',
        'id',
        'size',
        'vector',
      ]);
      for (let i = 0; i < 40; i++) await commitRows(services, rows(1, INDEX_MIN_ROWS + i));
      const info = await dataset(services);
      assert.equal(info.rowCount, INDEX_MIN_ROWS + 40);
      // 40 single rows: at most three fragments of each size class (1, 4, 16 rows) remain; with
      // no fold, 40 (fewer than COMPACT_FRAGMENTS, so no table-wide compaction either).
      assert.ok(info.fragmentCount <= 1 + 3 * 3, `${info.fragmentCount} fragments`);
      const operations = (await versions(services)).map((v) => v.operation);
      assert.ok(operations.includes('Compact') && !operations.includes('Optimize'), operations.join(', '));
      const listed = await services.catalog.list(INDEX_MIN_ROWS + 40, 0, ['id']);
      assert.deepEqual(
        listed.map((r) => r.id),
        rows(INDEX_MIN_ROWS + 40).map((r) => r.id),
        'upload order',
      );
    } finally {
      await services.close();
    }
  });

  test('keeps upload order over more rows than one record batch (4 × 300)', async () => {
    const services = await openServices({ INDEX_MIN_ROWS: '1000000' });
    try {
      for (let f = 0; f < 4; f++) await tableWrites(services.writer).append(rows(300, f * 300));
      assert.equal((await tableWrites(services.writer).foldTail()).length, 1);
      assert.equal((await dataset(services)).fragmentCount, 1);
      const listed = await services.catalog.list(2000, 0, ['id']);
      assert.deepEqual(
        listed.map((r) => r.id),
        rows(1200).map((r) => r.id),
      );
    } finally {
      await services.close();
    }
  });

  for (const indexed of [false, true])
    test(`rewrites only the rows of the fragments it folds: a copy of one of their ids elsewhere stays as it is, where it is (${indexed ? 'with' : 'without'} the id index)`, async () => {
      const services = await openServices({ INDEX_MIN_ROWS: '1000000' });
      try {
        const [outside] = rows(1, 900);
        await tableWrites(services.writer).append([{ ...outside!, filename: 'outside.jpg' }]);
        await tableWrites(services.writer).append(rows(20));
        if (indexed)
          await tableWrites(services.writer).createIndex({
            column: 'id',
            config: lancedb.Index.btree(),
            name: 'id_idx',
            type: 'BTree',
          });
        const address = async (filename: string) =>
          (
            await (
              await lanceReader(services.catalog)
            ).table
              .query()
              .where(`filename = '${filename}'`)
              .withRowId()
              .toArray()
          )[0]?._rowid as bigint | undefined;
        const before = await address('outside.jpg');
        // Four single-row fragments, one of them a second copy of the first row's id.
        await tableWrites(services.writer).append([{ ...outside!, filename: 'inside.jpg' }]);
        for (const row of rows(3, 100)) await tableWrites(services.writer).append([row]);
        assert.deepEqual(
          await tableWrites(services.writer)
            .foldTail()
            .then((v) => v.length),
          1,
        );
        assert.equal(await address('outside.jpg'), before, 'the copy outside was neither moved nor rewritten');
        assert.ok(await address('inside.jpg'), 'the copy inside keeps its own values');
        assert.equal(await (await lanceReader(services.catalog)).table.countRows(), 1 + 20 + 4);
      } finally {
        await services.close();
      }
    });
});

describe('the fold plan (size-tiered)', () => {
  test('10,000 single uploads: each row is rewritten at most six times, and the tail keeps under FAN_IN fragments of each size class', () => {
    let tail: TailFragment[] = [];
    const rewrites = new Map<number, number>(); // fragment id → rewrites of its rows so far
    let next = 0;
    let worst = 0;
    for (let upload = 0; upload < 10_000; upload++) {
      tail.push({ id: next, rows: 1 });
      rewrites.set(next++, 0);
      for (let fold = planFold(tail); fold; fold = planFold(tail)) {
        const times = Math.max(...fold.map((f) => rewrites.get(f.id)!)) + 1;
        worst = Math.max(worst, times);
        tail = [...tail.slice(0, tail.length - fold.length), { id: next, rows: fold.reduce((n, f) => n + f.rows, 0) }];
        rewrites.set(next++, times);
      }
      const small = tail.filter((f) => f.rows < MAX_FOLDED_ROWS);
      for (let below = FAN_IN; below <= MAX_FOLDED_ROWS; below *= FAN_IN) {
        const inClass = small.filter((f) => f.rows < below && f.rows >= below / FAN_IN).length;
        assert.ok(inClass < FAN_IN, `upload ${upload}: ${inClass} fragments under ${below} rows`);
      }
    }
    assert.ok(worst <= 6, `a row rewritten ${worst} times`);
    assert.equal(
      tail.reduce((n, f) => n + f.rows, 0),
      10_000,
    );
  });

  test('the compaction, from 50,000 rows to a million in steps of a tenth: only the newest fragments, no fold past a tenth of the table, few fragments, few rewrites', () => {
    let table: TailFragment[] = [{ id: 0, rows: 50_000 }];
    let next = 1;
    let rewritten = 0;
    for (let rows = 50_000; rows < 1_000_000;) {
      // A tenth more rows, as the tail fold leaves them (fragments of 4,096 and less).
      for (let added = 0; added < rows / 10; added += MAX_FOLDED_ROWS)
        table.push({ id: next++, rows: MAX_FOLDED_ROWS });
      rows = table.reduce((n, f) => n + f.rows, 0);
      const maxRows = Math.floor(rows / 10);
      const fold = planCompaction(table, maxRows);
      if (!fold) continue; // the newest two hold more than a tenth
      const folded = fold.reduce((n, f) => n + f.rows, 0);
      assert.ok(folded <= maxRows, `${folded} rows folded at ${rows}`);
      assert.deepEqual(fold.at(-1), table.at(-1), 'the newest fragments: a Lance update puts its fragment last');
      rewritten += folded;
      table = [...table.slice(0, table.length - fold.length), { id: next++, rows: folded }];
      assert.equal(planCompaction(table, maxRows), null, 'one fold a pass');
      assert.ok(table.length <= 48, `${table.length} fragments at ${rows} rows`);
    }
    const rows = table.reduce((n, f) => n + f.rows, 0);
    assert.ok(table[0]!.id === 0, 'the first fragment was never rewritten');
    // Measured: 917,504 rows rewritten in all (0.9 a row), 39 fragments at 1,020,752 rows. Lance's
    // optimize rewrote the whole table each time once the indices covered it.
    assert.ok(rewritten <= rows, `${rewritten} rows rewritten for ${rows}`);
  });
});

describe('the index plan: recorded in the index name, retrained as the table grows', () => {
  const vectorIndex = async (services: Services) =>
    (await services.catalog.describe()).indices.filter((i) => i.columns.includes('vector'));

  test('once more than a tenth of the rows are unindexed, every index is built anew, the vector index trained for the rows there are', async () => {
    const services = await openServices({ INDEX_MIN_ROWS: '300', COMPACT_FRAGMENTS: '64' });
    try {
      await commitRows(services, rows(300));
      assert.deepEqual(
        (await vectorIndex(services)).map((i) => i.name),
        ['vector_ivf_hnsw_sq_p1_t300'],
      );
      await commitRows(services, rows(30, 300));
      assert.deepEqual(
        (await vectorIndex(services)).map((i) => [i.name, i.unindexedRows]),
        [['vector_ivf_hnsw_sq_p1_t300', 30]],
        'a tenth or less: left unindexed',
      );
      await commitRows(services, rows(10, 330));
      assert.deepEqual(
        (await vectorIndex(services)).map((i) => [i.name, i.unindexedRows]),
        [['vector_ivf_hnsw_sq_p1_t340', 0]],
        'more than a tenth: trained on all 340 rows, and the old index dropped',
      );
      const info = await services.catalog.describe();
      for (const index of info.indices) assert.equal(index.unindexedRows, 0, index.name);
      const operations = (await versions(services)).map((v) => v.operation);
      assert.ok(!operations.includes('Optimize'), `Lance's optimize is not the upkeep's: ${operations.join(' ')}`);
      await assertFindsThemselves(services, rows(2, 0).concat(rows(2, 338)));
    } finally {
      await services.close();
    }
  });

  test('a build in progress shows in indexDetails as BUILDING with its type and start time', async () => {
    const services = await openServices({ COMPACT_FRAGMENTS: '64' });
    try {
      await commitRows(services, rows(3000));
      const query = '{ dataset { indexDetails { name type state startedAt } } }';
      const started = new Date();
      let done = false;
      const build = services.dataset.createVectorIndex('IVF_HNSW_SQ').finally(() => (done = true));
      const seen: Array<Record<string, string>> = [];
      while (!done) {
        const result = await execute(server, services, query);
        seen.push(...result.data!.dataset.indexDetails.filter((i: { state: string }) => i.state === 'BUILDING'));
      }
      await build;
      assert.ok(seen.length > 0, 'the build never showed');
      assert.deepEqual(
        { ...seen[0], startedAt: undefined },
        {
          name: 'vector_ivf_hnsw_sq_p1_t3000',
          type: 'IvfHnswSq',
          state: 'BUILDING',
          startedAt: undefined,
        },
      );
      assert.ok(new Date(seen[0]!.startedAt!) >= new Date(started.getTime() - 1000));
      const after = (await execute(server, services, query)).data!.dataset.indexDetails;
      assert.deepEqual(
        after.map((i: { state: string; startedAt: string | null }) => [i.state, i.startedAt]),
        [['READY', null]],
      );
    } finally {
      await services.close();
    }
  });
});

/** The GraphQL mutations, each on a dataset of its own with the automatic upkeep out of reach. */
describe('createVectorIndex and optimizeDataset', () => {
  let services: Services;
  const run = (query: string, variables?: Record<string, unknown>) => execute(server, services, query, variables);
  const CREATE = `mutation ($type: VectorIndexType) { createVectorIndex(type: $type) { version indexDetails { type columns unindexedRows } } }`;

  beforeEach(async () => {
    services = await openServices({ INDEX_MIN_ROWS: '1000000', COMPACT_FRAGMENTS: '64' });
  });
  afterEach(() => services.close());

  for (const [type, lanceType] of [
    ['IVF_PQ', 'IvfPq'],
    ['IVF_FLAT', 'IvfFlat'],
    ['IVF_HNSW_SQ', 'IvfHnswSq'],
  ] as const) {
    test(`createVectorIndex(${type}) builds that index over every row and search still finds each row`, async () => {
      const committed = await commitRows(services, rows(600));
      const result = await run(CREATE, { type });
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      const { version, indexDetails } = result.data!.createVectorIndex;
      assert.deepEqual(
        indexDetails.map((i: IndexDetails) => ({ ...i, columns: [...i.columns] })),
        [{ type: lanceType, columns: ['vector'], unindexedRows: 0 }],
      );
      assert.equal(version, committed + 1, 'one new version holds the index');
      assert.equal((await versions(services)).at(-1)!.operation, 'Index');
      await assertFindsThemselves(services, rows(4, 0).concat(rows(2, 598)));
    });
  }

  test('createVectorIndex needs 256 rows to train on: BAD_USER_INPUT below, an index at 256', async () => {
    await commitRows(services, rows(255));
    const tooSmall = await run(CREATE, { type: 'IVF_PQ' });
    assert.equal(tooSmall.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.match(tooSmall.errors![0]!.message, /at least 256 rows.*has 255/);
    assert.deepEqual((await dataset(services)).indexDetails, []);
    await commitRows(services, rows(1, 255));
    const built = await run(CREATE, { type: 'IVF_PQ' });
    assert.equal(built.errors, undefined, JSON.stringify(built.errors));
    assert.equal(built.data!.createVectorIndex.indexDetails.length, 1);
  });

  test('six createVectorIndex requests at once share one build, as do six optimizeDataset', async (t) => {
    await commitRows(services, rows(600));
    const lanceTable = Object.getPrototypeOf((await lanceReader(services.catalog)).table) as lancedb.Table;
    const builds = t.mock.method(lanceTable, 'createIndex');
    const optimizes = t.mock.method(lanceTable, 'optimize');
    const six = (query: string, variables?: Record<string, unknown>) =>
      Promise.all(Array.from({ length: 6 }, () => run(query, variables)));
    const created = await six(CREATE, { type: 'IVF_FLAT' });
    assert.deepEqual(
      created.map((r) => r.errors),
      Array(6).fill(undefined),
    );
    assert.equal(builds.mock.callCount(), 1, 'Lance built the index more than once');
    assert.equal(new Set(created.map((r) => r.data!.createVectorIndex.version)).size, 1);
    const optimized = await six('mutation { optimizeDataset { version } }');
    assert.deepEqual(
      optimized.map((r) => r.errors),
      Array(6).fill(undefined),
    );
    assert.equal(optimizes.mock.callCount(), 1, 'Lance optimized more than once');
    assert.equal(new Set(optimized.map((r) => r.data!.optimizeDataset.version)).size, 1);
  });

  test('optimizeDataset folds unindexed rows into the index, compacts, and keeps every version', async () => {
    await commitRows(services, rows(600));
    assert.equal((await run(CREATE, { type: 'IVF_FLAT' })).errors, undefined);
    for (let i = 0; i < 3; i++) await commitRows(services, rows(20, 600 + i * 20));
    const before = await dataset(services);
    assert.equal(indexOn(before, 'vector')?.unindexedRows, 60);
    const history = await versions(services);

    const result = await run(
      'mutation { optimizeDataset { version rowCount fragmentCount indexDetails { columns unindexedRows } } }',
    );
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const optimized = result.data!.optimizeDataset as DatasetData;
    assert.equal(optimized.rowCount, 660);
    assert.equal(indexOn(optimized, 'vector')?.unindexedRows, 0);
    assert.ok(optimized.fragmentCount < before.fragmentCount, `${before.fragmentCount} -> ${optimized.fragmentCount}`);
    const now = await versions(services);
    assert.deepEqual(
      now.slice(0, history.length).map((v) => [v.version, v.rowCount]),
      history.map((v) => [v.version, v.rowCount]),
    );
    // Its compaction (fragment ids reserved, then rewritten), then each index brought up to date.
    const made = now.slice(history.length).map((v) => v.operation);
    assert.deepEqual(made.slice(0, 2), ['Optimize', 'Optimize'], made.join(', '));
    assert.ok(made.slice(2).length > 0 && made.slice(2).every((op) => op === 'Index'), made.join(', '));
    await assertFindsThemselves(services, rows(3, 600).concat(rows(2, 657), rows(2, 0)));
  });
});

describe('uploads during a vector index build', () => {
  test('uploads commit while a build over 5,000 rows runs beside the writer queue', async (t) => {
    const services = await openServices({ INDEX_MIN_ROWS: '1000000', COMPACT_FRAGMENTS: '64' });
    let answer = () => {};
    try {
      await commitRows(services, rows(5000));
      const images = await distinctImages(4, COLOURS.green);
      const afterBuild = images.pop()!;
      // The build runs for real, and its answer is held until the uploads below have committed:
      // had they waited for it, none would, and the wait below would fail.
      const createIndex = tableWrites(services.writer).createIndex.bind(tableWrites(services.writer));
      const held = new Promise<void>((resolve) => (answer = resolve));
      t.mock.method(tableWrites(services.writer), 'createIndex', async (build: IndexBuild) => {
        const versions = await createIndex(build);
        await held;
        return versions;
      });
      let building = true;
      const build = services.dataset.createVectorIndex('IVF_PQ').finally(() => (building = false));
      for (const bytes of images) {
        let done = false;
        const upload = services.uploads.uploadAll([{ bytes, filename: null }]).finally(() => (done = true));
        await until(() => done, 'an upload to commit while the build runs');
        assert.equal((await upload)[0]!.created, true);
      }
      assert.equal(building, true, 'the build had answered before the uploads committed');
      answer();
      const info = await build;
      const [outcome] = await services.uploads.uploadAll([{ bytes: afterBuild, filename: null }]);
      assert.equal(outcome!.created, true, 'the first commit after the index version');
      assert.equal(info.rowCount, 5003);
      assert.equal(await (await lanceReader(services.catalog)).table.countRows(), 5004);
      assert.equal(info.indices.find((i) => i.columns.includes('vector'))?.type, 'IvfPq');
    } finally {
      answer();
      await services.close();
    }
  });
});
