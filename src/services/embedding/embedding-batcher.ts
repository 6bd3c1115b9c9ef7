import DataLoader from 'dataloader';
import type { ClipModel } from './clip-model.js';
import type { ImageInput } from '../images/image-decode.js';
import type { ModelInput, ServiceMetrics } from '../metrics.js';

/** How long the batcher waits for more requests before running the model. */
const BATCH_WINDOW_MS = 4;
const MAX_BATCH = 32;

/**
 * Shares model calls across concurrent requests: texts (and, separately, images) that arrive
 * within a few milliseconds run as one forward pass. A batch also waits for the previous pass of
 * its kind to finish, so under load requests pile up into full batches instead of many small
 * passes fighting for the same cores. Created once per process; DataLoader's own memo is off
 * because this object outlives requests (the text cache is a keyv store instead).
 */
export class EmbeddingBatcher {
  private calls = 0;
  private readonly texts: DataLoader<string, Float32Array>;
  private readonly images: DataLoader<Float32Array, Float32Array>;

  constructor(
    readonly model: ClipModel,
    private readonly metrics?: ServiceMetrics,
  ) {
    this.texts = this.loader('text', (keys) => model.embedTexts(keys));
    this.images = this.loader('image', (keys) => model.embedImages(keys));
  }

  /** Forward passes made so far (the batching benchmark reports them). */
  get modelCalls(): number {
    return this.calls;
  }

  get dimension(): number {
    return this.model.dimension;
  }

  /** What {@link embedImage} takes: images decoded to the model's input square. */
  get imageInput(): ImageInput {
    return this.model.imageInput;
  }

  embedText(text: string): Promise<Float32Array> {
    return this.texts.load(text);
  }

  /** `pixels`: one image decoded to {@link imageInput} (image-decode.ts `modelPixels`). */
  embedImage(pixels: Float32Array): Promise<Float32Array> {
    return this.images.load(pixels);
  }

  private loader<K>(input: ModelInput, embed: (keys: K[]) => Promise<Float32Array[]>): DataLoader<K, Float32Array> {
    let previous: Promise<unknown> = Promise.resolve();
    const pass = async (keys: K[]) => {
      this.calls += 1;
      const done = this.metrics?.modelPass(input, keys.length);
      try {
        return await embed(keys);
      } finally {
        done?.();
      }
    };
    return new DataLoader<K, Float32Array>(
      (keys) => {
        const batch = pass([...keys]).catch((error: unknown) =>
          keys.length > 1 ? oneByOne(keys, pass) : Promise.reject(error),
        );
        previous = batch.catch(() => undefined);
        return batch;
      },
      {
        cache: false,
        maxBatchSize: MAX_BATCH,
        batchScheduleFn: (dispatch) => {
          const running = previous;
          setTimeout(() => void running.then(dispatch), BATCH_WINDOW_MS);
        },
      },
    );
  }
}

/**
 * A batch mixes requests, so when its pass fails, each input runs alone and only the ones that
 * fail alone get an error; the others' requests go on. One after another, as a batch would.
 */
async function oneByOne<K>(
  keys: readonly K[],
  pass: (keys: K[]) => Promise<Float32Array[]>,
): Promise<Array<Float32Array | Error>> {
  const results: Array<Float32Array | Error> = [];
  for (const key of keys) {
    results.push(
      await pass([key]).then(
        ([vector]) => vector ?? new Error('the model returned no vector'),
        (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
      ),
    );
  }
  return results;
}
