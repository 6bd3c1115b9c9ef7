/**
 * CLIP text and image encoders on top of `@huggingface/transformers` (ONNX Runtime, CPU, fp32).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import {
  AutoProcessor,
  AutoTokenizer,
  CLIPTextModelWithProjection,
  CLIPVisionModelWithProjection,
  RawImage,
  env,
  type PreTrainedModel,
  type ProgressInfo,
  type Tensor,
} from '@huggingface/transformers';

/** A loaded CLIP model: both encoders share one embedding space. */
export interface ClipModel {
  /** What was loaded: the hub model id, or the absolute path of the local directory. */
  readonly modelId: string;
  /** Length of every embedding vector (the config's `projection_dim`). */
  readonly dimension: number;
  /** One forward pass for all texts; returns L2-normalised vectors, same order. */
  embedTexts(texts: string[]): Promise<Float32Array[]>;
  /** One forward pass for all images (encoded bytes: jpeg/png/webp/gif/avif/tiff); L2-normalised, same order. */
  embedImages(images: Uint8Array[]): Promise<Float32Array[]>;
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
  const localDir = existingDir(opts.model);
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

  async function embedTextsWith(texts: string[]): Promise<{ vectors: Float32Array[]; dimension: number }> {
    // CLIP's context is 77 tokens (model_max_length); longer texts are cut rather than rejected.
    const inputs = tokenizer(texts, { padding: true, truncation: true });
    const { text_embeds } = (await textModel(inputs)) as { text_embeds: Tensor };
    return { vectors: rowsNormalised(text_embeds), dimension: text_embeds.dims[1] ?? 0 };
  }

  return {
    modelId,
    dimension,
    async embedTexts(texts) {
      if (texts.length === 0) return [];
      return (await embedTextsWith(texts)).vectors;
    },
    async embedImages(images) {
      if (images.length === 0) return [];
      const decoded = await Promise.all(
        images.map((bytes, i) =>
          decodeImage(bytes).catch((err: unknown) => {
            // Batches mix requests, so say which input was bad.
            throw new Error(`image ${i + 1} of ${images.length} could not be decoded: ${String(err)}`, { cause: err });
          }),
        ),
      );
      const { pixel_values } = (await processor(decoded)) as { pixel_values: Tensor };
      const { image_embeds } = (await visionModel({ pixel_values })) as { image_embeds: Tensor };
      return rowsNormalised(image_embeds);
    },
  };
}

/** The absolute path when `model` names an existing directory, else undefined. */
function existingDir(model: string): string | undefined {
  const abs = path.resolve(model);
  try {
    return statSync(abs).isDirectory() ? abs : undefined;
  } catch {
    return undefined;
  }
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

/**
 * Decodes with sharp (gif/avif/tiff too, first frame of animations) to 8-bit sRGB.
 * EXIF orientation is applied so phone photos are seen upright; transparency is composited on
 * white, as the Python CLIP processor does, instead of exposing whatever colour hides under alpha=0.
 */
async function decodeImage(bytes: Uint8Array): Promise<RawImage> {
  const { data, info } = await sharp(bytes)
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const pixels = new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength);
  return new RawImage(pixels, info.width, info.height, info.channels);
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
