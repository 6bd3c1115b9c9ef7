import type { ClipModel } from '../../src/services/embedding/clip-model.js';
import type { Services } from '../../src/services/index.js';
import { timed } from '../lib/stats.js';
import { SyntheticEmbeddings, fillCatalog } from '../lib/synthetic.js';
import type { S3Proxy } from '../../test/support/s3-proxy.js';
import { AppendProbe } from './appends.js';
import type { OperationResult, Plan } from './operations.js';
import type { PhotoSupply } from './photos.js';
import { measureColdOpen, measureColdStart, measureTextSearch } from './reads.js';
import { newPlace, startOn } from './session.js';
import type { Target } from './targets.js';
import { TrafficMeter } from './traffic.js';

export interface TargetResult {
  target: Omit<Target, 's3'> & { bucket?: string; prefix?: string; endpoint?: string };
  /** the synthetic fill: one Lance commit of `plan.rows` rows */
  fillMs: number;
  operations: OperationResult[];
  wallMs: number;
  /** set when the target failed part-way; `operations` then holds what was measured before */
  error?: string;
}

export interface RunContext {
  model: ClipModel;
  plan: Plan;
  photos: PhotoSupply;
  proxy: S3Proxy | null;
  log(message: string): void;
}

/**
 * Every operation on one target, on one dataset: filled with synthetic rows, then searched,
 * opened cold and started cold (all on one data fragment, so every target scans the same
 * layout), and only then appended to. The dataset is deleted afterwards, even on failure.
 */
export async function measureTarget(ctx: RunContext, target: Target): Promise<TargetResult> {
  ctx.proxy?.setLatency(target.profile ?? null);
  const meter = new TrafficMeter(target.proxied ? ctx.proxy : null);
  const place = await newPlace(target, slug(target.name));
  const result: TargetResult = { target: describe(target), fillMs: NaN, operations: [], wallMs: NaN };
  const started = performance.now();
  try {
    const services = await startOn(place.settings, ctx.model);
    try {
      await runOperations(ctx, target, services, meter, result);
    } finally {
      await services.close();
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    ctx.log(`${target.name}: FAILED: ${result.error}`);
  } finally {
    result.wallMs = performance.now() - started;
    ctx.proxy?.setLatency(null);
    await place.remove().catch((error: Error) => ctx.log(`${target.name}: clean-up failed: ${error.message}`));
  }
  return result;
}

async function runOperations(
  ctx: RunContext,
  target: Target,
  services: Services,
  meter: TrafficMeter,
  result: TargetResult,
): Promise<void> {
  const { plan } = ctx;
  const step = (what: string) => ctx.log(`${target.name}: ${what}`);
  const embeddings = new SyntheticEmbeddings(services.batcher.dimension);
  step(`filling ${plan.rows} synthetic rows`);
  result.fillMs = (await timed(() => fillCatalog(services.writer, embeddings, plan.rows))).ms;
  const record = (...ops: OperationResult[]) => void result.operations.push(...ops);
  step(`${plan.searches} text searches`);
  record(...(await measureTextSearch(services, meter, plan.searches, target.name)));
  step(`${plan.coldOpens} cold opens, ${plan.coldStarts} cold starts`);
  record(await measureColdOpen(services.settings, meter, embeddings.next(), plan.coldOpens));
  record(await measureColdStart(services.settings, ctx.model, meter, plan.coldStarts));
  const appends = new AppendProbe(services, ctx.photos, meter);
  await appends.warmUp();
  step(`${plan.appendOne} single appends, ${plan.appendBatches} batches of ${plan.batchSize}`);
  record(...(await appends.measure('append-1', 1, plan.appendOne)));
  record(...(await appends.measure('append-batch', plan.batchSize, plan.appendBatches)));
}

/** A path segment from a target name: each target's dataset is easy to tell apart in store logs. */
function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** The target without credentials, for the result file. */
function describe(target: Target): TargetResult['target'] {
  const { s3, ...rest } = target;
  return s3 ? { ...rest, bucket: s3.bucket, prefix: s3.prefix, endpoint: s3.endpoint } : rest;
}
