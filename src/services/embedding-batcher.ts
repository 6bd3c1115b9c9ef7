import DataLoader from 'dataloader';
import type { ClipModel } from './clip-model.js';

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
  private readonly images: DataLoader<Uint8Array, Float32Array>;

  constructor(readonly model: ClipModel) {
    this.texts = this.loader((keys) => model.embedTexts(keys));
    this.images = this.loader((keys) => model.embedImages(keys));
  }

  /** Forward passes made so far. */
  get modelCalls(): number {
    return this.calls;
  }

  get dimension(): number {
    return this.model.dimension;
  }

  embedText(text: string): Promise<Float32Array> {
    return this.texts.load(text);
  }

  embedImage(bytes: Uint8Array): Promise<Float32Array> {
    return this.images.load(bytes);
  }

  private loader<K>(embed: (keys: K[]) => Promise<Float32Array[]>): DataLoader<K, Float32Array> {
    let previous: Promise<unknown> = Promise.resolve();
    return new DataLoader<K, Float32Array>(
      (keys) => {
        this.calls += 1;
        const pass = embed([...keys]);
        previous = pass.catch(() => undefined);
        return pass;
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
