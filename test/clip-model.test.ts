import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOCAL_MODEL_FILES, loadClip, type ClipModel } from '../src/services/embedding/clip-model.js';
import { probeImage } from '../src/services/images/image-probe.js';
import { PROJECTION_DIM, writeTestModel } from '../scripts/make-test-model.js';
import { COLOURS, COLOUR_NAMES, noisy, solid, type Rgb } from './support/images.js';

const NAMES = COLOUR_NAMES;

const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0);
const norm = (a: Float32Array) => Math.sqrt(dot(a, a));

/** Indexes of `candidates` sorted by cosine similarity to `query`, best first. */
function ranking(query: Float32Array, candidates: Float32Array[]): number[] {
  return candidates
    .map((c, i) => [dot(query, c), i] as const)
    .sort((x, y) => y[0] - x[0])
    .map(([, i]) => i);
}

/** Encoded images as the image encoder takes them: decoded by the upload path's one decode. */
async function embedEncoded(clip: ClipModel, encoded: Uint8Array[]): Promise<Float32Array[]> {
  const limits = { maxPixels: Number.MAX_SAFE_INTEGER, maxDecodeBytes: Number.MAX_SAFE_INTEGER };
  const probed = await Promise.all(encoded.map((bytes) => probeImage(bytes, limits, clip.imageInput)));
  return clip.embedImages(probed.map((p) => p.pixels));
}

function assertClose(actual: Float32Array, expected: Float32Array, tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length);
  const worst = actual.reduce((m, x, i) => Math.max(m, Math.abs(x - expected[i]!)), 0);
  assert.ok(worst <= tolerance, `vectors differ by up to ${worst}`);
}

describe('loadClip with the generated colour test model', () => {
  let dir: string;
  let clip: ClipModel;
  let images: Float32Array[]; // one per NAMES entry, same order

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'clip-test-model-'));
    await writeTestModel(path.join(dir, 'model'));
    clip = await loadClip({ model: path.join(dir, 'model'), cacheDir: path.join(dir, 'cache') });
    const encoded = await Promise.all(NAMES.map((n, i) => solid(COLOURS[n], i % 2 ? 'jpeg' : 'png')));
    images = await embedEncoded(clip, encoded);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports the model directory and a 512-wide embedding', () => {
    assert.equal(clip.modelId, path.join(dir, 'model'));
    assert.equal(clip.dimension, PROJECTION_DIM);
    assert.equal(clip.dimension, 512);
  });

  it('returns unit-length vectors of the model dimension, one per input', async () => {
    const texts = await clip.embedTexts(['a red car', '', 'something without any colour in it at all']);
    assert.equal(texts.length, 3);
    assert.equal(images.length, NAMES.length);
    for (const v of [...texts, ...images]) {
      assert.ok(v instanceof Float32Array);
      assert.equal(v.length, 512);
      assert.ok(Math.abs(norm(v) - 1) < 1e-5, `norm ${norm(v)}`);
    }
  });

  it('returns nothing for empty input without running the model', async () => {
    assert.deepEqual(await clip.embedTexts([]), []);
    assert.deepEqual(await clip.embedImages([]), []);
  });

  it('gives the same vectors for a padded batch as for single texts', async () => {
    const texts = ['a red car', 'blue', 'a very long description of a yellow house by the sea at dawn', 'grey', ''];
    const batch = await clip.embedTexts(texts);
    for (const [i, text] of texts.entries()) {
      const [single] = await clip.embedTexts([text]);
      assertClose(batch[i]!, single!);
    }
  });

  it('gives the same vectors for a batch of images as for single images', async () => {
    const encoded = [
      await solid(COLOURS.red),
      await noisy(COLOURS.blue, 30, 7),
      await solid(COLOURS.white, 'jpeg', 300),
    ];
    const batch = await embedEncoded(clip, encoded);
    for (const [i, bytes] of encoded.entries()) {
      const [single] = await embedEncoded(clip, [bytes]);
      assertClose(batch[i]!, single!);
    }
  });

  for (const template of ['a {} car', 'a photo of something {}', '{}', 'A {} umbrella on a beach.']) {
    it(`ranks the matching colour image first for "${template}"`, async () => {
      const queries = NAMES.map((n) => template.replace('{}', n));
      const vectors = await clip.embedTexts(queries);
      for (const [i, query] of queries.entries()) {
        const best = ranking(vectors[i]!, images)[0]!;
        assert.equal(NAMES[best], NAMES[i], `"${query}" ranked ${NAMES[best]} first`);
      }
    });
  }

  it('treats "grey" and "gray" alike', async () => {
    const [grey, gray] = await clip.embedTexts(['a grey cat', 'a gray cat']);
    assert.equal(NAMES[ranking(grey!, images)[0]!], 'gray');
    assertClose(grey!, gray!);
  });

  it('finds the same colour image by image, despite noise and a different shade', async () => {
    for (const [i, name] of NAMES.entries()) {
      const [r, g, b] = COLOURS[name];
      const shade: Rgb = [r * 0.95 + 6, g * 0.95 + 6, b * 0.95 + 6];
      const [query] = await embedEncoded(clip, [await noisy(shade, 25, i + 1)]);
      const order = ranking(query!, images);
      assert.equal(NAMES[order[0]!], name, `noisy ${name} was nearest to ${NAMES[order[0]!]}`);
    }
  });

  it('decodes webp, gif, avif and tiff to the same embedding as png', async () => {
    const png = await solid(COLOURS.orange);
    const [reference] = await embedEncoded(clip, [png]);
    const others = await Promise.all([
      sharp(png).webp({ lossless: true }).toBuffer(),
      sharp(png).gif().toBuffer(),
      sharp(png).avif({ lossless: true }).toBuffer(),
      sharp(png).tiff().toBuffer(),
    ]);
    for (const v of await embedEncoded(clip, others)) assertClose(v, reference!, 0.02);
  });

  it('refuses pixels that are not the square of its preprocessor config', async () => {
    assert.equal(clip.imageInput.size, 224);
    await assert.rejects(clip.embedImages([new Float32Array(3 * 200 * 200)]), /expected 150528/);
  });
});

describe('loadClip with a local directory that cannot be a model', () => {
  it('names the directory and every file it lacks, before transformers.js runs', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'clip-incomplete-'));
    try {
      await writeFile(path.join(dir, 'config.json'), '{}');
      await mkdir(path.join(dir, 'onnx'));
      await writeFile(path.join(dir, 'onnx', 'text_model.onnx'), '');
      await assert.rejects(loadClip({ model: dir, cacheDir: path.join(dir, 'cache') }), (error: Error) => {
        const missing = LOCAL_MODEL_FILES.filter((f) => f !== 'config.json' && f !== 'onnx/text_model.onnx');
        assert.match(error.message, new RegExp(`${dir} lacks ${missing.join(', ')} \\(`));
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a path that names no directory instead of asking the hub for it', async () => {
    for (const model of ['./no-such-dir', '../no/such/dir', '/no-such-dir', 'a/b/c']) {
      await assert.rejects(loadClip({ model, cacheDir: tmpdir() }), /is not a directory .* not a hub model id/);
    }
  });
});

const REAL_CLIP_DIR = process.env.REAL_CLIP_DIR;
const PHOTOS_DIR =
  process.env.EVERYDAY_PHOTOS_DIR ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/data/everyday-photos');

describe('loadClip with the real CLIP weights', () => {
  const skip = REAL_CLIP_DIR ? false : 'REAL_CLIP_DIR is not set: the real CLIP weights cannot be downloaded here';

  it('ranks a dog photo first for "a photo of a dog"', { skip, timeout: 300_000 }, async () => {
    const cacheDir = await mkdtemp(path.join(tmpdir(), 'clip-real-cache-'));
    try {
      const clip = await loadClip({ model: REAL_CLIP_DIR!, cacheDir });
      assert.equal(clip.dimension, 512);
      const rows = (await readFile(path.join(PHOTOS_DIR, 'labels.csv'), 'utf8')).trim().split('\n').slice(1);
      const photos = rows.map((row) => {
        const [file = '', label = ''] = row.split(',');
        return { file, label };
      });
      const vectors: Float32Array[] = [];
      for (let i = 0; i < photos.length; i += 16) {
        const bytes = await Promise.all(photos.slice(i, i + 16).map((p) => readFile(path.join(PHOTOS_DIR, p.file))));
        vectors.push(...(await embedEncoded(clip, bytes)));
      }
      for (const label of ['dog', 'cat', 'pizza']) {
        const [query] = await clip.embedTexts([`a photo of a ${label}`]);
        const best = photos[ranking(query!, vectors)[0]!]!;
        assert.equal(best.label, label, `"a photo of a ${label}" ranked ${best.file} first`);
      }
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});
