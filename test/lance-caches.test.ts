import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { commitRows, openServices, syntheticRows } from './support/harness.js';

/** Lance's index and metadata caches are bounded by settings, not left at 6 GB and 1 GB (issue 15, memory). */
describe("Lance's in-memory caches", () => {
  test('hold no more than LANCE_INDEX_CACHE_BYTES + LANCE_METADATA_CACHE_BYTES, where the defaults hold more', async () => {
    const held = async (env: Record<string, string>) => {
      const services = await openServices({ INDEX_MIN_ROWS: '300', ...env });
      try {
        await commitRows(services, syntheticRows(600, services.batcher.model.dimension));
        for (let i = 0; i < 30; i++) {
          const vector = syntheticRows(1, services.batcher.model.dimension, 10_000 + i)[0]!.vector;
          await services.catalog.search(vector, { limit: 10, columns: ['id'] });
        }
        return services.catalog.cacheBytes();
      } finally {
        await services.close();
      }
    };
    const bounded = await held({ LANCE_INDEX_CACHE_BYTES: '65536', LANCE_METADATA_CACHE_BYTES: '65536' });
    const unbounded = await held({});
    assert.ok(bounded <= 2 * 65536, `bounded caches hold ${bounded} bytes`);
    assert.ok(unbounded > 2 * 65536, `at the defaults the same work keeps ${unbounded} bytes`);
  });
});
