import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openServices } from './support/harness.js';
import { versionHandles } from '../src/services/catalog/test-access.js';

describe('the catalog closes cleanly', () => {
  test('closing while a refresh looks for new versions waits for it instead of failing', async () => {
    const services = await openServices({ READ_CONSISTENCY_MS: '1000' });
    // A refresh holds the native table until its listing answers; closing it meanwhile threw
    // "The same native value cannot be borrowed mutably while another borrow is active".
    const refresh = versionHandles(services.catalog).refreshLatest();
    await assert.doesNotReject(services.close());
    await refresh;
  });
});
