import type { ClipModel } from '../../src/services/embedding/clip-model.js';

/** The size of every forward pass a model made, texts and images apart. */
export interface BatchLog {
  text: number[];
  image: number[];
}

/**
 * Wraps a model to log how many inputs each forward pass got, so a benchmark can show how the
 * batcher grouped requests, not only how many passes it made.
 */
export function recordingModel(model: ClipModel): { model: ClipModel; batches: BatchLog } {
  const batches: BatchLog = { text: [], image: [] };
  return {
    batches,
    model: {
      modelId: model.modelId,
      dimension: model.dimension,
      identity: model.identity,
      imageInput: model.imageInput,
      embedTexts: (texts) => {
        batches.text.push(texts.length);
        return model.embedTexts(texts);
      },
      embedImages: (images) => {
        batches.image.push(images.length);
        return model.embedImages(images);
      },
    },
  };
}
