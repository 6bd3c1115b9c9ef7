import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import sharp from 'sharp';
import type { Settings } from '../config.js';
import { createCaches, type Caches } from './cache.js';
import { DATASET_DIR, ImageCatalog } from './catalog/catalog.js';
import { ModelMismatchError } from './catalog/model-record.js';
import { loadClip, type ClipModel } from './embedding/clip-model.js';
import { DatasetService } from './catalog/dataset.js';
import { EmbeddingBatcher } from './embedding/embedding-batcher.js';
import { ServiceMetrics } from './metrics.js';
import { MeteredObjectStore } from './storage/metered-object-store.js';
import type { ObjectStore } from './storage/object-store.js';
import { SearchService } from './search.js';
import { S3_SETTINGS_HINT } from './storage/bucket-check.js';
import { openStorage } from './storage/storage.js';
import { bucketAnswer } from './storage/storage-failures.js';
import { DecodeBudget } from './images/decode-budget.js';
import { ThumbnailService } from './images/thumbnails.js';
import { UploadService } from './images/uploads.js';
import { LEFTOVER_MIN_AGE_MS, removeLeftovers } from './images/reclaimer.js';
import type { TableWrites } from './catalog/table-writes.js';
import { CatalogWriter } from './catalog/writer.js';
import { MaintenanceLease } from './catalog/maintenance-lease.js';
import { AppendRelay } from './catalog/append-relay.js';

/** The long-lived parts of the service, created once at start-up and shared by all requests. */
export interface Services {
  settings: Settings;
  logger: Logger;
  objects: ObjectStore;
  catalog: ImageCatalog;
  writer: CatalogWriter;
  batcher: EmbeddingBatcher;
  caches: Caches;
  uploads: UploadService;
  thumbnails: ThumbnailService;
  search: SearchService;
  dataset: DatasetService;
  close(): Promise<void>;
}

/**
 * Loads the model, opens the dataset and wires the services together. `model` lets a caller
 * share one loaded model between several service instances (tests and benchmarks do); `metrics`
 * is where they count (the HTTP app makes it first, so /metrics answers while they start).
 */
export async function startServices(
  settings: Settings,
  logger: Logger,
  model?: ClipModel | Promise<ClipModel>,
  metrics = new ServiceMetrics(),
): Promise<Services> {
  const storage = openStorage(settings);
  const objects = new MeteredObjectStore(storage.objects, metrics);
  // The model loads while the dataset opens: both take a second or more on a cold start.
  const loading = Promise.resolve(model ?? loadModel(settings, logger));
  const identity = loading.then((clip) => clip.identity);
  // Both are awaited below; these only keep a failure that comes first from going unhandled.
  loading.catch(() => {});
  identity.catch(() => {});
  await storage.check();
  // Housekeeping: readiness does not wait for it (about 1 s per 200k files on local disk).
  const sweeping = sweepLeftovers(objects, logger);
  const reads = await storage.openReads({
    datasetDir: DATASET_DIR,
    logger: logger.child({ component: 'object-cache' }),
  });
  // A start that fails part-way closes what it opened: the read endpoint, the dataset, the caches.
  let catalog: ImageCatalog | undefined;
  let writes: TableWrites | undefined;
  let caches: Caches | undefined;
  const closeOpened = async () => {
    await caches?.close();
    await catalog?.close();
    await reads.close();
  };
  try {
    ({ catalog, writes } = await ImageCatalog.open({
      uri: storage.lanceUri,
      storageOptions: storage.storageOptions,
      readStorageOptions: reads.storageOptions,
      mirror: reads.mirror,
      model: identity,
      cacheBytes: { index: settings.LANCE_INDEX_CACHE_BYTES, metadata: settings.LANCE_METADATA_CACHE_BYTES },
      readConsistencyMs: settings.READ_CONSISTENCY_MS,
      objects,
    }).catch(async (error: unknown) => {
      // A failed model load says EMBEDDING_MODEL itself (and may be why the open failed).
      const modelError: unknown = await loading.then(
        () => null,
        (failure: unknown) => failure,
      );
      if (error instanceof ModelMismatchError) throw new Error(`DATA_URI ${settings.DATA_URI}: ${error.message}`);
      throw modelError ?? datasetUnreachable(settings, error);
    }));
    const clip = await loading;
    if (catalog.modelAdopted) {
      logger.info({ model: clip.identity }, 'the dataset did not record its embedding model: recorded this one');
    }
    // Past the metered store: object_store_requests_total counts the image traffic.
    const lease = new MaintenanceLease(storage.objects, {
      ttlMs: settings.MAINTENANCE_LEASE_MS,
      url: settings.REPLICA_URL,
      logger: logger.child({ component: 'maintenance-lease' }),
    });
    const relay = settings.REPLICA_TOKEN
      ? new AppendRelay({
          lease,
          token: settings.REPLICA_TOKEN,
          url: settings.REPLICA_URL,
          timeoutMs: settings.MAINTENANCE_LEASE_MS / 3,
          logger: logger.child({ component: 'append-relay' }),
          metrics,
        })
      : undefined;
    const writer = CatalogWriter.open(catalog, writes, logger.child({ component: 'writer' }), { metrics, relay });
    const batcher = new EmbeddingBatcher(clip, metrics);
    caches = createCaches(settings.CACHE_URL, settings.CACHE_TTL_MS, settings.CACHE_MAX_BYTES);
    // One budget for the memory of the images decoded at once, for uploads and thumbnails alike.
    // libvips' operation cache would keep each decoder alive after its decode, with memory the
    // cache does not count (its 50 MB bound is of libvips' own buffers): a progressive JPEG's
    // coefficients (370 MB at 8000×8000) stayed resident after every decode, and the next added
    // to them. Nothing here decodes the same bytes with the same operations twice.
    sharp.cache(false);
    const decoding = new DecodeBudget(settings.DECODE_MEMORY_BYTES, settings.DECODE_CONCURRENCY);
    const limits = { maxPixels: settings.MAX_IMAGE_PIXELS, maxDecodeBytes: settings.DECODE_MEMORY_BYTES };
    const thumbnails = new ThumbnailService(
      objects,
      catalog,
      decoding,
      limits,
      logger.child({ component: 'thumbnails' }),
    );
    const uploads = new UploadService(
      objects,
      catalog,
      writer,
      batcher,
      thumbnails,
      limits,
      decoding,
      logger.child({ component: 'uploads' }),
    );
    const search = new SearchService(catalog, batcher, caches);
    const dataset = new DatasetService(
      catalog,
      writer,
      { minRows: settings.INDEX_MIN_ROWS, maxUnindexedShare: 0.1, maxSmallFragments: settings.COMPACT_FRAGMENTS },
      logger.child({ component: 'dataset' }),
      lease,
    );
    writer.onCommit = () => void dataset.maintain();
    // Before readiness: the first searches should not each load index files.
    await dataset.prewarm();
    metrics.observe({ catalog, caches, readEndpoint: reads.stats });
    logger.info(
      { dataset: catalog.uri, version: await catalog.version(), model: clip.identity.name },
      'services ready',
    );
    dataset.startUpkeep(settings.MAINTENANCE_LEASE_MS / 3);
    return {
      settings,
      logger,
      objects,
      catalog,
      writer,
      batcher,
      caches,
      uploads,
      thumbnails,
      search,
      dataset,
      close: async () => {
        await sweeping;
        await writer.flush();
        await dataset.stop();
        await closeOpened();
      },
    };
  } catch (error) {
    await closeOpened().catch(() => {});
    throw error;
  }
}

/**
 * Removes the temp files that writes cut short by a crash or a full disk left, while the rest of
 * the start goes on. A failure only leaves them for the next start or reclaim: it is logged.
 */
async function sweepLeftovers(objects: ObjectStore, logger: Logger): Promise<void> {
  try {
    const removed = await removeLeftovers(objects, { olderThanMs: LEFTOVER_MIN_AGE_MS, dryRun: false });
    if (removed.length > 0) {
      const bytes = removed.reduce((sum, file) => sum + file.size, 0);
      logger.info({ files: removed.length, bytes }, 'removed temp files of interrupted writes');
    }
  } catch (error) {
    logger.warn({ err: error }, 'temp files of interrupted writes not removed; the next start or reclaim-images will');
  }
}

/**
 * Lance's own error for a bucket it cannot reach is a long dump that names no setting; this one
 * names DATA_URI and the settings that decide how the bucket is reached, and what the bucket said.
 */
function datasetUnreachable(settings: Settings, error: unknown): Error {
  const answered = bucketAnswer(error);
  const text = String((error as Error)?.message ?? error);
  const cause = answered ? `the bucket answered ${answered}` : text.split('\n')[0]!.slice(0, 200);
  const how = settings.DATA_URI.startsWith('s3://') ? ` ${S3_SETTINGS_HINT}` : '';
  return new Error(`DATA_URI ${settings.DATA_URI}: the dataset cannot be opened (${cause}).${how}`);
}

async function loadModel(settings: Settings, logger: Logger): Promise<ClipModel> {
  const log = logger.child({ component: 'model' });
  log.info({ model: settings.EMBEDDING_MODEL, cacheDir: settings.MODEL_CACHE_DIR }, 'loading the embedding model');
  const started = Date.now();
  const model = await loadClip({
    model: settings.EMBEDDING_MODEL,
    cacheDir: settings.MODEL_CACHE_DIR,
    onProgress: progressReporter(log, existsSync(settings.EMBEDDING_MODEL) ? 'loading' : 'downloading'),
  }).catch((error: Error) => {
    throw new Error(
      `EMBEDDING_MODEL: ${error.message}. Without access to the model hub, point EMBEDDING_MODEL at a local model directory ` +
        '(`npm run test-model -- .test-model` writes a small colour-only one for trying the service).',
      { cause: error },
    );
  });
  log.info({ model: model.modelId, dimension: model.dimension, ms: Date.now() - started }, 'embedding model loaded');
  return model;
}

/** A download progress bar on a terminal, a log line per file and step otherwise. */
function progressReporter(log: Logger, verb: 'loading' | 'downloading') {
  const lastStep = new Map<string, number>();
  return (p: { file: string; loaded: number; total: number; status: string }) => {
    if (p.status !== 'progress' || !p.total) return;
    const percent = Math.floor((p.loaded / p.total) * 100);
    if (process.stderr.isTTY) {
      const bar = '#'.repeat(Math.floor(percent / 4)).padEnd(25, '.');
      process.stderr.write(`\r${p.file.padEnd(32)} [${bar}] ${percent}%${percent === 100 ? '\n' : ''}`);
    } else if (percent - (lastStep.get(p.file) ?? -10) >= 10) {
      lastStep.set(p.file, percent);
      log.info({ file: p.file, percent, bytes: p.total }, `${verb} model file`);
    }
  };
}
