/**
 * History benchmark: what `versions { rowCount }` costs over a long history (issue 13 measured
 * 13 s and 200 MB for one request over 809 versions on Ceph, 62 s and 1.1 GB for five at once),
 * against a real service process, with its resident memory sampled throughout. On local disk,
 * and on the S3 store when S3_ENDPOINT is set (`eval "$(scripts/s3-local.sh env)"`).
 *
 * Usage: npm run bench:history
 * Writes benchmarks/results/history.{json,md}.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import * as lancedb from '@lancedb/lancedb';
import { TABLE_NAME } from '../src/services/catalog/catalog.js';
import { imageSchema, toLanceRow } from '../src/services/catalog/image-record.js';
import { syntheticRows, testModel, testModelDir } from '../test/support/harness.js';
import { s3Env } from '../test/support/s3.js';
import { startServiceProcess, type ServiceProcess } from '../test/support/service-process.js';
import { RESULTS_DIR } from './lib/paths.js';

const VERSIONS = 809;
const WHOLE = `{ versions(limit: ${VERSIONS}) { version operation rowCount } }`;
const DEFAULT_PAGE = '{ versions { version operation rowCount } }';

const log = (message: string) => process.stderr.write(`[bench:history] ${message}\n`);

/** VmRSS of a process, in MiB. */
function rss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

interface Target {
  name: string;
  env: Record<string, string>;
  storageOptions: Record<string, string>;
  cleanup: () => Promise<void>;
}

async function targets(): Promise<Target[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-history-'));
  const local: Target = {
    name: 'local disk',
    env: { DATA_URI: dir },
    storageOptions: {},
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  if (!process.env.S3_ENDPOINT) return [local];
  const env = s3Env(process.env.S3_ENDPOINT, `bench-history-${randomUUID()}`);
  const s3: Target = {
    name: `S3 store (${process.env.S3_ENDPOINT})`,
    env,
    storageOptions: {
      aws_endpoint: env.S3_ENDPOINT!,
      aws_access_key_id: env.AWS_ACCESS_KEY_ID!,
      aws_secret_access_key: env.AWS_SECRET_ACCESS_KEY!,
      region: env.AWS_REGION!,
      allow_http: 'true',
    },
    cleanup: () => removePrefix(env),
  };
  return [local, s3];
}

/** Deletes every object under the target's prefix: each run writes about 2,400. */
async function removePrefix(env: Record<string, string>): Promise<void> {
  const { bucket, prefix } = /^s3:\/\/(?<bucket>[^/]+)\/(?<prefix>.+)$/.exec(env.DATA_URI!)!.groups!;
  const client = new S3Client({ endpoint: env.S3_ENDPOINT, region: env.AWS_REGION, forcePathStyle: true });
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) break;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
  }
  client.destroy();
}

/** `VERSIONS` versions: an empty table, then one-row appends straight through Lance (fast). */
async function makeHistory(target: Target): Promise<void> {
  const dimension = (await testModel()).dimension;
  const connection = await lancedb.connect(target.env.DATA_URI!, { storageOptions: target.storageOptions });
  const table = await connection.createEmptyTable(TABLE_NAME, imageSchema(dimension));
  for (let i = 1; i < VERSIONS; i++) await table.add(syntheticRows(1, dimension, i).map(toLanceRow));
  connection.close();
}

interface Measure {
  target: string;
  case: string;
  ms: number;
  peakRssMiB: number;
  startRssMiB: number;
  answered: string;
}

/** Runs `requests` at once against `service`, sampling its RSS every 20 ms. */
async function measure(service: ServiceProcess, target: string, name: string, queries: string[]): Promise<Measure> {
  const startRss = rss(service.pid);
  let peak = startRss;
  const sampler = setInterval(() => (peak = Math.max(peak, rss(service.pid))), 20);
  const started = performance.now();
  const answers = await Promise.all(queries.map((q) => service.graphql<{ versions: unknown[] }>(q)));
  const ms = performance.now() - started;
  clearInterval(sampler);
  const answered = [
    ...new Set(answers.map((a) => a.errors?.[0]?.message ?? `${a.data!.versions.length} versions`)),
  ].join('; ');
  log(`${target}, ${name}: ${Math.round(ms)} ms, peak ${Math.round(peak)} MiB (${answered})`);
  return {
    target,
    case: name,
    ms: Math.round(ms),
    peakRssMiB: Math.round(peak),
    startRssMiB: Math.round(startRss),
    answered,
  };
}

const rows: Measure[] = [];
const model = await testModelDir();
for (const target of await targets()) {
  try {
    log(`${target.name}: making ${VERSIONS} versions`);
    await makeHistory(target);
    // Each case on a fresh process: no manifest read yet, as after a start; then the same again, warm.
    const cases: Array<[string, string[]]> = [
      ['the History page (newest 100)', [DEFAULT_PAGE]],
      [`all ${VERSIONS} versions`, [WHOLE]],
      [`all ${VERSIONS} versions, five requests at once`, Array<string>(5).fill(WHOLE)],
    ];
    for (const [name, queries] of cases) {
      const service = await startServiceProcess({ ...target.env, EMBEDDING_MODEL: model }, { readyWithinMs: 120_000 });
      try {
        // The process's first request pays for more than the history (Apollo's first operation).
        await service.graphql('{ dataset { version } }');
        rows.push(await measure(service, target.name, `${name}, cold`, queries));
        rows.push(await measure(service, target.name, `${name}, warm`, queries));
      } finally {
        await service.stop();
      }
    }
  } finally {
    await target.cleanup();
  }
}

const date = new Date().toISOString();
await writeFile(
  path.join(RESULTS_DIR, 'history.json'),
  JSON.stringify({ date, versions: VERSIONS, rows }, null, 2) + '\n',
);
const markdown = [
  '# History: `versions { version operation rowCount }` over a long history',
  '',
  `\`npm run bench:history\`, ${date}: ${VERSIONS} versions (one-row appends), one service process per case (designed ` +
    'test model), its RSS sampled every 20 ms. Each version is read from its manifest, once per process.',
  '',
  '| storage | case | ms | RSS before MiB | peak RSS MiB | answered |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.target} | ${r.case} | ${r.ms} | ${r.startRssMiB} | ${r.peakRssMiB} | ${r.answered} |`),
  '',
].join('\n');
await writeFile(path.join(RESULTS_DIR, 'history.md'), markdown);
process.stdout.write(markdown);
