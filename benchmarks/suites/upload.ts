import { GraphQLClient } from '../lib/graphql-client.js';
import { openApp, type RunningApp } from '../lib/harness.js';
import { loadPhotos, type Photo } from '../lib/photos.js';
import { ms, type Cell, type SuiteResult } from '../lib/report.js';
import { concurrentLatencies, sequentialLatencies, summarise, type LatencySummary } from '../lib/stats.js';
import type { Suite, SuiteContext } from '../lib/suite.js';

const UPLOAD = 'mutation Upload($file: Upload!) { uploadImage(file: $file) { created image { id } } }';
/** The latest version: versions are numbered from 1 without gaps, so it counts them (`versions` is paged). */
const LATEST = '{ dataset { version } }';
const CONCURRENT_CLIENTS = 8;

interface UploadRun {
  clients: number;
  uploads: number;
  wallMs: number;
  perSource: Record<string, LatencySummary>;
  all: LatencySummary;
  commits: number;
  versionsCreated: number;
  /** Fragments in the dataset afterwards: one per commit until something compacts them. */
  fragments: number;
}

interface UploadResponse {
  uploadImage: { created: boolean; image: { id: string } };
}

/** Uploads one photo through the real HTTP server; a duplicate where a new image was expected is an error. */
async function upload(client: GraphQLClient, photo: Photo, expectCreated: boolean): Promise<void> {
  const result = await client.upload<UploadResponse>(UPLOAD, {
    bytes: photo.bytes,
    filename: photo.filename,
    contentType: photo.contentType,
  });
  if (result.uploadImage.created !== expectCreated) {
    throw new Error(`${photo.filename}: created=${result.uploadImage.created}, expected ${expectCreated}`);
  }
}

async function versionCount(client: GraphQLClient): Promise<number> {
  return (await client.request<{ dataset: { version: number } }>(LATEST)).dataset.version;
}

/**
 * Uploads every photo once with `clients` concurrent clients, on a fresh dataset. A warm-up
 * upload first takes the one-off costs (first inference, first commit) out of the figures.
 */
async function measureUploads(running: RunningApp, photos: Photo[], warmUp: Photo, clients: number) {
  const client = new GraphQLClient(running.url);
  await upload(client, warmUp, true);
  const versionsBefore = await versionCount(client);
  const commitsBefore = running.services.writer.commitCount;
  const { samples, wallMs } = await concurrentLatencies(photos, clients, (photo) => upload(client, photo, true));
  const run: UploadRun = {
    clients,
    uploads: photos.length,
    wallMs,
    perSource: latencyBySource(photos, samples),
    all: summarise(samples),
    commits: running.services.writer.commitCount - commitsBefore,
    versionsCreated: (await versionCount(client)) - versionsBefore,
    fragments: (await running.services.catalog.describe()).fragmentCount,
  };
  return { run, client };
}

function latencyBySource(photos: Photo[], samples: number[]): Record<string, LatencySummary> {
  const bySource = new Map<string, number[]>();
  photos.forEach((photo, i) => bySource.set(photo.source, [...(bySource.get(photo.source) ?? []), samples[i]!]));
  return Object.fromEntries([...bySource].map(([source, values]) => [source, summarise(values)]));
}

/** Re-uploads already stored photos: the dedupe path (hash, id lookup, no embedding, no commit). */
async function measureDuplicates(running: RunningApp, client: GraphQLClient, photos: Photo[]) {
  const versionsBefore = await versionCount(client);
  const samples = await sequentialLatencies(photos, (photo) => upload(client, photo, false));
  return { latency: summarise(samples), versionsCreated: (await versionCount(client)) - versionsBefore };
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const photos = [
    ...(await loadPhotos('everyday-photos', ctx.quick ? 10 : Infinity)),
    ...(await loadPhotos('cifar10-sample', ctx.quick ? 20 : 124)),
  ];
  const warmUp = photos.pop()!;
  const duplicates = photos.slice(0, ctx.quick ? 5 : 20);
  const runs: UploadRun[] = [];
  let dedupe: Awaited<ReturnType<typeof measureDuplicates>> | undefined;
  for (const clients of [1, CONCURRENT_CLIENTS]) {
    ctx.log(`upload: ${photos.length} photos, ${clients} client(s)`);
    const running = await openApp(ctx.model);
    try {
      const { run, client } = await measureUploads(running, photos, warmUp, clients);
      runs.push(run);
      if (clients === 1) dedupe = await measureDuplicates(running, client, duplicates);
    } finally {
      await running.close();
    }
  }
  return report(runs, dedupe!, photos);
}

type Duplicates = Awaited<ReturnType<typeof measureDuplicates>>;

const TABLE_COLUMNS = ['mode', 'photos', 'uploads', 'p50', 'p95', 'mean', 'uploads/s', 'commits', 'versions created'];

/** Per-source latency rows, then the run's totals (throughput, commits, versions, fragments). */
function runRows(r: UploadRun): Cell[][] {
  const mode = r.clients === 1 ? 'sequential' : `${r.clients} concurrent clients`;
  const latency = (s: LatencySummary) => [s.n, ms(s.p50), ms(s.p95), ms(s.mean)];
  const throughput = ((r.uploads / r.wallMs) * 1000).toFixed(1);
  return [
    ...Object.entries(r.perSource).map(([source, s]) => [mode, source, ...latency(s), '', '', '', '']),
    [mode, '**all**', ...latency(r.all), throughput, r.commits, r.versionsCreated, r.fragments],
  ];
}

function duplicateRow(d: Duplicates): Cell[] {
  const s = d.latency;
  return ['sequential, re-upload', 'duplicates', s.n, ms(s.p50), ms(s.p95), ms(s.mean), '', 0, d.versionsCreated, ''];
}

function report(runs: UploadRun[], duplicates: Duplicates, photos: Photo[]): SuiteResult {
  const everyday = photos.filter((p) => p.source === 'everyday-photos');
  const largest = Math.max(...everyday.map((p) => p.bytes.length));
  return {
    suite: 'upload',
    title: 'Upload latency through the real HTTP server: one multipart `uploadImage` request per file.',
    tables: [
      {
        title: 'Latency per upload (ms) and throughput',
        columns: [...TABLE_COLUMNS, 'fragments after'],
        rows: [...runs.flatMap(runRows), duplicateRow(duplicates)],
      },
    ],
    notes: [
      `Photos: ${everyday.length} everyday photos (JPEG and PNG, avg ${Math.round(avgBytes(everyday) / 1024)} KiB, ` +
        `largest ${Math.round(largest / 1024)} KiB) and ${photos.length - everyday.length} CIFAR-10 thumbnails ` +
        '(32×32 JPEG, ~1 KiB) from shared/data, all distinct; each mode starts from an empty dataset after one warm-up upload.',
      'Client and server share one Node process (and its 2 cores), over loopback HTTP.',
      '"commits" is `services.writer.commitCount`; "versions created" is the latest version\'s number after less before. ' +
        "Fewer commits than uploads is the writer's group commit: uploads that reach it while a commit runs share the next one. " +
        'Versions beyond commits are compactions of small fragments.',
      "Duplicates re-send stored bytes (after the sequential run): they are hashed and found in the writer's id set, so " +
        'nothing is embedded or committed, but the answer reads the stored row back whole (`ImageCatalog.get`), a ' +
        'filtered scan over every fragment, cheap once small fragments are compacted (`COMPACT_FRAGMENTS`; see growth).',
    ],
    data: { runs, duplicates },
  };
}

function avgBytes(photos: Photo[]): number {
  return photos.reduce((sum, p) => sum + p.bytes.length, 0) / Math.max(1, photos.length);
}

export const uploadSuite: Suite = { name: 'upload', run };
