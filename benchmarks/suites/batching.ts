import type { Services } from '../../src/services/index.js';
import { openServices } from '../lib/harness.js';
import { recordingModel, type BatchLog } from '../lib/recording-model.js';
import { loadPhotos, type Photo } from '../lib/photos.js';
import { ms, type Cell, type SuiteResult } from '../lib/report.js';
import { HIT_COLUMNS, K, queryTexts } from '../lib/search-probes.js';
import { burstLatencies, summarise, type LatencySummary } from '../lib/stats.js';
import type { Suite, SuiteContext } from '../lib/suite.js';
import { SyntheticEmbeddings, fillCatalog } from '../lib/synthetic.js';

const CONCURRENCY = [1, 8, 32, 64];
const DATASET_ROWS = 1000;

interface BurstResult {
  kind: 'text search' | 'upload';
  concurrency: number;
  rounds: number;
  /** Forward passes per round: 1 means the whole burst shared one. */
  modelCallsPerRound: number;
  /** Inputs per forward pass during these bursts. */
  batchSizes: number[];
  commitsPerRound: number;
  latency: LatencySummary;
  wallMsPerRound: number;
}

/**
 * Fires `rounds` bursts of `concurrency` simultaneous calls and counts the model's forward
 * passes (`batcher.modelCalls`) and the writer's commits they caused.
 */
async function measureBursts<T>(
  services: Services,
  kind: BurstResult['kind'],
  batches: number[],
  items: T[][],
  call: (item: T) => Promise<unknown>,
): Promise<BurstResult> {
  const batchesBefore = batches.length;
  const calls = services.batcher.modelCalls;
  const commits = services.writer.commitCount;
  const samples: number[] = [];
  let wallMs = 0;
  for (const burst of items) {
    const result = await burstLatencies(burst, call);
    samples.push(...result.samples);
    wallMs += result.wallMs;
  }
  const rounds = items.length;
  return {
    kind,
    concurrency: items[0]!.length,
    rounds,
    modelCallsPerRound: (services.batcher.modelCalls - calls) / rounds,
    batchSizes: batches.slice(batchesBefore),
    commitsPerRound: (services.writer.commitCount - commits) / rounds,
    latency: summarise(samples),
    wallMsPerRound: wallMs / rounds,
  };
}

/** Splits `items` into `rounds` consecutive groups of `size`, taken from `offset` on. */
function rounds<T>(items: T[], size: number, count: number, offset: number): T[][] {
  return Array.from({ length: count }, (_, r) => items.slice(offset + r * size, offset + (r + 1) * size));
}

async function textBursts(services: Services, batches: BatchLog, roundsPerLevel: number): Promise<BurstResult[]> {
  const results: BurstResult[] = [];
  for (const n of CONCURRENCY) {
    const texts = rounds(queryTexts(`batching ${n}`, n * roundsPerLevel), n, roundsPerLevel, 0);
    const search = (text: string) => services.search.byText(text, { limit: K, columns: HIT_COLUMNS });
    results.push(await measureBursts(services, 'text search', batches.text, texts, search));
  }
  return results;
}

async function uploadBursts(
  services: Services,
  batches: BatchLog,
  photos: Photo[],
  roundsPerLevel: number,
): Promise<BurstResult[]> {
  const results: BurstResult[] = [];
  let used = 0;
  for (const n of CONCURRENCY) {
    const bursts = rounds(photos, n, roundsPerLevel, used);
    used += n * roundsPerLevel;
    const upload = async (photo: Photo) => {
      const [outcome] = await services.uploads.uploadAll([{ bytes: photo.bytes, filename: photo.filename }]);
      if (!outcome?.created) throw new Error(`${photo.filename} was not created`);
    };
    results.push(await measureBursts(services, 'upload', batches.image, bursts, upload));
  }
  return results;
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const textRounds = ctx.quick ? 1 : 3;
  const uploadRounds = ctx.quick ? 1 : 2;
  const total = CONCURRENCY.reduce((sum, n) => sum + n, 0);
  const photos = await loadPhotos('cifar10-sample', total * uploadRounds + 1);
  const warmUp = photos.pop()!;
  const { model, batches } = recordingModel(ctx.model);
  const services = await openServices(model);
  try {
    await fillCatalog(services.writer, new SyntheticEmbeddings(services.batcher.dimension), DATASET_ROWS);
    await services.search.byText('warm-up', { limit: K, columns: HIT_COLUMNS });
    await services.uploads.uploadAll([{ bytes: warmUp.bytes, filename: warmUp.filename }]);
    ctx.log(`batching: text searches, ${CONCURRENCY.join('/')} at once`);
    const texts = await textBursts(services, batches, textRounds);
    ctx.log(`batching: uploads, ${CONCURRENCY.join('/')} at once`);
    const uploads = await uploadBursts(services, batches, photos, uploadRounds);
    return report([...texts, ...uploads]);
  } finally {
    await services.close();
  }
}

function row(r: BurstResult): Cell[] {
  return [
    r.kind,
    r.concurrency,
    r.rounds,
    r.modelCallsPerRound.toFixed(1),
    (r.batchSizes.reduce((sum, n) => sum + n, 0) / r.batchSizes.length).toFixed(1),
    Math.max(...r.batchSizes),
    r.kind === 'upload' ? r.commitsPerRound.toFixed(1) : '–',
    ms(r.latency.p50),
    ms(r.latency.p95),
    ms(r.latency.max),
    ms(r.wallMsPerRound),
    ((r.concurrency / r.wallMsPerRound) * 1000).toFixed(0),
  ];
}

function report(results: BurstResult[]): SuiteResult {
  return {
    suite: 'batching',
    title: 'Bursts of simultaneous requests: how many model forward passes (and commits) they cost, and their latency.',
    tables: [
      {
        title: 'Model calls and latency per burst',
        columns: [
          'workload',
          'concurrent',
          'bursts',
          'model calls / burst',
          'inputs / call (mean)',
          'largest call',
          'commits / burst',
          'p50 ms',
          'p95 ms',
          'max ms',
          'burst wall ms',
          'requests/s',
        ],
        rows: results.map(row),
      },
    ],
    notes: [
      'Requests go straight to the services (`SearchService.byText`, `UploadService.uploadAll` with one file each), ' +
        'all started in the same tick; no HTTP, so the figures isolate the batcher and the writer.',
      '"model calls" is the `EmbeddingBatcher.modelCalls` delta: without batching it would equal "concurrent". ' +
        'The batcher collects requests for 4 ms, waits for the previous pass of the same kind to finish, and caps ' +
        'a forward pass at 32 inputs, so 64 need at least 2. ' +
        '"inputs / call" and "largest call" come from a wrapper around the model that logs each forward pass.',
      "An upload reaches the batcher only after its probe (sharp decode, sha256) finishes in libuv's thread pool, " +
        'so in a burst uploads arrive spread out; because a batch waits for the running pass, they gather into a ' +
        'few large passes instead of one small pass each.',
      '"commits" is the `CatalogWriter.commitCount` delta: uploads that reach the writer together share one Lance commit.',
      `Text searches run over ${DATASET_ROWS} synthetic rows (flat scan), each text distinct so no cache answers. ` +
        'Uploads are distinct CIFAR-10 thumbnails (32×32 JPEG) from shared/data.',
      'With the designed test model a forward pass is cheap; with real CLIP each pass costs far more, and batching saves more.',
    ],
    data: { concurrency: CONCURRENCY, results },
  };
}

export const batchingSuite: Suite = { name: 'batching', run };
