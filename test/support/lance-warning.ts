// Run as a process by test/process.test.ts: sets Lance's log level the way src/index.ts does, then
// makes Lance log a warning (a vector search that selects columns without `_distance`).
import '../../src/lance-log.js';
import * as lancedb from '@lancedb/lancedb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const dir = await mkdtemp(path.join(tmpdir(), 'lance-warning-'));
const db = await lancedb.connect(dir);
const table = await db.createTable('t', [{ id: 1, vector: [1, 2, 3] }]);
await table.vectorSearch([1, 2, 3]).select(['id']).limit(1).toArray();
await rm(dir, { recursive: true, force: true });
