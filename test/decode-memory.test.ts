import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { DecodeBudget } from '../src/services/images/decode-budget.js';
import { InvalidImageError, readHeader } from '../src/services/images/image-probe.js';
import { tiffBlockRowPixels } from '../src/services/images/tiff-layout.js';
import { withoutPngText } from '../src/services/images/png-text.js';
import type { Services } from '../src/services/index.js';
import { pngChunk, zTxtBombPng } from './support/hostile-corpus.js';
import { COLOURS, noisy, solid } from './support/images.js';
import { openServices, peakRss, resetPeakRss, until } from './support/harness.js';

const MiB = 1024 * 1024;
const file = (bytes: Uint8Array, filename: string | null = null) => ({ bytes, filename });

/** Lets every promise that is ready settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** An acquire whose start can be seen without waiting for it. */
function acquiring(budget: DecodeBudget, cost: number) {
  const entry = { started: false, release: () => {} };
  void budget.acquire(cost).then((release) => {
    entry.started = true;
    entry.release = release;
  });
  return entry;
}

describe('the decode budget', () => {
  test('a small decode starts while a costly one holds most of the budget and another waits', async () => {
    const budget = new DecodeBudget(1600, 2); // small: at most 100
    const first = acquiring(budget, 1500);
    const second = acquiring(budget, 1500);
    const small = acquiring(budget, 100);
    await settle();
    assert.deepEqual([first.started, second.started, small.started], [true, false, true]);
    // The lane takes one small decode at a time.
    const another = acquiring(budget, 100);
    await settle();
    assert.equal(another.started, false);
    small.release();
    await settle();
    assert.equal(another.started, true);
    first.release();
    await settle();
    assert.equal(second.started, true);
  });

  test('decodes start in arrival order: one that would fit does not overtake a costly one waiting', async () => {
    const budget = new DecodeBudget(1600, 2);
    const first = acquiring(budget, 1000);
    const waiting = acquiring(budget, 1000);
    const fits = acquiring(budget, 500); // fits in the 600 left, but is not small
    await settle();
    assert.deepEqual([first.started, waiting.started, fits.started], [true, false, false]);
    first.release();
    await settle();
    assert.deepEqual([waiting.started, fits.started], [true, true]);
  });

  test('at most `concurrency` decodes run in the budget, whatever their cost', async () => {
    const budget = new DecodeBudget(1600, 2);
    const decodes = [acquiring(budget, 200), acquiring(budget, 200), acquiring(budget, 200)];
    await settle();
    assert.deepEqual(
      decodes.map((d) => d.started),
      [true, true, false],
    );
    decodes[0]!.release();
    decodes[0]!.release(); // a second release frees nothing more
    await settle();
    assert.equal(decodes[2]!.started, true);
    assert.equal(budget.active, 2);
  });

  test('a decode dearer than the whole budget is refused, not queued for ever', async () => {
    await assert.rejects(new DecodeBudget(1000, 2).acquire(1001), RangeError);
  });
});

describe("a PNG's text chunks", () => {
  test('are dropped before the decoder reads the file; the pixels and other chunks stay', async () => {
    const png = await noisy(COLOURS.orange, 20, 1, 'png');
    const withText = Buffer.concat([
      png.subarray(0, 33), // signature and IHDR
      pngChunk('tEXt', Buffer.from('Comment\0hello')),
      pngChunk('zTXt', Buffer.concat([Buffer.from('Raw\0\0'), deflateSync('compressed')])),
      pngChunk('iTXt', Buffer.from('Title\0\0\0\0\0international')),
      png.subarray(33),
    ]);
    assert.equal((await sharp(withText).metadata()).comments?.length, 3);
    const stripped = withoutPngText(withText);
    assert.deepEqual(Buffer.from(stripped), png);
    assert.equal(withoutPngText(png), png, 'a PNG without text is passed as it is, not copied');
  });

  test('a 32×32 PNG whose zTXt chunks inflate to 128 MB is stored without inflating them', async () => {
    const services = await openServices();
    try {
      const bomb = await zTxtBombPng(16); // 16 chunks of 8 MB: 830 MB and 5 s to decode before
      assert.ok(bomb.byteLength < 200_000);
      await resetPeakRss();
      const before = await peakRss();
      const [outcome] = await services.uploads.uploadAll([file(bomb, 'bomb.png')]);
      const grew = (await peakRss()) - before;
      assert.deepEqual([outcome!.created, outcome!.image.width, outcome!.image.height], [true, 32, 32]);
      // The original is stored as sent: its id is the hash of every byte, text included.
      assert.equal(outcome!.image.id, createHash('sha256').update(bomb).digest('hex'));
      assert.ok(grew < 64 * MiB, `peak RSS grew by ${Math.round(grew / MiB)} MiB`);
    } finally {
      await services.close();
    }
  });
});

describe("a TIFF's layout", () => {
  test('a row of large tiles is charged, where strips of a few hundred rows are not', async () => {
    const image = () => sharp({ create: { width: 2000, height: 2000, channels: 4, background: '#3a6ea5' } });
    const tiled = await image().tiff({ tile: true, tileWidth: 4096, tileHeight: 4096 }).toBuffer();
    const strips = await image().tiff().toBuffer();
    assert.equal(tiffBlockRowPixels(tiled, 2000, 2000), 4096 * 4096);
    assert.ok(tiffBlockRowPixels(strips, 2000, 2000)! < (2000 * 2000) / 4);
    const limits = { maxPixels: 1e8, maxDecodeBytes: 1e12 };
    const [tiledCost, stripsCost] = await Promise.all([tiled, strips].map((b) => readHeader(b, limits)));
    // Measured: 69 MiB for the tiles, 14 MiB for the strips (benchmarks/results/decode-memory.md).
    assert.ok(tiledCost!.cost > 69 * MiB && stripsCost!.cost < tiledCost!.cost / 2);
  });
});

describe('decodes over DECODE_MEMORY_BYTES', () => {
  let services: Services;
  before(async () => {
    services = await openServices({ DECODE_MEMORY_BYTES: String(256 * MiB) });
  });
  after(() => services.close());

  /** A flat image of this format: tiny files, full-size decodes. */
  const flat = (width: number, height: number, encode: (image: Sharp) => Sharp) =>
    encode(sharp({ create: { width, height, channels: 3, background: '#3a6ea5' } })).toBuffer();

  for (const { name, encode, side } of [
    { name: '4000×4000 AVIF', side: 4000, encode: (i: Sharp) => i.avif({ effort: 0 }) },
    {
      name: '6000×6000 progressive JPEG (4:4:4)',
      side: 6000,
      encode: (i: Sharp) => i.jpeg({ progressive: true, chromaSubsampling: '4:4:4' }),
    },
  ]) {
    test(`a ${name} is refused from its header, naming the limit and the setting`, async (t) => {
      const bytes = await flat(side, side, encode);
      const decodes = t.mock.method(sharp.prototype, 'toBuffer');
      await assert.rejects(
        services.uploads.uploadAll([file(bytes)]),
        (error: Error) =>
          error instanceof InvalidImageError &&
          /would take about \d+ MiB of memory, over the limit of 256 MiB \(DECODE_MEMORY_BYTES\)/.test(error.message),
      );
      assert.equal(decodes.mock.callCount(), 0, 'nothing was decoded');
    });
  }

  test('the same sizes as baseline JPEGs are well within it, and stored', async () => {
    for (const side of [4000, 6000]) {
      const bytes = await flat(side, side, (i) => i.jpeg());
      const [outcome] = await services.uploads.uploadAll([file(bytes)]);
      assert.equal(outcome!.image.width, side);
    }
  });

  test('a costly decode leaves no memory behind once it is done (no libvips operation cache)', async () => {
    const bytes = await flat(5000, 5000, (i) => i.jpeg({ progressive: true, chromaSubsampling: '4:4:4' }));
    const rss = async () => Number(/^VmRSS:\s+(\d+) kB$/m.exec(await readFile('/proc/self/status', 'utf8'))![1]) * 1024;
    const before = await rss();
    const [outcome] = await services.uploads.uploadAll([file(bytes)]);
    assert.equal(outcome!.created, true);
    // Two decodes of about 165 MiB each (the upload's and its thumbnail's): with the cache, their
    // coefficients stayed resident (about 330 MiB more).
    const kept = (await rss()) - before;
    assert.ok(kept < 100 * MiB, `${Math.round(kept / MiB)} MiB still resident`);
  });

  test('a small upload is decoded while a costly decode holds the budget and another waits', async (t) => {
    // 168 MiB each (estimated): one at a time in 300 MiB; the PNG is small (at most 300/16 MiB).
    const local = await openServices({ DECODE_MEMORY_BYTES: String(300 * MiB) });
    try {
      const costly = await Promise.all(
        [0, 1].map((seed) => flat(4500, 4500 + seed, (i) => i.jpeg({ progressive: true, chromaSubsampling: '4:4:4' }))),
      );
      // The real decoder, held back for the costly files until the small upload is stored.
      let open = () => {};
      const gate = new Promise<void>((resolve) => (open = resolve));
      const held = new Set<Uint8Array>();
      const real = sharp.prototype.toBuffer as (...args: unknown[]) => Promise<unknown>;
      t.mock.method(sharp.prototype, 'toBuffer', function (this: Sharp, ...args: unknown[]) {
        const input = (this as unknown as { options: { input: { buffer?: Buffer } } }).options.input.buffer;
        if (!costly.some((bytes) => bytes === input)) return real.apply(this, args);
        held.add(input!);
        return gate.then(() => real.apply(this, args));
      });
      const uploads = costly.map((bytes) => local.uploads.uploadAll([file(bytes)]));
      try {
        await until(() => held.size === 1, 'the first costly decode');
        let smallDone = false;
        const small = local.uploads.uploadAll([file(await solid(COLOURS.green), 'small.png')]);
        void small.finally(() => (smallDone = true)).catch(() => {});
        // With slots that count decodes only, both costly decodes start and the small one waits behind them.
        await until(() => smallDone || held.size === 2, 'the small upload, or the second costly decode');
        assert.equal(held.size, 1, 'the second costly decode waits for the budget');
        assert.equal((await small)[0]!.created, true);
      } finally {
        open();
      }
      const stored = await Promise.all(uploads);
      assert.deepEqual(
        stored.map(([o]) => o!.image.height),
        [4500, 4501],
      );
    } finally {
      await local.close();
    }
  });
});
