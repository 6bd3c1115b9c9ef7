import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HNSW_PROBES, planIndex, queryPlan } from '../src/services/catalog/vector-index.js';

/**
 * The default index's query plan at the sizes the scale benchmark measures (the figures behind
 * it: benchmarks/results/plan-sweep.md). Its cost must not follow the table: at 1M rows a share
 * of the partitions walked 61 graphs per query where 100k walked 8, for no recall.
 */
describe('query plan of the default index (IVF_HNSW_SQ)', () => {
  const at = (rows: number, limit = 10) => queryPlan(planIndex('IVF_HNSW_SQ', rows), limit);

  test('100k and 1M rows: ~4,096-row partitions, and the same probes and ef at both', () => {
    assert.equal(planIndex('IVF_HNSW_SQ', 100_000).partitions, 24);
    assert.equal(planIndex('IVF_HNSW_SQ', 1_000_000).partitions, 244);
    assert.deepEqual(at(100_000), { nprobes: HNSW_PROBES, ef: 300, refineFactor: 2 });
    assert.deepEqual(at(1_000_000), at(100_000));
    assert.deepEqual(at(10_000_000), at(100_000));
  });

  test('an index with fewer partitions than the probes is searched whole', () => {
    assert.equal(at(3000).nprobes, 1);
    assert.equal(at(20_000).nprobes, 5);
  });

  test('ef stays ten times the limit above the floor, so a long result list keeps its recall', () => {
    assert.equal(at(1_000_000, 10).ef, 300);
    assert.equal(at(1_000_000, 100).ef, 1000);
  });

  test('IVF_PQ keeps probing a quarter of its √rows partitions, and an unnamed index gets the wide plan', () => {
    assert.deepEqual(queryPlan(planIndex('IVF_PQ', 1_000_000), 10), { nprobes: 250, refineFactor: 5 });
    assert.deepEqual(queryPlan(null, 10), { nprobes: 20, refineFactor: 10 });
  });
});
