import type { Settings } from '../../src/config.js';
import type { ClipModel } from '../../src/services/embedding/clip-model.js';
import type { Services } from '../../src/services/index.js';
import { openStorage } from '../../src/services/storage/storage.js';
import { HIT_COLUMNS, K, connectAndSearch, queryTexts } from '../lib/search-probes.js';
import { sequentialLatencies, summarise, timed } from '../lib/stats.js';
import type { OperationId, OperationResult } from './operations.js';
import { startOn } from './session.js';
import type { TrafficMeter } from './traffic.js';

/** Runs `fn` once per item under the meter and summarises it as operation `id`. */
async function series<T>(
  meter: TrafficMeter,
  id: OperationId,
  items: readonly T[],
  fn: (item: T) => Promise<unknown>,
): Promise<OperationResult> {
  const { value: samples, traffic } = await meter.measure(items.length, () => sequentialLatencies(items, fn));
  return { id, latency: summarise(samples), samples, traffic };
}

/**
 * `SearchService.byText` as a client calls it: every text new to both caches (embedding, Lance
 * flat scan, cache write), then the same texts again (result-cache hits). A few warm-up texts
 * first open the version's pinned handle and run the model once.
 */
export async function measureTextSearch(services: Services, meter: TrafficMeter, n: number, tag: string) {
  const search = (expectCached: boolean) => async (text: string) => {
    const outcome = await services.search.byText(text, { limit: K, columns: HIT_COLUMNS });
    if (outcome.cached !== expectCached) throw new Error(`"${text}": cached=${outcome.cached}`);
  };
  for (const text of queryTexts(`${tag} warm-up`, 3)) await search(false)(text);
  const texts = queryTexts(tag, n);
  const fresh = await series(meter, 'search-text', texts, search(false));
  const cached = await series(meter, 'search-cached', texts, search(true));
  return [fresh, cached];
}

/**
 * What a process that has never touched the dataset pays for its first answer: a new Lance
 * connection (its own caches), the table opened, one flat vector search. The first call is a
 * warm-up for one-off costs of the process (Lance's runtime), not of the dataset.
 */
export async function measureColdOpen(settings: Settings, meter: TrafficMeter, vector: Float32Array, n: number) {
  const { lanceUri, storageOptions } = openStorage(settings);
  const open = () => connectAndSearch(lanceUri, vector, storageOptions);
  await open();
  return series(meter, 'cold-open', range(n), open);
}

/**
 * The service's own start-up on an existing dataset (storage, catalog, the writer's id scan)
 * and its first text search; the model is already loaded, as it would be cached on disk.
 * Closing the services again is not timed.
 */
export async function measureColdStart(settings: Settings, model: ClipModel, meter: TrafficMeter, n: number) {
  const startAndSearch = async (text: string) => {
    const services = await startOn(settings, model);
    await services.search.byText(text, { limit: K, columns: HIT_COLUMNS }).catch(async (error: unknown) => {
      await services.close();
      throw error;
    });
    return services;
  };
  const texts = queryTexts('cold start', n + 1);
  await (await startAndSearch(texts.pop()!)).close();
  const samples: number[] = [];
  const { traffic } = await meter.measure(n, async () => {
    for (const text of texts) {
      const { value: services, ms } = await timed(() => startAndSearch(text));
      samples.push(ms);
      await services.close();
    }
  });
  return { id: 'cold-start', latency: summarise(samples), samples, traffic } satisfies OperationResult;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
