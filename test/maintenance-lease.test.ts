// The maintenance lease (src/services/catalog/maintenance-lease.ts) between replicas, on a real
// store in a temp directory, at the service's default term, with a clock the tests move by hand:
// what takes 30 s and more on the wall clock takes none here. Its S3 side (If-None-Match: *) runs
// in s3-replicas.test.ts, with real processes.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { loadSettings } from '../src/config.js';
import { LEASE_PREFIX, MaintenanceLease } from '../src/services/catalog/maintenance-lease.js';
import { LocalObjectStore } from '../src/services/storage/object-store.js';
import { tempDir } from './support/harness.js';

const TERM = loadSettings({}).MAINTENANCE_LEASE_MS;

describe('the maintenance lease at the default term', () => {
  let dir: string;
  let store: LocalObjectStore;
  let clock: number;
  /** Replicas on one store, sharing the test's clock (each would have its own; only their rates matter). */
  const replica = () => new MaintenanceLease(store, { ttlMs: TERM, now: () => clock });

  before(async () => {
    dir = await tempDir('lease-');
  });
  after(() => rm(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    await rm(dir, { recursive: true, force: true });
    store = new LocalObjectStore(dir);
    clock = 1_000_000;
  });

  test('is 30 s', () => {
    assert.equal(TERM, 30_000);
  });

  test('of two replicas racing for a free lease, one holds it', async () => {
    const [a, b] = [replica(), replica()];
    const held = await Promise.all([a.hold(), b.hold()]);
    assert.equal(held.filter(Boolean).length, 1, `held: ${held}`);
    assert.deepEqual([await a.hold(), await b.hold()], held, 'the holder keeps it, the other still does not');
  });

  test('a holder that keeps renewing keeps it, however long the others look', async () => {
    const [a, b] = [replica(), replica()];
    assert.equal(await a.hold(), true);
    for (let step = 0; step < 30; step++) {
      clock += TERM / 3;
      assert.equal(await a.hold(), true, `the holder lost it at step ${step}`);
      assert.equal(await b.hold(), false, `the other took it at step ${step}`);
    }
  });

  test('a holder that stops renewing is taken over once its last write is a term old to the taker, not sooner', async () => {
    const [a, b] = [replica(), replica()];
    assert.equal(await a.hold(), true);
    assert.equal(await b.hold(), false); // b sees a's lease now, and times it from here
    clock += TERM - 1;
    assert.equal(await b.hold(), false, 'taken before the term was over');
    clock += 1;
    assert.equal(await b.hold(), true, 'not taken once the term was over');
    // a comes back (a stalled process): its renewal finds b's write under the next number.
    assert.equal(await a.hold(), false, 'two holders');
    assert.equal(await b.hold(), true);
  });

  test('a holder that could not write stops holding before anyone may take over', async (t) => {
    const a = replica();
    assert.equal(await a.hold(), true);
    t.mock.method(store, 'putIfAbsent', () => Promise.reject(new Error('the store is down')));
    clock += TERM / 3;
    assert.equal(await a.hold(), true, 'one failed renewal is tolerated');
    clock += TERM / 3;
    assert.equal(await a.hold(), false, 'held two thirds of a term without a write');
  });

  test('a released lease is taken at once, and the store keeps only the newest record or two', async () => {
    const [a, b] = [replica(), replica()];
    assert.equal(await a.hold(), true);
    assert.equal(await b.hold(), false);
    for (let i = 0; i < 5; i++) {
      clock += TERM / 3;
      await a.hold();
    }
    await a.release();
    assert.equal(await b.hold(), true, 'a released lease was not taken at once');
    const records = [];
    for await (const object of store.list(LEASE_PREFIX)) records.push(object.key);
    assert.ok(records.length <= 2, records.join(', '));
  });
});
