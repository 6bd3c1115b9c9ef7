/**
 * Decode memory per format: the peak RSS that decoding one image adds, as an upload (the model's
 * input) and as its thumbnail, each in a child process of its own (benchmarks/lib/decode-child.ts),
 * beside what the service estimates from the header (src/services/images/decode-cost.ts). Every
 * estimate must be above what was measured; the run says so, and exits 1 when one is not.
 *
 * Usage: npm run bench:decode [-- --quick]
 * Writes benchmarks/results/decode-memory.{json,md} (--quick: decode-memory.quick.*, small sizes only).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp, { type Sharp } from 'sharp';
import { zTxtBombPng } from '../test/support/hostile-corpus.js';
import { describeEnvironment } from './lib/environment.js';
import { REPO_ROOT, RESULTS_DIR, resultName } from './lib/paths.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;
const quick = process.argv.includes('--quick');

/** How each variant is encoded, from flat RGB(A) pixels: the decode costs the same whatever the content. */
const VARIANTS: Record<string, (image: Sharp) => Sharp> = {
  'JPEG 4:2:0': (i) => i.jpeg(),
  'progressive JPEG 4:2:0': (i) => i.jpeg({ progressive: true }),
  'progressive JPEG 4:4:4': (i) => i.jpeg({ progressive: true, chromaSubsampling: '4:4:4' }),
  'progressive JPEG CMYK': (i) => i.toColourspace('cmyk').jpeg({ progressive: true, chromaSubsampling: '4:4:4' }),
  'PNG 8-bit RGB': (i) => i.png(),
  'PNG 16-bit RGBA': (i) => i.ensureAlpha().toColourspace('rgb16').png(),
  'PNG 8-bit RGBA interlaced': (i) => i.ensureAlpha().png({ progressive: true }),
  'PNG 16-bit RGBA interlaced': (i) => i.ensureAlpha().toColourspace('rgb16').png({ progressive: true }),
  'WebP lossy': (i) => i.webp(),
  'WebP lossless RGBA': (i) => i.ensureAlpha().webp({ lossless: true }),
  'AVIF 8-bit 4:2:0': (i) => i.avif({ effort: 0 }),
  'AVIF 10-bit 4:2:0': (i) => i.avif({ effort: 0, bitdepth: 10 }),
  'AVIF 12-bit 4:4:4 RGBA': (i) => i.ensureAlpha().avif({ effort: 0, bitdepth: 12, chromaSubsampling: '4:4:4' }),
  GIF: (i) => i.gif(),
  'TIFF strips': (i) => i.tiff(),
  'TIFF 16-bit deflate': (i) => i.ensureAlpha().toColourspace('rgb16').tiff({ compression: 'deflate' }),
  'TIFF 4096² tiles RGBA': (i) => i.ensureAlpha().tiff({ tile: true, tileWidth: 4096, tileHeight: 4096 }),
};

/** Square sides, and wide strips for the formats that stream rows. */
const SIZES: Array<[number, number]> = quick
  ? [[1000, 1000]]
  : [
      [2000, 2000],
      [6000, 6000],
    ];
const WIDE: Array<[string, number, number]> = quick
  ? []
  : ['JPEG 4:2:0', 'PNG 8-bit RGB', 'TIFF strips'].map((variant) => [variant, 50_000, 200]);
/** The issue's own cases (finding 1): 10000×10000, upload decode only. */
const ISSUE: Array<[string, number, number]> = quick
  ? []
  : [
      ['AVIF 8-bit 4:2:0', 10_000, 10_000],
      ['progressive JPEG 4:4:4', 10_000, 10_000],
    ];

interface Measured {
  estimate?: number;
  header: number;
  headerMs: number;
  decode: number;
  ms: number;
}

async function decodeInChild(file: string, mode: 'upload' | 'thumbnail' | 'unguarded'): Promise<Measured> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', path.join(REPO_ROOT, 'benchmarks/lib/decode-child.ts'), file, mode],
    { cwd: REPO_ROOT, maxBuffer: MiB },
  );
  return JSON.parse(stdout) as Measured;
}

const log = (message: string) => process.stderr.write(`[bench:decode] ${message}\n`);
const mib = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;

const dir = await mkdtemp(path.join(tmpdir(), 'bench-decode-'));
const environment = await describeEnvironment('none (decoding only)');
const rows: Array<Record<string, unknown>> = [];
let under = 0;
try {
  const cases: Array<[string, number, number, boolean]> = [
    ...Object.keys(VARIANTS).flatMap((variant) =>
      SIZES.map(([w, h]) => [variant, w, h, true] as [string, number, number, boolean]),
    ),
    ...WIDE.map(([v, w, h]) => [v, w, h, true] as [string, number, number, boolean]),
    ...ISSUE.map(([v, w, h]) => [v, w, h, false] as [string, number, number, boolean]),
  ];
  for (const [variant, width, height, withThumbnail] of cases) {
    const file = path.join(dir, 'image');
    const flat = sharp({
      create: { width, height, channels: 3, background: '#3a6ea5' },
      limitInputPixels: false,
    });
    const bytes = await VARIANTS[variant]!(flat).toBuffer();
    await writeFile(file, bytes);
    const upload = await decodeInChild(file, 'upload').catch((error: { stderr?: string }) => {
      // libvips refuses some files from their header (TIFF tiles larger than it allows): nothing to measure.
      const refusal = /InvalidImageError: (.*)/.exec(error.stderr ?? '')?.[1];
      if (!refusal) throw error;
      rows.push({ variant, width, height, fileBytes: bytes.byteLength, refused: refusal });
      log(`${variant} ${width}×${height}: refused: ${refusal}`);
      return null;
    });
    if (!upload) continue;
    const thumb = withThumbnail ? await decodeInChild(file, 'thumbnail') : undefined;
    const peak = Math.max(upload.decode, thumb?.decode ?? 0);
    const estimate = upload.estimate!;
    if (estimate < peak) under += 1;
    const row = {
      variant,
      width,
      height,
      fileBytes: bytes.byteLength,
      estimateMiB: mib(estimate),
      uploadMiB: mib(upload.decode),
      uploadMs: Math.round(upload.ms),
      thumbnailMiB: thumb ? mib(thumb.decode) : null,
      thumbnailMs: thumb ? Math.round(thumb.ms) : null,
      bytesPerPixel: Math.round((peak / (width * height)) * 100) / 100,
      estimateOverPeak: Math.round((estimate / peak) * 100) / 100,
    };
    rows.push(row);
    log(JSON.stringify(row));
  }

  // The text-chunk bomb: what reading it cost before (unguarded), and now.
  const chunks = quick ? 2 : 16;
  const bomb = await zTxtBombPng(chunks);
  const bombFile = path.join(dir, 'bomb.png');
  await writeFile(bombFile, bomb);
  const bombRows = [];
  for (const mode of ['unguarded', 'upload'] as const) {
    const m = await decodeInChild(bombFile, mode);
    bombRows.push({
      mode,
      fileBytes: bomb.byteLength,
      inflatedMiB: chunks * 8,
      headerMiB: mib(m.header),
      headerMs: Math.round(m.headerMs),
      decodeMiB: mib(m.decode),
      decodeMs: Math.round(m.ms),
    });
    log(JSON.stringify(bombRows.at(-1)));
  }

  const result = { environment, rows, textChunkBomb: bombRows, estimatesBelowPeak: under };
  const name = resultName('decode-memory', quick);
  await writeFile(path.join(RESULTS_DIR, `${name}.json`), JSON.stringify(result, null, 2) + '\n');
  const markdown = [
    '# Decode memory per format',
    '',
    `\`npm run bench:decode\`, ${environment.date}, ${environment.cpus} CPUs (${environment.cpuModel}), load ${environment.loadAverage.join(' ')}.`,
    'Each figure is the peak RSS one decode added in a process of its own (VmHWM after, less VmRSS before);',
    '"upload" is the decode into the model\'s input (crop and shrink to 224×224), "thumbnail" the 320-pixel WebP.',
    'The estimate is what the service reads from the header and charges against `DECODE_MEMORY_BYTES`;',
    `it must be above both: ${under === 0 ? '**it is, in every case**' : `**it is not in ${under} case(s)**`}.`,
    '',
    '| variant | size | file | estimate MiB | upload MiB | ms | thumbnail MiB | ms | peak bytes/pixel | estimate / peak |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) =>
      r.refused
        ? `| ${r.variant} | ${r.width}×${r.height} | ${r.fileBytes} B | refused from the header: ${r.refused} |||||||`
        : `| ${r.variant} | ${r.width}×${r.height} | ${r.fileBytes} B | ${r.estimateMiB} | ${r.uploadMiB} | ${r.uploadMs} | ${r.thumbnailMiB ?? '–'} | ${r.thumbnailMs ?? '–'} | ${r.bytesPerPixel} | ${r.estimateOverPeak} |`,
    ),
    '',
    `## A 32×32 PNG whose ${chunks} zTXt chunks inflate to ${chunks * 8} MB (${bomb.byteLength} bytes)`,
    '',
    '"unguarded" hands the whole file to sharp, as the service did before; "upload" drops the text chunks first.',
    '',
    '| path | header MiB | ms | decode MiB | ms |',
    '|---|---|---|---|---|',
    ...bombRows.map((r) => `| ${r.mode} | ${r.headerMiB} | ${r.headerMs} | ${r.decodeMiB} | ${r.decodeMs} |`),
    '',
  ].join('\n');
  await writeFile(path.join(RESULTS_DIR, `${name}.md`), markdown);
  process.stdout.write(markdown);
} finally {
  await rm(dir, { recursive: true, force: true });
}
if (under > 0) process.exitCode = 1;
