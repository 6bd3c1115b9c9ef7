// Several service instances (separate Lance connections, as separate processes have) on one
// dataset in a temp directory. The S3 variants of these races are in s3-concurrency.test.ts.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as lancedb from '@lancedb/lancedb';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import type { Services } from '../src/services/index.js';
import { COLOURS, distinctImages } from './support/images.js';
import { keepOne } from '../src/services/catalog/duplicates.js';
import { loadSettings } from '../src/config.js';
import type { AppendOutcome } from '../src/services/catalog/writer.js';
import {
  commitRows,
  execute,
  graphqlServer,
  openServices,
  storedIds,
  syntheticRows,
  tempDir,
  testModel,
  until,
} from './support/harness.js';
import { lanceReader, tableWrites, versionHandles } from '../src/services/catalog/test-access.js';

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
  const { table } = await lanceReader(services.catalog, await tableWrites(services.writer).refresh());
  return table.countRows(`id = '${id}'`);
}

/**
 * Spies on `services`' looks at the store for new versions. They run on its READ_CONSISTENCY_MS
 * timer, which the tests move by hand (`t.mock.timers`): until a test moves it, the process looks
 * no more, and what it sees comes from what it knows itself.
 */
function spyOnLooks(t: TestContext, services: Services) {
  const looks = t.mock.method(versionHandles(services.catalog), 'refreshLatest');
  return {
    count: () => looks.mock.callCount(),
    /** Moves the mocked clock on by `ms`, and waits for the looks that set off to be done. */
    tick: async (ms: number) => {
      t.mock.timers.tick(ms);
      await Promise.all(looks.mock.calls.map((call) => call.result));
    },
  };
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
      await tableWrites(services.writer).append([{ ...late!, id, filename: 'late.jpg', createdAt: new Date(2_000) }]);
      const version = await tableWrites(services.writer).append([
        { ...early!, filename: 'early.jpg', createdAt: new Date(1_000) },
      ]);
      const copies = await services.catalog.copiesOf([id], version);
      const { kept, extra } = keepOne(copies);
      assert.equal(extra.length, 1);
      assert.equal(extra[0]?.filename, 'late.jpg', 'the copy uploaded later goes');
      assert.equal(kept.get(id)?.filename, 'early.jpg');
    } finally {
      await services.close();
    }
  });

  test('a replica that re-uploads bytes another stored answers the stored row and adds no second', async () => {
    const [a, b] = await replicas(2, { READ_CONSISTENCY_MS: '0' });
    try {
      const [bytes] = await distinctImages(1, COLOURS.red, 4242);
      const [stored] = await a!.uploads.uploadAll([{ bytes: bytes!, filename: 'first.jpg' }]);
      const { id } = stored!.image;
      const [again] = await b!.uploads.uploadAll([{ bytes: bytes!, filename: 'again.jpg' }]);
      assert.equal(again!.created, false);
      assert.equal(again!.image.filename, 'first.jpg', 'the stored row is returned');
      assert.equal(await copiesOf(b!, id), 1);
    } finally {
      await Promise.all([a, b].map((s) => s!.close()));
    }
  });

  test('a process reads its own append, delete and restore at once at the default READ_CONSISTENCY_MS', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const [self, other] = await replicas(2, { READ_CONSISTENCY_MS: String(DEFAULT_READ_CONSISTENCY_MS) });
    try {
      const [row] = syntheticRows(1, dimension, 100);
      const looks = spyOnLooks(t, self!);
      const within = async <T>(write: () => Promise<T>, offset: number) => {
        // The other process commits, and this one's periodic look sees it: the look is fresh.
        const { version } = await other!.writer.append(syntheticRows(1, dimension, offset)[0]!);
        await looks.tick(DEFAULT_READ_CONSISTENCY_MS);
        assert.equal(await self!.catalog.version(), version);
        const before = looks.count();
        const outcome = await write();
        const seen = await read(self!, row!.id);
        assert.equal(looks.count(), before, 'the process looked at the store between its write and its read');
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
    } finally {
      await Promise.all([self, other].map((s) => s!.close()));
    }
  });

  // On a loaded machine a look at the versions (a listing) takes long, and at READ_CONSISTENCY_MS=0
  // every read starts one, so one is nearly always in flight. A read that joined it would answer
  // from a listing made before a commit acknowledged meanwhile. Here the look in flight is held
  // once it has listed, as a slow one would be: no wall clock decides.
  test('at READ_CONSISTENCY_MS=0 a read started after another process acknowledged a commit sees it, though a look that listed before was still in flight', async (t) => {
    const [writer, reader] = await replicas(2, { READ_CONSISTENCY_MS: '0' });
    try {
      const [row] = syntheticRows(1, dimension, 900);
      const lanceTable = Object.getPrototypeOf((await lanceReader(reader!.catalog)).table) as lancedb.Table;
      const checkoutLatest = lanceTable.checkoutLatest;
      let listed!: () => void;
      let release!: () => void;
      const hasListed = new Promise<void>((resolve) => (listed = resolve));
      const held = new Promise<void>((resolve) => (release = resolve));
      let holding = true;
      t.mock.method(lanceTable, 'checkoutLatest', async function (this: lancedb.Table) {
        await checkoutLatest.call(this);
        if (!holding) return;
        holding = false;
        listed();
        await held;
      });
      const early = read(reader!, row!.id); // its look lists now, and is held
      await hasListed;
      const { version } = await writer!.writer.append(row!);
      const late = read(reader!, row!.id);
      release();
      const seen = await late;
      assert.equal(seen.image?.id, row!.id, 'a read started after the commit was acknowledged missed it');
      assert.equal(seen.dataset.version, version);
      await early;
    } finally {
      await Promise.all([writer, reader].map((s) => s!.close()));
    }
  });

  test('another process commit shows within READ_CONSISTENCY_MS, and need not show sooner', async (t) => {
    const bound = DEFAULT_READ_CONSISTENCY_MS;
    t.mock.timers.enable({ apis: ['setInterval'] });
    const [writer, reader] = await replicas(2, { READ_CONSISTENCY_MS: String(bound) });
    try {
      const looks = spyOnLooks(t, reader!);
      const [row] = syntheticRows(1, dimension, 1);
      const { version } = await writer!.writer.append(row!);
      assert.equal((await read(reader!, row!.id)).image, null, 'seen before the reader looked');
      await looks.tick(bound - 1);
      assert.equal((await read(reader!, row!.id)).image, null, 'seen before READ_CONSISTENCY_MS was over');
      await looks.tick(1);
      const seen = await read(reader!, row!.id);
      assert.equal(seen.image?.id, row!.id, 'not seen once READ_CONSISTENCY_MS was over');
      assert.equal(seen.dataset.version, version);
    } finally {
      await Promise.all([writer, reader].map((s) => s!.close()));
    }
  });
});

/**
 * Counts what the Lance queries started from here on read of the id column: each query is run
 * again with `analyzePlan`, on the same version, and the rows its reads of the id column scanned
 * are summed from the plan's metrics. Restored by the test's mock tracker.
 */
function spyOnIdReads(t: TestContext) {
  const queries: lancedb.QueryBase<never>[] = [];
  type Run = (this: lancedb.QueryBase<never>, ...args: unknown[]) => unknown;
  const prototype = lancedb.QueryBase.prototype as unknown as Record<'toArrow' | 'nativeExecute', Run>;
  for (const method of ['toArrow', 'nativeExecute'] as const) {
    const run = prototype[method];
    t.mock.method(prototype, method, function (this: lancedb.QueryBase<never>, ...args: unknown[]) {
      queries.push(this);
      return run.apply(this, args);
    });
  }
  return {
    queries: () => queries.length,
    rowsRead: async () => {
      let rows = 0;
      for (const query of queries.splice(0)) rows += idRowsScanned(await query.analyzePlan());
      return rows;
    },
  };
}

/** The rows a plan's reads that include the id column scanned (`rows_scanned=51`, `=3.77 K`...). */
function idRowsScanned(plan: string): number {
  let rows = 0;
  for (const line of plan.split('\n')) {
    if (!/LanceRead:.*projection=\[[^\]]*\bid\b/.test(line)) continue;
    const [, value, unit] = /rows_scanned=([\d.]+)\s*([KM]?)/.exec(line) ?? [];
    rows += Number(value ?? 0) * ({ K: 1e3, M: 1e6 }[unit as 'K' | 'M'] ?? 1);
  }
  return rows;
}

/** The index the service builds on `id` once a dataset reaches INDEX_MIN_ROWS (dataset.ts). */
const idIndex = () => ({ column: 'id', config: lancedb.Index.btree(), name: 'id_idx', type: 'BTree' });

describe('replicas dedupe through the dataset', () => {
  test("another process's commit of one row costs a replica's next upload a read of a few rows of ids, not of the table", async (t) => {
    const rows = 1000;
    const [a, b] = await replicas(2, { READ_CONSISTENCY_MS: '0' });
    try {
      await commitRows(a!, syntheticRows(rows, dimension, 0));
      await a!.writer.buildIndex(idIndex());
      await commitRows(a!, syntheticRows(1, dimension, rows)); // b did not make this version
      const [bytes] = await distinctImages(1, COLOURS.orange, 7000);
      const reads = spyOnIdReads(t);
      const [stored] = await b!.uploads.uploadAll([{ bytes: bytes!, filename: 'b.jpg' }]);
      assert.equal(stored!.created, true);
      assert.ok(reads.queries() > 0, "the spy saw none of Lance's queries");
      const read = await reads.rowsRead();
      assert.ok(read <= 4, `one upload read ${read} rows of the id column of a table of ${rows + 1}`);
    } finally {
      await Promise.all([a, b].map((s) => s!.close()));
    }
  });

  // b looks the id up before a commits, and appends after a has: neither saw the other's row, as
  // two processes storing the same new image at the same moment, and b's commit lands second.
  for (const earlier of ['a', 'b'] as const) {
    test(`the same image stored by two processes at once, ${earlier}'s copy uploaded first: both answer, and one row is left as the second answers`, async (t) => {
      const [a, b] = await replicas(2, { READ_CONSISTENCY_MS: '0' });
      try {
        const [row] = syntheticRows(1, dimension, 500);
        const copy = (name: 'a' | 'b') => ({
          ...row!,
          filename: `${name}.jpg`,
          createdAt: new Date(name === earlier ? 1_000 : 2_000),
        });
        const lookUp = b!.catalog.copiesOf.bind(b!.catalog);
        let fromA: Promise<AppendOutcome> | undefined;
        t.mock.method(b!.catalog, 'copiesOf', async (ids: readonly string[], version: number) => {
          const found = await lookUp(ids, version);
          fromA ??= a!.writer.append(copy('a'));
          await fromA;
          return found;
        });
        const fromB = await b!.writer.append(copy('b'));
        assert.ok(fromB.version > (await fromA!).version, "b's commit did not land second");
        assert.deepEqual(
          [(await fromA!).created, fromB.created],
          [true, earlier === 'b'],
          'created: each said whether its copy is the one kept',
        );
        // No flush and no further write: what is left as the second process answers.
        const { ids, duplicated } = await storedIds(a!);
        assert.deepEqual([[...ids], duplicated], [[row!.id], []]);
        const kept = await a!.catalog.get([row!.id], ['filename'], fromB.version);
        assert.equal(kept.get(row!.id)?.filename, `${earlier}.jpg`, 'the copy uploaded first stays');
      } finally {
        await Promise.all([a, b].map((s) => s!.close()));
      }
    });
  }
  test("a repair whose copy another process's fold moved before the delete committed still leaves one row", async (t) => {
    const [a, b] = await replicas(2, { READ_CONSISTENCY_MS: '0' });
    try {
      // The fold below is the only one: no upkeep runs on these commits.
      a!.writer.onCommit = () => {};
      b!.writer.onCommit = () => {};
      const [row, other] = syntheticRows(2, dimension, 700);
      await a!.writer.append(other!);
      const lookUp = b!.catalog.copiesOf.bind(b!.catalog);
      let looks = 0;
      let moved: number | null = null;
      t.mock.method(b!.catalog, 'copiesOf', async (ids: readonly string[], version: number) => {
        const found = await lookUp(ids, version);
        looks += 1;
        // b's look before its append: a's copy is committed just after it, so both are appended.
        if (looks === 1) await a!.writer.append({ ...row!, filename: 'a.jpg', createdAt: new Date(2_000) });
        // b's repair has read the copies' row ids: a's fold of its newest fragments moves a's copy,
        // the one to delete (b's was uploaded first).
        if (looks === 2) moved = await tableWrites(a!.writer).compact(1_000_000);
        return found;
      });
      const fromB = await b!.writer.append({ ...row!, filename: 'b.jpg', createdAt: new Date(1_000) });
      assert.equal(fromB.created, true, "b's copy is the one kept");
      assert.notEqual(moved, null, 'the fold moved no rows');
      assert.equal(await copiesOf(a!, row!.id), 1);
    } finally {
      await Promise.all([a, b].map((s) => s!.close()));
    }
  });

  test('a repair whose delete fails is tried again shortly: the upload answers, and one row is left within the staleness bound with no further write', async (t) => {
    const [a, b] = await replicas(2, { READ_CONSISTENCY_MS: '0' });
    try {
      const [row] = syntheticRows(1, dimension, 600);
      const lookUp = b!.catalog.copiesOf.bind(b!.catalog);
      let fromA: Promise<AppendOutcome> | undefined;
      t.mock.method(b!.catalog, 'copiesOf', async (ids: readonly string[], version: number) => {
        const found = await lookUp(ids, version);
        fromA ??= a!.writer.append({ ...row!, filename: 'a.jpg', createdAt: new Date(1_000) });
        await fromA;
        return found;
      });
      const deleteCopies = tableWrites(b!.writer).deleteCopies.bind(tableWrites(b!.writer));
      let failures = 1;
      const deletes = t.mock.method(
        tableWrites(b!.writer),
        'deleteCopies',
        (...args: Parameters<typeof deleteCopies>) =>
          failures-- > 0 ? Promise.reject(new Error('the disk went away for a moment')) : deleteCopies(...args),
      );
      const fromB = await b!.writer.append({ ...row!, filename: 'b.jpg', createdAt: new Date(2_000) });
      assert.ok(fromB.version > (await fromA!).version);
      await until(
        async () => (await storedIds(a!)).duplicated.length === 0,
        'the repair tried again',
        DEFAULT_READ_CONSISTENCY_MS,
      );
      assert.equal(deletes.mock.callCount(), 2);
    } finally {
      await Promise.all([a, b].map((s) => s!.close()));
    }
  });
});

describe('the upkeep of replicas on one dataset', () => {
  const term = loadSettings({}).MAINTENANCE_LEASE_MS;

  test('only the replica holding the maintenance lease builds, compacts and folds; once it stops, the other does', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const [a, b] = await replicas(2, { READ_CONSISTENCY_MS: '0', INDEX_MIN_ROWS: '300' });
    try {
      const rows = (count: number, offset: number) => syntheticRows(count, dimension, offset);
      // The real upkeep, as each replica runs it.
      const upkeep = (services: Services) =>
        (['createIndex', 'optimize', 'foldTail'] as const).map((method) =>
          t.mock.method(tableWrites(services.writer), method),
        );
      const runs = (spies: ReturnType<typeof upkeep>) => spies.map((spy) => spy.mock.callCount());
      const [ofA, ofB] = [upkeep(a!), upkeep(b!)];

      await commitRows(a!, rows(10, 0)); // a's upkeep after its first commit takes the lease
      await commitRows(b!, rows(300, 10));
      await commitRows(a!, rows(1, 310));
      assert.ok(runs(ofA)[0]! >= 5, `a built ${runs(ofA)[0]} indices: the id, filter and vector indices were due`);
      // Four single rows on b leave small fragments to fold: a's upkeep timer sees b's commits.
      for (let i = 0; i < 4; i++) await commitRows(b!, rows(1, 311 + i));
      const passes = t.mock.method(a!.dataset, 'maintain');
      t.mock.timers.tick(term / 3);
      await until(() => passes.mock.callCount() > 0, "a's upkeep timer");
      await Promise.all(passes.mock.calls.map((call) => call.result));
      assert.ok(runs(ofA)[2]! > 0, "a did not fold b's fragments");
      assert.deepEqual(runs(ofB), [0, 0, 0], 'b ran upkeep while a held the lease');

      await a!.dataset.stop(); // as on SIGTERM: the lease is released
      // b looks at the lease once a third of its term (on the monotonic clock, moved here by hand).
      const now = performance.now.bind(performance);
      t.mock.method(performance, 'now', () => now() + term / 3);
      for (let i = 0; i < 4; i++) await commitRows(b!, rows(1, 400 + i));
      assert.ok(runs(ofB)[2]! > 0, 'b did not take the upkeep over');
    } finally {
      await Promise.all([a, b].map((s) => s!.close()));
    }
  });
});
