/**
 * Storage benchmark: what appends, searches and cold opens cost on local disk, on an S3 store,
 * and on emulated (or, given credentials, real) R2 / S3 Standard / S3 Express.
 *
 * Usage: npm run bench:storage -- [--quick]
 * Writes benchmarks/results/storage.{json,md,png}; --quick writes storage.quick.{json,md,png} (gitignored)
 * instead, never the committed results. Targets and variables: benchmarks/storage/README.md
 */
import path from 'node:path';
import { describeEnvironment } from './lib/environment.js';
import { loadBenchModel } from './lib/model.js';
import { RESULTS_DIR, resultName } from './lib/paths.js';
import { startS3Proxy, type S3Proxy } from '../test/support/s3-proxy.js';
import { writeChart } from './storage/chart.js';
import { measureTarget, type RunContext, type TargetResult } from './storage/measure-target.js';
import { FULL_PLAN, QUICK_PLAN } from './storage/operations.js';
import { PhotoSupply } from './storage/photos.js';
import { buildResult, writeStorageResult } from './storage/report.js';
import { LOCAL, proxiedTargets, realTargets, type Skipped, type Target } from './storage/targets.js';

const log = (message: string) => process.stderr.write(`[bench:storage] ${message}\n`);

function parseArgs(argv: string[]): { quick: boolean } {
  const unknown = argv.filter((arg) => arg !== '--quick');
  if (unknown.length > 0) throw new Error(`usage: npm run bench:storage -- [--quick]\nunknown: ${unknown.join(' ')}`);
  return { quick: argv.includes('--quick') };
}

/** Local disk always; the S3 store (plain and emulated) when S3_ENDPOINT is set; real endpoints when configured. */
async function chooseTargets(env: NodeJS.ProcessEnv) {
  const skipped: Skipped[] = [];
  let proxy: S3Proxy | null = null;
  const targets: Target[] = [LOCAL];
  if (env.S3_ENDPOINT) {
    proxy = await startS3Proxy(env.S3_ENDPOINT);
    targets.push(...proxiedTargets(env, proxy.url));
  } else {
    const reason = 'S3_ENDPOINT is not set (start the local store: eval "$(scripts/s3-local.sh start)")';
    skipped.push({ target: 'S3 store and its emulated R2 / S3 Standard / S3 Express profiles', reason });
  }
  const real = realTargets(env);
  targets.push(...real.targets);
  skipped.push(...real.skipped);
  return { targets, skipped, proxy };
}

async function main(): Promise<void> {
  const { quick } = parseArgs(process.argv.slice(2));
  const plan = quick ? QUICK_PLAN : FULL_PLAN;
  const bench = await loadBenchModel();
  const { targets, skipped, proxy } = await chooseTargets(process.env);
  for (const s of skipped) log(`skipped ${s.target}: ${s.reason}`);
  const results: TargetResult[] = [];
  const started = performance.now();
  try {
    const ctx: RunContext = { model: bench.model, plan, photos: await PhotoSupply.load(), proxy, log };
    for (const target of targets) {
      log(`${target.name}: ${target.description}`);
      results.push(await measureTarget(ctx, target));
    }
    const env = await describeEnvironment(bench.description);
    const result = buildResult({
      plan,
      quick,
      results,
      skipped,
      photos: ctx.photos,
      wallMs: performance.now() - started,
    });
    const name = resultName('storage', quick);
    const files = await writeStorageResult(RESULTS_DIR, result, env, name);
    files.push(await writeChart(path.join(RESULTS_DIR, `${name}.png`), results, plan.batchSize));
    log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s: ${files.join(', ')}`);
  } finally {
    await proxy?.close();
    await bench.dispose();
  }
}

await main();
