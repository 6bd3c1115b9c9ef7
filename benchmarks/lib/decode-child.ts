/**
 * One decode in a process of its own, for benchmarks/decode-memory.ts: reads the header, then
 * decodes the file as an upload (the model's input) or as its thumbnail, and prints the peak
 * resident memory each step added, measured from the kernel's high-water mark (Linux).
 *
 * Usage: node --import tsx benchmarks/lib/decode-child.ts <file> upload|thumbnail|unguarded
 * `unguarded` decodes as the service did before the decode budget: the whole file, text chunks
 * and all, handed to sharp.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { decodeForModel, DECODING, readHeader } from '../../src/services/images/image-probe.js';
import { modelPixels, type ImageInput } from '../../src/services/images/image-decode.js';
import { thumbnail } from '../../src/services/images/thumbnails.js';

/** CLIP ViT-B/32's preprocessing (preprocessor_config.json). */
const CLIP_INPUT: ImageInput = {
  size: 224,
  cropShare: 1,
  resample: { kernel: 'cubic', interpolator: 'bicubic' },
  rescale: 1 / 255,
  mean: [0.48145466, 0.4578275, 0.40821073],
  std: [0.26862954, 0.26130258, 0.27577711],
};
const NO_LIMITS = { maxPixels: Number.MAX_SAFE_INTEGER, maxDecodeBytes: Number.MAX_SAFE_INTEGER };

const kib = (field: string) =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;

/** The peak bytes `step` adds to what the process holds when it starts, and how long it takes. */
async function measure<T>(step: () => Promise<T>): Promise<{ result: T; bytes: number; ms: number }> {
  writeFileSync('/proc/self/clear_refs', '5'); // the high-water mark starts again from RSS
  const before = kib('VmRSS');
  const started = performance.now();
  const result = await step();
  return { result, bytes: kib('VmHWM') - before, ms: performance.now() - started };
}

const [file, mode] = process.argv.slice(2);
const bytes = readFileSync(file!);
let measured: Record<string, number>;
if (mode === 'unguarded') {
  const image = sharp(bytes, { ...DECODING, limitInputPixels: false });
  const header = await measure(() => image.metadata());
  const decode = await measure(() => modelPixels(image, header.result, CLIP_INPUT));
  measured = { header: header.bytes, headerMs: header.ms, decode: decode.bytes, ms: decode.ms };
} else {
  const header = await measure(() => readHeader(bytes, NO_LIMITS));
  const decode = await measure(async () => {
    if (mode === 'thumbnail') await thumbnail(header.result, Number.MAX_SAFE_INTEGER);
    else await decodeForModel(header.result, CLIP_INPUT);
  });
  const { cost: estimate } = header.result;
  measured = { estimate, header: header.bytes, headerMs: header.ms, decode: decode.bytes, ms: decode.ms };
}
process.stdout.write(JSON.stringify(measured));
