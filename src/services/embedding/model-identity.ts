import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Which model made a dataset's vectors. Vectors of two models live in different spaces, so a
 * search with one over the other's vectors answers nonsense; the dataset records this, and the
 * caches key by it.
 */
export interface ModelIdentity {
  /** For people: the hub id, or the name in a local model's config.json, or its directory's name. */
  name: string;
  /** What the model computes: its files' sizes and sampled contents, and the vector length. */
  fingerprint: string;
  dimension: number;
}

/** Files whose bytes decide the vectors: the weights, and the configs that shape the input. */
const FINGERPRINTED = ['config.json', 'preprocessor_config.json', 'onnx/text_model.onnx', 'onnx/vision_model.onnx'];
/** Bytes read from each end and the middle of a large file: enough to tell weights apart, in milliseconds. */
const SAMPLE_BYTES = 1024 * 1024;

/**
 * The identity of the model in `dir` (a local directory, or the hub cache's copy of `modelId`).
 * Sizes and samples rather than whole-file hashes: hashing 600 MB of weights at every start
 * would cost seconds. A file that is not there counts as absent, so a hub model whose cached
 * copy cannot be found is known by its id.
 */
export async function identifyModel(modelId: string, dir: string, dimension: number): Promise<ModelIdentity> {
  const hash = createHash('sha256').update(`${dimension}\n`);
  for (const file of FINGERPRINTED) {
    hash.update(`${file}\n`);
    await sample(path.join(dir, file), hash).catch(() => hash.update('absent\n'));
  }
  const configName = await readFile(path.join(dir, 'config.json'), 'utf8').then(
    (text) => (JSON.parse(text) as { _name_or_path?: unknown })._name_or_path,
    () => undefined,
  );
  const local = path.isAbsolute(modelId);
  const name = !local ? modelId : typeof configName === 'string' && configName ? configName : path.basename(modelId);
  if (!local) hash.update(`hub:${modelId}\n`);
  return { name, fingerprint: hash.digest('hex').slice(0, 32), dimension };
}

async function sample(file: string, hash: ReturnType<typeof createHash>): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    hash.update(`${size}\n`);
    const starts = size <= 3 * SAMPLE_BYTES ? [0] : [0, Math.floor(size / 2), size - SAMPLE_BYTES];
    const length = Math.min(size, size <= 3 * SAMPLE_BYTES ? size : SAMPLE_BYTES);
    const buffer = Buffer.alloc(length);
    for (const start of starts) {
      const { bytesRead } = await handle.read(buffer, 0, length, start);
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}
