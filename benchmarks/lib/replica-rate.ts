/**
 * The upload rate of 1, 2 and 4 replicas on one dataset (issue 15: four replicas sustain ≥ 2.5×
 * the rate of one, 0 lost, 0 duplicated). Each replica count gets a fresh prefilled dataset and
 * `clients` closed-loop clients per replica, so that the load offered grows with the replicas;
 * then the dataset itself, read past the proxy, must hold every acknowledged upload exactly once.
 */
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { multipart, tempDir, testModelDir } from '../../test/support/harness.js';
import { COLOURS, distinctImages } from '../../test/support/images.js';
import { startServiceProcess, type LogLine, type ServiceProcess } from '../../test/support/service-process.js';
import type { ProxyStats } from '../../test/support/s3-proxy.js';
import { openDataset, prefilledStore, relaySettings, type PrefilledStore, type StoreOptions } from './replica-store.js';
import { summarise, type LatencySummary } from './stats.js';

const UPLOAD = 'mutation ($file: Upload!) { uploadImage(file: $file) { created image { id } } }';
/** The replicas' defaults say when a commit is visible to the others; the check waits past it. */
const STALENESS_MS = 1000;

export interface RateOptions extends StoreOptions {
  replicaCounts: number[];
  clients: number;
  seconds: number;
  /** The replicas hand their appends to the lease holder (REPLICA_URL and REPLICA_TOKEN set). */
  relay: boolean;
}

/** One upload's answer, as a client saw it. */
interface Answer {
  replica: number;
  ms: number;
  id?: string;
  created?: boolean;
  /** The GraphQL error code (or HTTP status, or FETCH_FAILED) of an upload that failed. */
  code?: string;
}

export interface ReplicaFigures {
  acknowledged: number;
  uploadsPerSecond: number;
  latencyMs: LatencySummary;
  /** Append commits during the window, and the rows they held (the writer's group commit). */
  appendCommits: number;
  rowsPerCommit: number;
  /** Commits that lost a race to another process's incompatible commit and were tried again. */
  conflictRetries: number;
  /** Rows this replica handed to the lease holder, and rows it committed itself after a hand-off failed. */
  relayedRows: { holder: number; here: number };
  /** Other commits: folds (the upkeep) and deletes (the writer's duplicate repair). */
  otherCommits: Record<string, number>;
  /** CPU seconds the process used during the window ÷ the window. */
  cpuShare: number;
  /** Warnings and errors logged during the window, and the upkeep's steps, by message. */
  logged: Record<string, number>;
  /** The first few warnings and errors of the window, with their cause. */
  failures: string[];
  /** Seconds from one of this replica's append commits to its next (from its "image stored" lines). */
  commitIntervalS: LatencySummary;
}

interface BucketFigures {
  requests: number;
  perUpload: number;
  byMethod: Record<string, number>;
  byStatus: Record<number, number>;
  /** Object GETs by what they read: a dataset's manifests, transactions, data files or indices, images, the lease. */
  getsByKind: Record<string, number>;
  listings: number;
}

export interface RateRun {
  replicas: number;
  clients: number;
  wallMs: number;
  offered: number;
  acknowledged: number;
  uploadsPerSecond: number;
  latencyMs: LatencySummary;
  errorsByCode: Record<string, number>;
  /** Answered `created: false` although every image was new. */
  answeredAsStored: number;
  dataset: DatasetCheck;
  perReplica: ReplicaFigures[];
  /** Requests to the bucket during the window, through the proxy (null on local disk). */
  bucket: BucketFigures | null;
  /** Share of the machine's CPU time busy during the window (all processes); null off Linux. */
  machineBusyShare: number | null;
  loadAverage: { before: number[]; after: number[] };
}

interface DatasetCheck {
  /** Acknowledged uploads whose id is not in the latest version. */
  lost: number;
  /** Acknowledged uploads whose id has more than one row, and the rows past the first. */
  duplicated: number;
  extraRows: number;
  /** Rows of this run's uploads that no client saw acknowledged (a failed answer, stored all the same). */
  unacknowledgedRows: number;
}

/** Every replica count in turn, each on a fresh dataset. */
export async function measureRates(options: RateOptions, log: (line: string) => void): Promise<RateRun[]> {
  const runs: RateRun[] = [];
  for (const count of options.replicaCounts) {
    log(`${count} replica(s): prefilling ${options.rows} rows`);
    const store = await prefilledStore(options);
    try {
      runs.push(await measureOne(store, count, options, log));
    } finally {
      await store.drop();
    }
  }
  return runs;
}

async function measureOne(
  store: PrefilledStore,
  count: number,
  options: RateOptions,
  log: (line: string) => void,
): Promise<RateRun> {
  const model = await testModelDir();
  const replicas: ServiceProcess[] = [];
  const cacheDirs: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      cacheDirs.push(await tempDir('bench-replicas-cache-'));
      // At their defaults: the prefill built every index the upkeep would, so none is built here.
      replicas.push(
        await startServiceProcess({
          ...store.env,
          EMBEDDING_MODEL: model,
          OBJECT_CACHE_DIR: cacheDirs[i]!,
          ...(await relaySettings(options.relay)),
        }),
      );
    }
    // One upload each first: the model's first pass and the first commit are not the steady state.
    for (const [i, replica] of replicas.entries()) {
      const [bytes] = await distinctImages(1, COLOURS.gray, 900_000 + i);
      await replica.upload(bytes!, `warm-${i}.jpg`);
    }
    log(`${count} replica(s): ${options.clients} clients each for ${options.seconds} s`);
    return await window(store, replicas, options);
  } catch (error) {
    // What the replicas logged last says why one stopped answering.
    for (const [i, replica] of replicas.entries()) {
      const last = replica.logs.slice(-15).map((l) => JSON.stringify(l).slice(0, 600));
      log(`replica ${i}:\n${last.join('\n')}`);
    }
    throw error;
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    await Promise.all(cacheDirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** The measured window, and what the replicas, the bucket and the dataset say about it. */
async function window(store: PrefilledStore, replicas: ServiceProcess[], options: RateOptions): Promise<RateRun> {
  const before = await Promise.all(replicas.map((r) => scrape(r.url)));
  const logsFrom = replicas.map((r) => r.logs.length);
  const cpuBefore = await machineCpu();
  const loadBefore = loadAverage();
  store.proxy?.reset();
  const { answers, wallMs } = await offerUploads(replicas, options);
  const bucket = store.proxy ? bucketFigures(store.proxy.stats()) : null;
  const cpuAfter = await machineCpu();
  const after = await Promise.all(replicas.map((r) => scrape(r.url)));
  const acknowledged = answers.filter((a) => a.id !== undefined);
  const errorsByCode: Record<string, number> = {};
  for (const a of answers) if (a.code) errorsByCode[a.code] = (errorsByCode[a.code] ?? 0) + 1;
  await new Promise((resolve) => setTimeout(resolve, 2 * STALENESS_MS));
  return {
    replicas: replicas.length,
    clients: options.clients,
    wallMs,
    offered: answers.length,
    acknowledged: acknowledged.length,
    uploadsPerSecond: acknowledged.length / (wallMs / 1000),
    latencyMs: summarise(acknowledged.map((a) => a.ms)),
    errorsByCode,
    answeredAsStored: acknowledged.filter((a) => !a.created).length,
    dataset: await checkDataset(
      store.directEnv,
      acknowledged.map((a) => a.id!),
    ),
    perReplica: replicas.map((r, i) =>
      replicaFigures(
        answers.filter((a) => a.replica === i),
        before[i]!,
        after[i]!,
        r.logs.slice(logsFrom[i]),
        wallMs,
      ),
    ),
    bucket: bucket && { ...bucket, perUpload: bucket.requests / Math.max(1, acknowledged.length) },
    machineBusyShare: cpuBefore && cpuAfter ? busyShare(cpuBefore, cpuAfter) : null,
    loadAverage: { before: loadBefore, after: loadAverage() },
  };
}

/**
 * `clients` closed-loop clients per replica, each uploading distinct images one after the other
 * until the window is over; the uploads in flight then are answered and counted, and the wall time
 * runs to the last answer.
 */
async function offerUploads(
  replicas: ServiceProcess[],
  { clients, seconds }: RateOptions,
): Promise<{ answers: Answer[]; wallMs: number }> {
  const answers: Answer[] = [];
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const client = async (replica: number) => {
    while (performance.now() < deadline) {
      const n = next++;
      const [bytes] = await distinctImages(1, COLOURS.gray, replicas.length * 1_000_000 + n);
      const sent = performance.now();
      const answer = await uploadOnce(replicas[replica]!.url, bytes!, `rate-${n}.jpg`);
      answers.push({ replica, ms: performance.now() - sent, ...answer });
    }
  };
  await Promise.all(replicas.flatMap((_, i) => Array.from({ length: clients }, () => client(i))));
  return { answers, wallMs: performance.now() - started };
}

/** One GraphQL multipart upload; the id and whether it was created, or the error's code. */
async function uploadOnce(url: string, bytes: Uint8Array, name: string): Promise<Omit<Answer, 'replica' | 'ms'>> {
  try {
    const response = await fetch(`${url}/graphql`, {
      method: 'POST',
      body: multipart(UPLOAD, [{ bytes, name }]),
      headers: { 'apollo-require-preflight': 'true' },
    });
    const body = (await response.json()) as {
      data?: { uploadImage?: { created: boolean; image: { id: string } } } | null;
      errors?: Array<{ extensions?: { code?: string } }>;
    };
    const stored = body.data?.uploadImage;
    if (stored) return { id: stored.image.id, created: stored.created };
    return { code: body.errors?.[0]?.extensions?.code ?? `HTTP ${response.status}` };
  } catch {
    return { code: 'FETCH_FAILED' };
  }
}

/** Rows per acknowledged id in the latest version, counted past the proxy. */
async function checkDataset(env: Record<string, string>, ids: string[]): Promise<DatasetCheck> {
  const table = await openDataset(env);
  try {
    await table.checkoutLatest();
    const rows = new Map<string, number>();
    for (let i = 0; i < ids.length; i += 500) {
      const list = ids
        .slice(i, i + 500)
        .map((id) => `'${id}'`)
        .join(',');
      const found = await table.query().where(`id IN (${list})`).select(['id']).toArray();
      for (const row of found) rows.set(String(row.id), (rows.get(String(row.id)) ?? 0) + 1);
    }
    const counts = ids.map((id) => rows.get(id) ?? 0);
    const runRows = await table.countRows(`filename LIKE 'rate-%'`);
    const ackedRows = counts.reduce((sum, n) => sum + n, 0);
    return {
      lost: counts.filter((n) => n === 0).length,
      duplicated: counts.filter((n) => n > 1).length,
      extraRows: counts.reduce((sum, n) => sum + Math.max(0, n - 1), 0),
      unacknowledgedRows: runRows - ackedRows,
    };
  } finally {
    table.close();
  }
}

function replicaFigures(
  answers: Answer[],
  before: Scrape,
  after: Scrape,
  logs: LogLine[],
  wallMs: number,
): ReplicaFigures {
  const delta = (series: string) => (after.get(series) ?? 0) - (before.get(series) ?? 0);
  const acknowledged = answers.filter((a) => a.id !== undefined);
  const commits = (operation: string) => delta(`${PREFIX}commit_rows_count{operation="${operation}"}`);
  const appendCommits = commits('append');
  const logged: Record<string, number> = {};
  const failures: string[] = [];
  for (const line of logs) {
    if (line.level < 40 && !UPKEEP.test(line.msg)) continue;
    logged[line.msg] = (logged[line.msg] ?? 0) + 1;
    const err = line.err as { message?: string; cause?: { message?: string } } | undefined;
    const cause = [err?.message, err?.cause?.message].filter(Boolean).join(' ← ');
    if (line.level >= 40 && failures.length < 5) failures.push(`${line.msg}: ${cause}`.slice(0, 600));
  }
  return {
    acknowledged: acknowledged.length,
    uploadsPerSecond: acknowledged.length / (wallMs / 1000),
    latencyMs: summarise(acknowledged.map((a) => a.ms)),
    appendCommits,
    rowsPerCommit: delta(`${PREFIX}commit_rows_sum{operation="append"}`) / Math.max(1, appendCommits),
    conflictRetries: delta(`${PREFIX}commit_conflict_retries_total`),
    relayedRows: {
      holder: delta(`${PREFIX}relayed_append_rows_total{committed_by="holder"}`),
      here: delta(`${PREFIX}relayed_append_rows_total{committed_by="here"}`),
    },
    otherCommits: { fold: commits('fold'), delete: commits('delete') },
    cpuShare: delta('process_cpu_seconds_total') / (wallMs / 1000),
    logged,
    failures,
    commitIntervalS: summarise(commitIntervals(logs)),
  };
}

const PREFIX = 'lance_image_search_';
/** The upkeep's info lines worth counting beside the warnings. */
const UPKEEP = /fold|optimi[sz]ed|index (build|built)|lease/i;

/** A /metrics answer: each series (name with its labels, as written) and its value. */
type Scrape = Map<string, number>;

async function scrape(url: string): Promise<Scrape> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const series: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

/** The times of a replica's append commits, one per version its "image stored" lines name. */
function commitIntervals(logs: LogLine[]): number[] {
  const at = new Map<number, number>();
  for (const line of logs)
    if (line.msg === 'image stored' && line.created) at.set(Number(line.version), Number(line.time));
  const times = [...at.values()].sort((a, b) => a - b);
  return times.slice(1).map((t, i) => (t - times[i]!) / 1000);
}

function bucketFigures(stats: ProxyStats): Omit<BucketFigures, 'perUpload'> {
  const byMethod = Object.fromEntries(Object.entries(stats.byMethod).map(([method, m]) => [method, m.requests]));
  const getsByKind: Record<string, number> = {};
  for (const key of stats.objectGets) {
    const kind = GET_KINDS.find(([, pattern]) => pattern.test(key))?.[0] ?? 'other';
    getsByKind[kind] = (getsByKind[kind] ?? 0) + 1;
  }
  return { requests: stats.requests, byMethod, byStatus: stats.byStatus, getsByKind, listings: stats.lists };
}

const GET_KINDS: ReadonlyArray<readonly [string, RegExp]> = [
  ['manifest', /\.lance\/_versions\//],
  ['transaction', /\.lance\/_transactions\//],
  ['index', /\.lance\/_indices\//],
  ['deletion', /\.lance\/_deletions\//],
  ['data', /\.lance\/data\//],
  ['image', /\/(images|thumbnails)\//],
];

/** The machine's CPU time so far, busy and total, in clock ticks (the `cpu` line of /proc/stat). */
async function machineCpu(): Promise<{ busy: number; total: number } | null> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((sum, t) => sum + t, 0);
    const idle = ticks[3]! + (ticks[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}

function busyShare(before: { busy: number; total: number }, after: { busy: number; total: number }): number {
  return (after.busy - before.busy) / Math.max(1, after.total - before.total);
}

function loadAverage(): number[] {
  return os.loadavg().map((load) => Math.round(load * 100) / 100);
}
