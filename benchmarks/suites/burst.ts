import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DATASET_DIR } from '../../src/services/catalog/catalog.js';
import { testModelDir } from '../../test/support/harness.js';
import { COLOURS, distinctImages } from '../../test/support/images.js';
import { startServiceProcess, type ServiceProcess } from '../../test/support/service-process.js';
import { linkLatestVersion, openKeptDataset } from '../lib/kept-dataset.js';
import { upkeepSteps } from '../lib/upkeep-steps.js';
import type { Cell } from '../lib/report.js';
import { concurrentLatencies, sequentialLatencies, summarise, type LatencySummary } from '../lib/stats.js';
import { SyntheticEmbeddings } from '../lib/synthetic.js';
import type { Suite, SuiteContext } from '../lib/suite.js';
import { QUIET, buildDataset } from './scale.js';

const SIMILAR = 'query ($id: ID!) { similarImages(id: $id, limit: 10) { cached hits { distance image { id } } } }';
/**
 * Clients uploading at once during the burst: one, back to back, so that the burst differs from
 * the quiet uploads by what the upkeep and the search beside it cost, not by a second upload
 * queueing for this 2-core machine's cores (with two: upload p95 2.50× and search p95 3.06× quiet
 * at a million rows, at twice the rate).
 */
const UPLOAD_CLIENTS = 1;
const GIB = 1024 ** 3;

/**
 * A burst of single uploads into a big dataset while searches go on (issue 15): the service as its
 * own process at its defaults (upkeep on), on a copy of a dataset kept by the scale suite
 * (`--data DIR`, hard links to its latest version, so the kept one is not changed). Measures
 * upload and search latency quiet and during the burst, the process's RSS throughout, and how
 * many rows each upkeep step rewrote (from the manifests of the versions the burst made).
 */
export const burstSuite: Suite = {
  name: 'burst',
  skip: (ctx) => (ctx.dataDir ? undefined : 'needs --data DIR: a dataset kept by the scale suite (--rows N)'),
  async run(ctx) {
    const rows = ctx.quick ? 20_000 : (ctx.rows ?? 1_000_000);
    const plan = ctx.quick
      ? { quietSearches: 40, quietUploads: 20, burst: 100 }
      : { quietSearches: 200, quietUploads: 100, burst: 1000 };
    ctx.log('building the service (it runs as deployed: node dist/index.js)');
    execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
    const { source, ids } = await keptDataset(ctx, rows, plan.quietSearches * 8);
    const dir = await mkdtemp(path.join(tmpdir(), 'bench-burst-'));
    try {
      ctx.log('linking the latest version of the kept dataset');
      const startVersion = await linkLatestVersion(source, path.join(dir, DATASET_DIR));
      ctx.log('starting the service at its defaults');
      const service = await startServiceProcess(
        { DATA_URI: dir, EMBEDDING_MODEL: await testModelDir(), LOG_LEVEL: 'info' },
        { built: true, readyWithinMs: 600_000 },
      );
      const rss = sampleRss(service.pid);
      try {
        const images = await distinctImages(plan.quietUploads + plan.burst, COLOURS.cyan, 50_000);
        const search = (id: string) => similar(service, id);
        const upload = (bytes: Buffer) => service.upload(bytes, 'burst.png');
        ctx.log('quiet: searches, then single uploads one at a time');
        const quietSearch = await sequentialLatencies(ids.splice(0, plan.quietSearches), search);
        const quietUpload = await sequentialLatencies(images.splice(0, plan.quietUploads), upload);
        ctx.log(`burst: ${plan.burst} uploads from ${UPLOAD_CLIENTS} clients, searches beside them`);
        const during: number[] = [];
        let burstDone = false;
        const searching = (async () => {
          while (!burstDone && ids.length > 0) {
            const started = performance.now();
            await search(ids.shift()!);
            during.push(performance.now() - started);
          }
        })();
        const cpuBefore = await threadCpu(service.pid);
        const burst = await concurrentLatencies(images, UPLOAD_CLIENTS, upload);
        const cpu = cpuDuring(cpuBefore, await threadCpu(service.pid));
        burstDone = true;
        await searching;
        // Up to 1,000 distinct searches in all, as the RSS target counts them.
        const rest = ids.splice(0, Math.max(0, 1000 - plan.quietSearches - during.length));
        const after = await sequentialLatencies(rest, search);
        const figures = {
          rows,
          startVersion,
          quiet: { search: summarise(quietSearch), upload: summarise(quietUpload) },
          burst: {
            uploads: images.length,
            clients: UPLOAD_CLIENTS,
            wallMs: burst.wallMs,
            upload: summarise(burst.samples),
            search: summarise(during),
            cpu,
          },
          searches: quietSearch.length + during.length + after.length,
          uploads: quietUpload.length + burst.samples.length,
          rss: { afterLoadBytes: rss.first(), maxBytes: rss.max(), endBytes: rss.last() },
          upkeep: await upkeepSteps(path.join(dir, DATASET_DIR), startVersion),
        };
        return report(figures);
      } finally {
        rss.stop();
        await service.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

/** The kept dataset (built first when missing), with the indices the upkeep builds; ids to search by. */
async function keptDataset(ctx: SuiteContext, rows: number, searches: number) {
  const kept = await openKeptDataset(ctx.model, ctx.dataDir!, rows, QUIET);
  try {
    if (kept.fresh) {
      ctx.log(`no kept dataset of ${rows} rows: building it`);
      await buildDataset(kept.services, new SyntheticEmbeddings(ctx.model.dimension, { seed: 7 }), rows, ctx);
    }
    // Spread over the table, so that each search by image is a new one.
    const step = Math.floor(rows / searches);
    const ids: string[] = [];
    for (let offset = 0; ids.length < searches && offset < rows; offset += step) {
      ids.push(...(await kept.services.catalog.list(1, offset, ['id'])).map((r) => r.id!));
    }
    return { source: path.join(kept.dir, DATASET_DIR), ids };
  } finally {
    await kept.services.close();
  }
}

async function similar(service: ServiceProcess, id: string): Promise<void> {
  const answer = await service.graphql<{ similarImages: { cached: boolean } }>(SIMILAR, { id });
  if (answer.errors) throw new Error(`similarImages(${id}): ${JSON.stringify(answer.errors)}`);
  if (answer.data?.similarImages.cached) throw new Error(`similarImages(${id}) came from the cache`);
}

/** CPU seconds each thread of the process has used, summed by thread name, from /proc. */
async function threadCpu(pid: number): Promise<Map<string, number>> {
  const ticksPerSecond = 100; // USER_HZ on Linux
  const byName = new Map<string, number>();
  for (const task of await readdir(`/proc/${pid}/task`)) {
    const stat = await readFile(`/proc/${pid}/task/${task}/stat`, 'utf8').catch(() => null);
    if (!stat) continue; // the thread ended
    // pid (comm) state ...: the name may hold spaces, the fields after it do not.
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond; // utime, stime
    byName.set(name, (byName.get(name) ?? 0) + seconds);
  }
  return byName;
}

/** CPU seconds by thread name between two {@link threadCpu} samples, busiest first. */
function cpuDuring(before: Map<string, number>, after: Map<string, number>): Array<[string, number]> {
  return [...after]
    .map(([name, seconds]): [string, number] => [name, seconds - (before.get(name) ?? 0)])
    .filter(([, seconds]) => seconds > 0)
    .sort((a, b) => b[1] - a[1]);
}

/** The process's resident memory every 250 ms, from /proc. */
function sampleRss(pid: number) {
  const samples: number[] = [];
  const read = async () => {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
    if (Number.isFinite(kb)) samples.push(kb * 1024);
  };
  void read();
  const timer = setInterval(() => void read(), 250);
  return {
    first: () => samples[0] ?? NaN,
    max: () => Math.max(...samples),
    last: () => samples.at(-1) ?? NaN,
    stop: () => clearInterval(timer),
  };
}

interface Figures {
  rows: number;
  startVersion: number;
  quiet: { search: LatencySummary; upload: LatencySummary };
  burst: {
    uploads: number;
    clients: number;
    wallMs: number;
    upload: LatencySummary;
    search: LatencySummary;
    cpu: Array<[string, number]>;
  };
  searches: number;
  uploads: number;
  rss: { afterLoadBytes: number; maxBytes: number; endBytes: number };
  upkeep: Awaited<ReturnType<typeof upkeepSteps>>;
}

function report(f: Figures) {
  const ms = (s: LatencySummary) => `${s.p50.toFixed(1)} / ${s.p95.toFixed(1)}`;
  const ratio = (burst: number, quiet: number) => burst / quiet;
  const uploadP95 = ratio(f.burst.upload.p95, f.quiet.upload.p95);
  const searchP95 = ratio(f.burst.search.p95, f.quiet.search.p95);
  const gib = (bytes: number) => `${(bytes / GIB).toFixed(2)} GiB`;
  const verdict = (met: boolean) => (met ? 'met' : '**not met**');
  const rows: Cell[][] = [
    ['upload p95, burst ÷ quiet ≤ 2×', `${uploadP95.toFixed(2)}×`, verdict(uploadP95 <= 2)],
    ['search p95, burst ÷ quiet ≤ 2×', `${searchP95.toFixed(2)}×`, verdict(searchP95 <= 2)],
    [
      'no upkeep step rewrites more than 10% of the table',
      `largest: ${f.upkeep.largestRewriteRows} rows, ${(100 * f.upkeep.largestRewriteShare).toFixed(2)}%`,
      verdict(f.upkeep.largestRewriteShare <= 0.1),
    ],
    [
      `RSS ≤ 3 GiB after ${f.searches} distinct searches and ${f.uploads} uploads`,
      `${gib(f.rss.endBytes)} (max ${gib(f.rss.maxBytes)})`,
      verdict(f.rss.maxBytes <= 3 * GIB),
    ],
  ];
  return {
    suite: 'burst',
    title: `A burst of ${f.burst.uploads} single uploads into ${f.rows.toLocaleString('en')} rows while searches go on (issue 15)`,
    notes: [
      'The service as its own process (`node dist/index.js`, designed test model) at its defaults, upkeep on, on hard links to the latest version of the dataset the scale suite keeps under --data (its synthetic rows, with the id, filter and vector indices).',
      `Searches: GraphQL similarImages by id over HTTP, limit 10, each id new (never from the cache). Quiet uploads: one at a time. The burst: ${f.burst.clients} clients uploading distinct PNGs at once, while one client searches.`,
      'Rows rewritten per upkeep step: from the manifests of the versions the run made, the rows of each fragment a version holds that the one before did not; a fold or the upkeep’s compaction is Lance’s `update`, Lance’s own compaction its `rewrite`.',
      'RSS: VmRSS of the service process every 250 ms.',
    ],
    tables: [
      {
        title: 'Latency, ms (p50 / p95)',
        columns: ['', 'quiet', 'during the burst'],
        rows: [
          ['search (similarImages)', ms(f.quiet.search), ms(f.burst.search)],
          ['upload (single image)', ms(f.quiet.upload), ms(f.burst.upload)],
        ],
      },
      {
        title: 'Versions the run made',
        columns: ['versions', 'by Lance operation', 'upkeep rewrites', 'largest rewrite', 'burst wall time'],
        rows: [
          [
            f.upkeep.versions,
            Object.entries(f.upkeep.byOperation)
              .map(([op, n]) => `${op} ${n}`)
              .join(', '),
            f.upkeep.rewrites,
            `${f.upkeep.largestRewriteRows} rows`,
            `${(f.burst.wallMs / 1000).toFixed(1)} s`,
          ],
        ],
      },
      {
        title: 'Memory (RSS of the service process)',
        columns: ['after start-up', 'largest', 'at the end'],
        rows: [[gib(f.rss.afterLoadBytes), gib(f.rss.maxBytes), gib(f.rss.endBytes)]],
      },
      {
        title: `CPU of the service during the burst, by thread (cores: seconds ÷ the burst's ${(f.burst.wallMs / 1000).toFixed(1)} s)`,
        columns: ['threads', 'CPU seconds', 'cores'],
        rows: f.burst.cpu.map(([name, seconds]) => [
          name,
          seconds.toFixed(1),
          (seconds / (f.burst.wallMs / 1000)).toFixed(2),
        ]),
      },
      { title: 'Targets', columns: ['target', 'figure', 'verdict'], rows },
    ],
    data: f,
  };
}
