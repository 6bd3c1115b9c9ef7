import DataLoader from 'dataloader';
import type { ClipModel } from './clip-model.js';

/** How long the batcher waits for more requests before running the model. */
const BATCH_WINDOW_MS = 4;
const MAX_BATCH = 32;

/**
 * Shares model calls across concurrent requests: texts (and, separately, images) that arrive
 * within a few milliseconds run as one forward pass. Created once per process; DataLoader's own
 * memo is off because this object outlives requests (the text cache is a keyv store instead).
 */
export class EmbeddingBatcher {
  private calls = 0;
  private readonly texts: DataLoader<string, Float32Array>;
  private readonly images: DataLoader<Uint8Array, Float32Array>;

  constructor(readonly model: ClipModel) {
    const options = {
      cache: false,
      maxBatchSize: MAX_BATCH,
      batchScheduleFn: (run: () => void) => setTimeout(run, BATCH_WINDOW_MS),
    };
    this.texts = new DataLoader((keys) => this.run(() => model.embedTexts([...keys])), options);
    this.images = new DataLoader((keys) => this.run(() => model.embedImages([...keys])), options);
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

  private async run(call: () => Promise<Float32Array[]>): Promise<Array<Float32Array | Error>> {
    this.calls += 1;
    return call();
  }
}
