import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import { AutoProcessor, RawImage, type Processor, type Tensor } from '@huggingface/transformers';
import { imageInputFrom, type ImageInput } from '../src/services/images/image-decode.js';
import { probeImage } from '../src/services/images/image-probe.js';
import { DEFAULT_SOURCE_DIR } from '../scripts/make-test-model.js';
import { testModelDir } from './support/harness.js';

const PHOTOS_DIR =
  process.env.EVERYDAY_PHOTOS_DIR ??
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../shared/data/everyday-photos');
/** The first photo of each of these labels: everyday sizes (about 300×200) and aspect ratios. */
const LABELS = ['airplane', 'car', 'dog', 'laptop', 'pizza', 'umbrella'];
const NO_LIMITS = { maxPixels: Number.MAX_SAFE_INTEGER, maxDecodeBytes: Number.MAX_SAFE_INTEGER };

/**
 * Mean absolute difference allowed between our pixel values and transformers.js's, in normalised
 * units (one grey level is about 0.015). Measured on these images: 0.020-0.082. The two differ
 * by design: transformers.js rounds the resized long edge down (a slightly stretched image) and
 * shrinks without filtering (aliasing); libvips keeps the aspect ratio and filters like PIL.
 */
const TOLERANCE = 0.1;

async function photos(): Promise<Array<{ name: string; bytes: Buffer }>> {
  const rows = (await readFile(path.join(PHOTOS_DIR, 'labels.csv'), 'utf8')).trim().split('\n').slice(1);
  const files = LABELS.map((label) => rows.find((row) => row.endsWith(`,${label}`))!.split(',')[0]!);
  return Promise.all(files.map(async (file) => ({ name: file, bytes: await readFile(path.join(PHOTOS_DIR, file)) })));
}

/** 640×300, colours varying along both axes and fine texture, so a misplaced crop or scale shows. */
function pattern(width = 640, height = 300): Sharp {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = (x * 255) / width;
      data[i + 1] = (y * 255) / height;
      data[i + 2] = (x ^ y) & 255;
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } });
}

/** What transformers.js's own processor makes of the decoded image (the old path). */
async function processorPixels(processor: Processor, bytes: Uint8Array): Promise<Float32Array> {
  const { data, info } = await sharp(bytes)
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const image = new RawImage(new Uint8ClampedArray(data), info.width, info.height, info.channels);
  const { pixel_values } = (await processor(image)) as { pixel_values: Tensor };
  return pixel_values.data as Float32Array;
}

async function ourPixels(bytes: Uint8Array, input: ImageInput): Promise<Float32Array> {
  return (await probeImage(bytes, NO_LIMITS, input)).pixels;
}

const meanAbsDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((sum, x, i) => sum + Math.abs(x - b[i]!), 0) / a.length;

for (const [name, dir] of [
  ['the test model', testModelDir],
  ['the real CLIP ViT-B/32 config', () => Promise.resolve(DEFAULT_SOURCE_DIR)],
] as const) {
  describe(`CLIP preprocessing with libvips matches transformers.js (${name})`, () => {
    let processor: Processor;
    let input: ImageInput;
    before(async () => {
      processor = await AutoProcessor.from_pretrained(await dir(), { local_files_only: true });
      input = imageInputFrom(processor.image_processor!.config as unknown as Record<string, unknown>);
    });

    test('reads the square, scale and normalisation from preprocessor_config.json', () => {
      assert.equal(input.size, 224);
      assert.equal(input.cropShare, 1);
      assert.equal(input.resample.kernel, 'cubic');
      assert.deepEqual(input.mean, [0.48145466, 0.4578275, 0.40821073]);
      assert.deepEqual(input.std, [0.26862954, 0.26130258, 0.27577711]);
    });

    test('everyday photos and a non-square image give close pixel values', async () => {
      const images = [
        ...(await photos()),
        { name: 'pattern 640×300 png', bytes: await pattern().png().toBuffer() },
        { name: 'pattern 300×640 jpeg', bytes: await pattern().rotate(90).jpeg({ quality: 95 }).toBuffer() },
      ];
      const ours: Float32Array[] = [];
      for (const { name, bytes } of images) {
        const [mine, theirs] = [await ourPixels(bytes, input), await processorPixels(processor, bytes)];
        assert.equal(mine.length, theirs.length);
        assert.ok(meanAbsDiff(mine, theirs) < TOLERANCE, `${name}: mean |diff| ${meanAbsDiff(mine, theirs)}`);
        ours.push(mine);
      }
      // The tolerance is tight compared with how different two images are.
      assert.ok(meanAbsDiff(ours[0]!, ours[1]!) > 5 * TOLERANCE);
    });
  });
}

describe('decoding an upload once', () => {
  let input: ImageInput;
  before(async () => {
    const processor = await AutoProcessor.from_pretrained(await testModelDir(), { local_files_only: true });
    input = imageInputFrom(processor.image_processor!.config as unknown as Record<string, unknown>);
  });

  test('EXIF orientation: the displayed size, and the pixels of the upright image', async () => {
    const upright = await pattern(100, 300).png().toBuffer();
    // Stored lying on its side, with orientation 6 ("rotate 90° clockwise to display").
    const stored = await sharp(upright).rotate(-90).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer();
    assert.deepEqual(
      await sharp(stored)
        .metadata()
        .then((m) => [m.width, m.height, m.orientation]),
      [300, 100, 6],
    );
    const probed = await probeImage(stored, NO_LIMITS, input);
    assert.deepEqual([probed.width, probed.height], [100, 300]);
    const expected = await ourPixels(await sharp(upright).jpeg({ quality: 95 }).toBuffer(), input);
    assert.ok(meanAbsDiff(probed.pixels, expected) < 0.05, `${meanAbsDiff(probed.pixels, expected)}`);
  });

  test('a thin image is cropped before it is scaled: 100000×1 and 1×100000', async () => {
    for (const [width, height] of [
      [100_000, 1],
      [1, 100_000],
    ] as const) {
      const bytes = await sharp({ create: { width, height, channels: 3, background: '#3060c0' } })
        .png()
        .toBuffer();
      const { pixels, width: w, height: h } = await probeImage(bytes, NO_LIMITS, input);
      assert.deepEqual([w, h], [width, height]);
      assert.equal(pixels.length, 3 * 224 * 224);
      const blue = (0xc0 / 255 - input.mean[2]) / input.std[2];
      assert.ok(Math.abs(pixels[2 * 224 * 224 + 1000]! - blue) < 1e-3);
    }
  });
});
