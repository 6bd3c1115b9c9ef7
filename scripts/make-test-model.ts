/**
 * Writes a tiny, CLIP-compatible model directory that `@huggingface/transformers` loads offline
 * exactly like `Xenova/clip-vit-base-patch32` (same tokenizer, processor and config; hand-built ONNX
 * graphs in `onnx/text_model.onnx` and `onnx/vision_model.onnx`, the fp32 file names).
 *
 * The weights are designed, not random: colour words in a text and the average colour of an image
 * map to the same direction, so "a red car" is nearest to a mostly red image. That makes search
 * ranking testable without the real 600 MB of CLIP weights, which cannot be downloaded here.
 *
 * Usage: `npx tsx scripts/make-test-model.ts <dir>` (`npm run test-model -- <dir>`)
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync, realpathSync } from 'node:fs';
import { AutoTokenizer } from '@huggingface/transformers';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

const { onnx } = onnxProto;

/** Output size of both encoders; 512 matches the real ViT-B/32 so stored vectors have a realistic size. */
export const PROJECTION_DIM = 512;

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SHARED_MODEL = 'shared/models/Xenova/clip-vit-base-patch32';

/**
 * Where the real tokenizer/processor/config are read from: `$CLIP_TOKENIZER_DIR`, else a `shared/`
 * folder inside the repo, else the one beside it (the layout of the development machines).
 */
export const DEFAULT_SOURCE_DIR =
  process.env.CLIP_TOKENIZER_DIR ??
  [path.join(REPO_ROOT, SHARED_MODEL), path.join(REPO_ROOT, '..', SHARED_MODEL)].find((dir) =>
    existsSync(path.join(dir, 'tokenizer.json')),
  ) ??
  path.join(REPO_ROOT, '..', SHARED_MODEL);

/** Colours the test model knows: prototype RGB (0..255) and the words that name it. */
export const TEST_MODEL_COLOURS = [
  { name: 'red', rgb: [255, 0, 0], words: ['red'] },
  // Pure (0,255,0) and CSS green (0,128,0) must both land here rather than on black or yellow.
  { name: 'green', rgb: [0, 180, 0], words: ['green'] },
  { name: 'blue', rgb: [0, 0, 255], words: ['blue'] },
  { name: 'yellow', rgb: [255, 255, 0], words: ['yellow'] },
  { name: 'cyan', rgb: [0, 255, 255], words: ['cyan'] },
  { name: 'magenta', rgb: [255, 0, 255], words: ['magenta'] },
  { name: 'orange', rgb: [255, 150, 0], words: ['orange'] },
  { name: 'purple', rgb: [128, 0, 128], words: ['purple'] },
  { name: 'white', rgb: [255, 255, 255], words: ['white'] },
  { name: 'black', rgb: [0, 0, 0], words: ['black'] },
  { name: 'gray', rgb: [128, 128, 128], words: ['gray', 'grey'] },
] as const;

const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.json',
  'merges.txt',
  'special_tokens_map.json',
  'preprocessor_config.json',
];

// Dimension layout: [colours | generic | image rgb (3) | text hash ...].
const NUM_COLOURS = TEST_MODEL_COLOURS.length;
const GENERIC_DIM = NUM_COLOURS;
const RGB_DIM = GENERIC_DIM + 1;
const HASH_DIM = RGB_DIM + 3;
const HASH_BUCKETS = 256;
/** Sharpness of the colour match: exp(-K·d²), d = RGB distance in [0,1] units. */
const COLOUR_K = 30;

export interface WriteTestModelOptions {
  /** Directory holding the real CLIP tokenizer, preprocessor and config files. */
  sourceDir?: string;
  /** Embedding size (defaults to {@link PROJECTION_DIM}). */
  dimension?: number;
}

/** Writes the test model into `dir` (created if missing) and returns the directory. */
export async function writeTestModel(dir: string, opts: WriteTestModelOptions = {}): Promise<string> {
  const sourceDir = opts.sourceDir ?? DEFAULT_SOURCE_DIR;
  const dim = opts.dimension ?? PROJECTION_DIM;
  if (dim < HASH_DIM + 8) throw new Error(`dimension must be at least ${HASH_DIM + 8}`);

  if (!existsSync(path.join(sourceDir, 'tokenizer.json'))) {
    throw new Error(
      `no CLIP tokenizer files in ${sourceDir}; set CLIP_TOKENIZER_DIR to a copy of Xenova/clip-vit-base-patch32`,
    );
  }
  const config = JSON.parse(await readFile(path.join(sourceDir, 'config.json'), 'utf8'));
  const preprocessor = JSON.parse(await readFile(path.join(sourceDir, 'preprocessor_config.json'), 'utf8'));
  // The real BPE decides how a colour word splits (cyan -> "cy" + "an"); its first piece carries the colour.
  const tokenizer = await AutoTokenizer.from_pretrained(sourceDir, { local_files_only: true });
  const specialIds = tokenizer.encode(''); // <|startoftext|>, <|endoftext|> (= the pad token)
  const colourTokens = TEST_MODEL_COLOURS.map((c) =>
    c.words.map((w) => {
      const [, first] = tokenizer.encode(w, { add_special_tokens: true });
      if (first === undefined || specialIds.includes(first)) throw new Error(`cannot tokenize ${w}`);
      return first;
    }),
  );

  await mkdir(path.join(dir, 'onnx'), { recursive: true });
  // Read + write rather than copyFile: the source is read-only and copyFile would keep that mode,
  // making a second run into the same directory fail.
  for (const file of TOKENIZER_FILES) await writeFile(path.join(dir, file), await readFile(path.join(sourceDir, file)));

  // transformers.js reads projection_dim from the top level; keep the sub-configs consistent with it.
  config._name_or_path = 'lance-image-search/clip-colour-test-model';
  config.projection_dim = dim;
  config.text_config.projection_dim = dim;
  config.vision_config.projection_dim = dim;
  await writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2) + '\n');

  const vocabSize: number = config.text_config.vocab_size;
  await writeFile(path.join(dir, 'onnx', 'text_model.onnx'), buildTextModel(colourTokens, specialIds, vocabSize, dim));
  await writeFile(path.join(dir, 'onnx', 'vision_model.onnx'), buildVisionModel(preprocessor, dim));
  await writeFile(
    path.join(dir, 'README.md'),
    '# Colour test model (not CLIP)\n\nGenerated by `scripts/make-test-model.ts`. Colour words in texts and the ' +
      'average colour of images share embedding directions; nothing else is meaningful.\n',
  );
  return dir;
}

/**
 * input_ids → token-class map → small embedding table, summed over unmasked positions.
 * The two-level lookup keeps the file small (a [vocab, 512] table would be 100 MB).
 */
function buildTextModel(colourTokens: number[][], specialIds: number[], vocabSize: number, dim: number): Uint8Array {
  const rows = 1 + NUM_COLOURS + HASH_BUCKETS; // row 0: special tokens contribute nothing
  const table = new Float32Array(rows * dim);
  TEST_MODEL_COLOURS.forEach((_, c) => (table[(1 + c) * dim + c] = 1));
  const rand = mulberry32(12345);
  for (let b = 0; b < HASH_BUCKETS; b++) {
    const row = (1 + NUM_COLOURS + b) * dim;
    table[row + GENERIC_DIM] = 0.1;
    // A weak per-bucket direction so different colourless texts still differ.
    const v = Array.from({ length: dim - HASH_DIM }, () => rand() - 0.5);
    const norm = Math.hypot(...v);
    v.forEach((x, i) => (table[row + HASH_DIM + i] = (0.05 * x) / norm));
  }

  const tokenClass = new Int32Array(vocabSize);
  for (let id = 0; id < vocabSize; id++) {
    // Multiplicative (Fibonacci) hashing spreads neighbouring ids over the buckets.
    tokenClass[id] = 1 + NUM_COLOURS + Math.floor(((Math.imul(id, 0x9e3779b1) >>> 0) / 2 ** 32) * HASH_BUCKETS);
  }
  for (const id of specialIds) tokenClass[id] = 0;
  colourTokens.forEach((ids, c) => ids.forEach((id) => (tokenClass[id] = 1 + c)));
  // Keeps texts made only of special tokens ("") away from the zero vector.
  const bias = new Float32Array(dim);
  bias[GENERIC_DIM] = 0.01;

  return encodeModel({
    name: 'clip_colour_text',
    inputs: [
      valueInfo('input_ids', INT64, ['batch_size', 'sequence_length']),
      valueInfo('attention_mask', INT64, ['batch_size', 'sequence_length']),
    ],
    outputs: [valueInfo('text_embeds', FLOAT, ['batch_size', dim])],
    initializers: [
      tensor('token_class', INT32, [vocabSize], tokenClass),
      tensor('token_table', FLOAT, [rows, dim], table),
      tensor('axis_2', INT64, [1], new BigInt64Array([2n])),
      tensor('axis_1', INT64, [1], new BigInt64Array([1n])),
      tensor('text_bias', FLOAT, [dim], bias),
    ],
    nodes: [
      node('Gather', ['token_class', 'input_ids'], ['cls'], { axis: 0 }),
      node('Gather', ['token_table', 'cls'], ['tok_emb'], { axis: 0 }),
      node('Cast', ['attention_mask'], ['mask_f'], { to: FLOAT }),
      node('Unsqueeze', ['mask_f', 'axis_2'], ['mask3']),
      node('Mul', ['tok_emb', 'mask3'], ['masked']),
      node('ReduceSum', ['masked', 'axis_1'], ['summed'], { keepdims: 0 }),
      node('Add', ['summed', 'text_bias'], ['text_embeds']),
    ],
  });
}

/**
 * Mean over H,W of the normalised pixels, un-normalised back to RGB in [0,1] (exact, since the
 * processor's normalisation is affine), then a soft nearest-prototype match onto the colour axes.
 */
function buildVisionModel(preprocessor: { image_mean: number[]; image_std: number[] }, dim: number): Uint8Array {
  const protos = new Float32Array(TEST_MODEL_COLOURS.flatMap((c) => c.rgb.map((v) => v / 255)));
  const colourProj = new Float32Array(NUM_COLOURS * dim);
  TEST_MODEL_COLOURS.forEach((_, c) => (colourProj[c * dim + c] = 1));
  // Raw RGB in its own dims lets two shades of one colour differ a little (image→image search).
  const rgbProj = new Float32Array(3 * dim);
  for (let i = 0; i < 3; i++) rgbProj[i * dim + RGB_DIM + i] = 0.1;
  const bias = new Float32Array(dim);
  bias[GENERIC_DIM] = 0.05;

  return encodeModel({
    name: 'clip_colour_vision',
    inputs: [valueInfo('pixel_values', FLOAT, ['batch_size', 3, 224, 224])],
    outputs: [valueInfo('image_embeds', FLOAT, ['batch_size', dim])],
    initializers: [
      tensor('image_std', FLOAT, [3], new Float32Array(preprocessor.image_std)),
      tensor('image_mean', FLOAT, [3], new Float32Array(preprocessor.image_mean)),
      tensor('axis_1', INT64, [1], new BigInt64Array([1n])),
      tensor('axis_2', INT64, [1], new BigInt64Array([2n])),
      tensor('prototypes', FLOAT, [1, NUM_COLOURS, 3], protos),
      tensor('neg_k', FLOAT, [], new Float32Array([-COLOUR_K])),
      tensor('colour_proj', FLOAT, [NUM_COLOURS, dim], colourProj),
      tensor('rgb_proj', FLOAT, [3, dim], rgbProj),
      tensor('image_bias', FLOAT, [dim], bias),
    ],
    nodes: [
      node('ReduceMean', ['pixel_values'], ['norm_mean'], { axes: [2, 3], keepdims: 0 }),
      node('Mul', ['norm_mean', 'image_std'], ['scaled']),
      node('Add', ['scaled', 'image_mean'], ['rgb']),
      node('Unsqueeze', ['rgb', 'axis_1'], ['rgb3']),
      node('Sub', ['rgb3', 'prototypes'], ['diff']),
      node('Mul', ['diff', 'diff'], ['sq']),
      node('ReduceSum', ['sq', 'axis_2'], ['dist2'], { keepdims: 0 }),
      node('Mul', ['dist2', 'neg_k'], ['logits']),
      node('Exp', ['logits'], ['weights']),
      node('MatMul', ['weights', 'colour_proj'], ['colour_part']),
      node('MatMul', ['rgb', 'rgb_proj'], ['rgb_part']),
      node('Add', ['colour_part', 'rgb_part'], ['partial']),
      node('Add', ['partial', 'image_bias'], ['image_embeds']),
    ],
  });
}

// --- minimal ONNX protobuf helpers -------------------------------------------------------------

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT32 = onnx.TensorProto.DataType.INT32;
const INT64 = onnx.TensorProto.DataType.INT64;

function valueInfo(name: string, elemType: number, shape: (string | number)[]): Onnx.IValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

function tensor(
  name: string,
  dataType: number,
  dims: number[],
  data: Float32Array | Int32Array | BigInt64Array,
): Onnx.ITensorProto {
  // raw_data is little-endian, like every platform Node runs on.
  return { name, dataType, dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

function node(
  opType: string,
  input: string[],
  output: string[],
  attrs: Record<string, number | number[]> = {},
): Onnx.INodeProto {
  const attribute = Object.entries(attrs).map(([name, v]): Onnx.IAttributeProto =>
    Array.isArray(v)
      ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v }
      : { name, type: onnx.AttributeProto.AttributeType.INT, i: v },
  );
  return { opType, input, output, attribute, name: `${opType}_${output[0]}` };
}

function encodeModel(g: {
  name: string;
  inputs: Onnx.IValueInfoProto[];
  outputs: Onnx.IValueInfoProto[];
  initializers: Onnx.ITensorProto[];
  nodes: Onnx.INodeProto[];
}): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'lance-image-search/make-test-model',
    graph: { name: g.name, input: g.inputs, output: g.outputs, initializer: g.initializers, node: g.nodes },
  }).finish();
}

/** Small seeded PRNG so the generated files (and benchmark data) are byte-for-byte reproducible. */
export function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: make-test-model <output-dir>');
    process.exit(2);
  }
  const out = await writeTestModel(path.resolve(dir));
  console.log(`wrote colour test model (dimension ${PROJECTION_DIM}) to ${out}`);
}
