/**
 * CLIP text and image encoders on top of `@huggingface/transformers` (ONNX Runtime, CPU, fp32).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import {
  AutoProcessor,
  AutoTokenizer,
  CLIPTextModelWithProjection,
  CLIPVisionModelWithProjection,
  Tensor,
  env,
  type PreTrainedModel,
  type ProgressInfo,
} from '@huggingface/transformers';
import { imageInputFrom, type ImageInput } from '../images/image-decode.js';
import { identifyModel, type ModelIdentity } from './model-identity.js';

/** A loaded CLIP model: both encoders share one embedding space. */
export interface ClipModel {
  /** What was loaded: the hub model id, or the absolute path of the local directory. */
  readonly modelId: string;
  /** Length of every embedding vector (the config's `projection_dim`). */
  readonly dimension: number;
  /** Which model this is, as a dataset records it (model-identity.ts). */
  readonly identity: ModelIdentity;
  /** One forward pass for all texts; returns L2-normalised vectors, same order. */
  embedTexts(texts: string[]): Promise<Float32Array[]>;
  /** What the image encoder takes, from the model's preprocessor_config.json: decode images to this. */
  readonly imageInput: ImageInput;
  /**
   * One forward pass for all images, each already decoded to {@link imageInput} (image-decode.ts
   * `modelPixels`); L2-normalised, same order.
   */
  embedImages(pixels: Float32Array[]): Promise<Float32Array[]>;
}

/** Download/load progress of one model file. */
export interface ClipLoadProgress {
  file: string;
  loaded: number;
  total: number;
  status: string;
}

/** Options for {@link loadClip}. */
export interface LoadClipOptions {
  /** A Hugging Face model id (e.g. `Xenova/clip-vit-base-patch32`) or a path to a local model directory. */
  model: string;
  /** Where hub downloads are cached; a later start with the same directory loads offline. */
  cacheDir: string;
  /** Called for every file event while loading (download progress included). */
  onProgress?: (p: ClipLoadProgress) => void;
}

/**
 * Loads the tokenizer, image processor and both CLIP encoders.
 *
 * `opts.model` names a local directory when it exists on disk; that directory is then loaded
 * without any network access. Otherwise it is a hub id, downloaded into `opts.cacheDir` on first use.
 */
export async function loadClip(opts: LoadClipOptions): Promise<ClipModel> {
  const localDir = localModelDir(opts.model);
  // transformers.js treats anything matching `owner/name` (e.g. a relative "models/clip") as a hub id
  // and resolves it under env.localModelPath; an absolute path is never mistaken for one.
  const modelId = localDir ?? opts.model;
  const onProgress = opts.onProgress;
  // Passing cache_dir is not enough in transformers.js 4.3.1: AutoTokenizer first probes for
  // tokenizer_config.json with default options, i.e. in env.cacheDir and then on the hub, so an
  // offline restart from a filled cache would still try the network.
  env.cacheDir = opts.cacheDir;
  const common = {
    cache_dir: opts.cacheDir,
    // Per call rather than env.allowRemoteModels, so other loads in the process are not affected.
    local_files_only: localDir !== undefined,
    progress_callback: onProgress ? (p: ProgressInfo) => onProgress(toProgress(p)) : undefined,
  };
  const modelOpts = { ...common, dtype: 'fp32' as const, device: 'cpu' as const };

  const [tokenizer, processor, textModel, visionModel] = await Promise.all([
    AutoTokenizer.from_pretrained(modelId, common),
    AutoProcessor.from_pretrained(modelId, common),
    CLIPTextModelWithProjection.from_pretrained(modelId, modelOpts),
    CLIPVisionModelWithProjection.from_pretrained(modelId, modelOpts),
  ]).catch((err: unknown) => {
    // The library's own messages ("fetch failed") do not say which model or where it looked.
    const where = localDir ? `local directory ${localDir}` : `hub model ${modelId} (cache ${opts.cacheDir})`;
    throw new Error(`cannot load CLIP from ${where}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  });
  const dimension = projectionDim(textModel) ?? (await embedTextsWith([''])).dimension;
  // transformers.js's own processor resizes before it crops, enlarging the long side of a thin
  // image without bound; image-decode.ts does the same steps with libvips instead.
  const imageInput = imageInputOf(processor.image_processor?.config, modelId);

  async function embedTextsWith(texts: string[]): Promise<{ vectors: Float32Array[]; dimension: number }> {
    // CLIP's context is 77 tokens (model_max_length); longer texts are cut rather than rejected.
    const inputs = tokenizer(texts, { padding: true, truncation: true });
    const { text_embeds } = (await textModel(inputs)) as { text_embeds: Tensor };
    return { vectors: rowsNormalised(text_embeds), dimension: text_embeds.dims[1] ?? 0 };
  }

  const identity = await identifyModel(modelId, localDir ?? path.join(opts.cacheDir, modelId), dimension);

  return {
    modelId,
    dimension,
    identity,
    imageInput,
    async embedTexts(texts) {
      if (texts.length === 0) return [];
      return (await embedTextsWith(texts)).vectors;
    },
    async embedImages(pixels) {
      if (pixels.length === 0) return [];
      const { size } = imageInput;
      const each = 3 * size * size;
      const batch = new Float32Array(pixels.length * each);
      for (const [i, image] of pixels.entries()) {
        if (image.length !== each) throw new Error(`image ${i + 1} has ${image.length} values, expected ${each}`);
        batch.set(image, i * each);
      }
      const pixel_values = new Tensor('float32', batch, [pixels.length, 3, size, size]);
      const { image_embeds } = (await visionModel({ pixel_values })) as { image_embeds: Tensor };
      return rowsNormalised(image_embeds);
    },
  };
}

/**
 * The files transformers.js reads from a local CLIP directory (fp32 weights), checked before it
 * runs: a missing one otherwise surfaces as "Cannot read properties of undefined".
 */
export const LOCAL_MODEL_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'preprocessor_config.json',
  'onnx/text_model.onnx',
  'onnx/vision_model.onnx',
] as const;

/**
 * The absolute path when `model` names a local directory, else undefined (a hub id). A name that
 * can only be a path (absolute, `./`, `../`, `~`, or more than one `/`) must be a directory
 * holding every one of {@link LOCAL_MODEL_FILES}; the error names what is missing.
 */
function localModelDir(model: string): string | undefined {
  const abs = path.resolve(model);
  const isDir = statSync(abs, { throwIfNoEntry: false })?.isDirectory() ?? false;
  const pathLike = path.isAbsolute(model) || /^(\.\.?|~)([/\\]|$)/.test(model) || model.split('/').length > 2;
  if (!isDir && !pathLike) return undefined;
  if (!isDir) throw new Error(`${model} is not a directory (${abs}), and not a hub model id either`);
  const missing = LOCAL_MODEL_FILES.filter((file) => !statSync(path.join(abs, file), { throwIfNoEntry: false }));
  if (missing.length > 0) {
    throw new Error(
      `the local model directory ${abs} lacks ${missing.join(', ')} (a CLIP model directory needs ${LOCAL_MODEL_FILES.join(', ')})`,
    );
  }
  return abs;
}

function projectionDim(model: PreTrainedModel): number | undefined {
  const dim = (model.config as { projection_dim?: unknown }).projection_dim;
  return typeof dim === 'number' && dim > 0 ? dim : undefined;
}

function toProgress(p: ProgressInfo): ClipLoadProgress {
  const file = 'file' in p ? p.file : '';
  const loaded = 'loaded' in p ? p.loaded : 0;
  const total = 'total' in p ? p.total : 0;
  return { file, loaded, total, status: p.status };
}

function imageInputOf(config: unknown, modelId: string): ImageInput {
  try {
    return imageInputFrom((config ?? {}) as Record<string, unknown>);
  } catch (error) {
    throw new Error(`cannot use CLIP from ${modelId}: ${(error as Error).message}`, { cause: error });
  }
}

/** Splits a [batch, dim] tensor into L2-normalised rows (copies, so callers may keep them). */
function rowsNormalised(t: Tensor): Float32Array[] {
  const [batch = 0, dim = 0] = t.dims;
  const data = t.data as Float32Array;
  const rows: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const row = data.slice(b * dim, (b + 1) * dim);
    let sum = 0;
    for (const x of row) sum += x * x;
    const norm = Math.sqrt(sum) || 1; // a zero vector stays zero instead of turning into NaN
    for (let i = 0; i < dim; i++) row[i] = row[i]! / norm;
    rows.push(row);
  }
  return rows;
}
