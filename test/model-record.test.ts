import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createCaches } from '../src/services/cache.js';
import { loadClip } from '../src/services/embedding/clip-model.js';
import { EmbeddingBatcher } from '../src/services/embedding/embedding-batcher.js';
import { SearchService } from '../src/services/search.js';
import { startServices, type Services } from '../src/services/index.js';
import { createLogger } from '../src/logger.js';
import { tempDir, testModel, testModelDir, testSettings, upload } from './support/harness.js';
import { COLOURS, solid } from './support/images.js';

/** The test model under another name: the same network, so only the record can tell them apart. */
async function otherModel() {
  const dir = await tempDir('clip-other-model-');
  await cp(await testModelDir(), dir, { recursive: true });
  const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
  config._name_or_path = 'someone-else/clip-variant';
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  return { dir, model: await loadClip({ model: dir, cacheDir: path.join(dir, '.cache') }) };
}

/** Real services over `dataDir` with `model`, closed without removing the directory. */
async function open(dataDir: string, model = testModel(), env: Record<string, string> = {}): Promise<Services> {
  return startServices(await testSettings({ DATA_URI: dataDir, ...env }), createLogger('silent'), model);
}

describe('the dataset records the embedding model that made its vectors', () => {
  test('a dataset made with one model refuses to start with another, naming both and the two ways out', async () => {
    const dataDir = await tempDir();
    const other = await otherModel();
    try {
      const services = await open(dataDir);
      await services.uploads.uploadAll([upload(await solid(COLOURS.red), 'red.png')]);
      // An optimize rewrites the files, and a restore goes back to an earlier version: the record stays.
      await services.dataset.optimize();
      await services.dataset.restore(2);
      await services.close();
      await assert.rejects(open(dataDir, Promise.resolve(other.model)), (error: Error) => {
        assert.match(error.message, /lance-image-search\/clip-colour-test-model/);
        assert.match(error.message, /someone-else\/clip-variant/);
        assert.match(error.message, /set EMBEDDING_MODEL back/);
        assert.match(error.message, /re-embed: start with this EMBEDDING_MODEL and a new DATA_URI/);
        return true;
      });
      // The dataset's own model still opens it.
      const again = await open(dataDir);
      assert.equal(again.catalog.modelAdopted, false);
      await again.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
      await rm(other.dir, { recursive: true, force: true });
    }
  });

  test('a cached search answer made with one model is not served to another', async () => {
    const dataDir = await tempDir();
    const other = await otherModel();
    const services = await open(dataDir);
    // Two replicas sharing one cache (Redis) over the same dataset, with different models.
    const caches = createCaches('memory:', 60_000, 16 * 1024 * 1024);
    try {
      await services.uploads.uploadAll([upload(await solid(COLOURS.blue), 'blue.png')]);
      const mine = new SearchService(services.catalog, services.batcher, caches);
      const theirs = new SearchService(services.catalog, new EmbeddingBatcher(other.model), caches);
      const options = { limit: 3, columns: ['id'] as const };
      assert.equal((await mine.byText('blue', options)).cached, false);
      assert.equal((await mine.byText('blue', options)).cached, true, 'the same model hits the cache');
      assert.equal((await theirs.byText('blue', options)).cached, false);
    } finally {
      await caches.close();
      await services.close();
      await rm(dataDir, { recursive: true, force: true });
      await rm(other.dir, { recursive: true, force: true });
    }
  });

  test('a local model loads without claiming to download anything', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk, _encoding, done) => (lines.push(String(chunk)), done()) });
    const dataDir = await tempDir();
    const settings = await testSettings({ DATA_URI: dataDir, EMBEDDING_MODEL: await testModelDir() });
    const services = await startServices(settings, pino({ level: 'info' }, sink));
    try {
      assert.ok(
        lines.some((l) => l.includes('embedding model loaded')),
        lines.join(''),
      );
      assert.equal(lines.filter((l) => /download/i.test(l)).length, 0, lines.join(''));
    } finally {
      await services.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
