import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApolloServer } from '@apollo/server';
import sharp, { type Sharp } from 'sharp';
import type { GraphQLContext } from '../src/context.js';
import { InvalidImageError } from '../src/services/images/image-probe.js';
import type { Services } from '../src/services/index.js';
import { distinctImages, noisy, COLOURS } from './support/images.js';
import {
  execute,
  graphqlServer,
  openServices,
  peakRss,
  resetPeakRss,
  storedIds,
  tempDir,
  upload,
  UPLOAD_ONE,
} from './support/harness.js';

const file = (bytes: Uint8Array, filename: string | null = null) => ({ bytes, filename });

/** A copy of a PNG whose first IDAT chunk has a wrong CRC: the pixels are intact, the file is damaged. */
function withBadIdatCrc(png: Buffer): Buffer {
  const damaged = Buffer.from(png);
  for (let at = 8; at < damaged.length;) {
    const length = damaged.readUInt32BE(at);
    if (damaged.toString('latin1', at + 4, at + 8) === 'IDAT') {
      damaged[at + 8 + length + 3]! ^= 0xff; // last byte of the chunk's CRC
      return damaged;
    }
    at += 12 + length;
  }
  throw new Error('no IDAT chunk');
}

describe('uploads', () => {
  let services: Services;
  before(async () => {
    services = await openServices();
  });
  after(() => services.close());

  test('a 100000×1 and a 1×100000 PNG are stored, without enlarging the long side', async () => {
    const [wide, tall] = await Promise.all(
      [
        [100_000, 1],
        [1, 100_000],
      ].map(([width, height]) =>
        sharp({ create: { width: width!, height: height!, channels: 3, background: '#3060c0' } })
          .png()
          .toBuffer(),
      ),
    );
    await resetPeakRss();
    const before = await peakRss();
    const outcomes = await services.uploads.uploadAll([file(wide!), file(tall!)]);
    assert.deepEqual(
      outcomes.map((o) => [o.created, o.image.width, o.image.height]),
      [
        [true, 100_000, 1],
        [true, 1, 100_000],
      ],
    );
    // transformers.js's processor took 17.7 GB (and aborted) for 100000×1 alone.
    const grew = (await peakRss()) - before;
    assert.ok(grew < 512 * 1024 * 1024, `peak RSS grew by ${Math.round(grew / 2 ** 20)} MB`);
  });

  test('an image over the pixel limit is refused naming its size and the limit (12000×12000 PNG)', async () => {
    const bytes = await sharp({ create: { width: 12_000, height: 12_000, channels: 3, background: '#345' } })
      .png({ compressionLevel: 1 })
      .toBuffer();
    await assert.rejects(
      services.uploads.uploadAll([file(bytes)]),
      (error: Error) =>
        error instanceof InvalidImageError &&
        error.message === 'the image is 12000×12000 pixels, over the limit of 100000000',
    );
  });

  test('the same new image twice in one request: the first copy is created, the second is not', async () => {
    const [a, b] = await distinctImages(2, COLOURS.green, 100);
    const outcomes = await services.uploads.uploadAll([file(a!, 'a.jpg'), file(a!, 'a-again.jpg'), file(b!, 'b.jpg')]);
    assert.deepEqual(
      outcomes.map((o) => o.created),
      [true, false, true],
    );
    assert.equal(outcomes[0]!.image.id, outcomes[1]!.image.id);
  });

  test('EXIF orientation: a 300×100 JPEG shown rotated (orientation 6) is 100×300', async () => {
    const bytes = await sharp(await noisy(COLOURS.orange, 20, 5, 'png'))
      .resize(300, 100)
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    const [outcome] = await services.uploads.uploadAll([file(bytes)]);
    assert.deepEqual([outcome!.image.width, outcome!.image.height], [100, 300]);
  });

  test('bytes already stored are answered from their row without being decoded', async (t) => {
    const [bytes] = await distinctImages(1, COLOURS.purple, 200);
    const [first] = await services.uploads.uploadAll([file(bytes!)]);
    const metadata = t.mock.method(sharp.prototype, 'metadata');
    const [again] = await services.uploads.uploadAll([file(bytes!)]);
    assert.equal(metadata.mock.callCount(), 0);
    assert.deepEqual([again!.created, again!.image.id], [false, first!.image.id]);
  });

  test('decodes at most DECODE_CONCURRENCY (2) images at once across requests, plus one small one', async (t) => {
    const images = await distinctImages(8, COLOURS.cyan, 300);
    let running = 0;
    let most = 0;
    const real = sharp.prototype.toBuffer;
    t.mock.method(sharp.prototype, 'toBuffer', function (this: Sharp, ...args: unknown[]) {
      running += 1;
      most = Math.max(most, running);
      const result = (real as (...a: unknown[]) => Promise<unknown>).apply(this, args);
      void result.finally(() => (running -= 1)).catch(() => undefined);
      return result;
    });
    const outcomes = await Promise.all(images.map((bytes) => services.uploads.uploadAll([file(bytes)])));
    assert.ok(outcomes.every(([o]) => o!.created));
    // Small decodes also have a lane of their own beside the budget (decode-budget.ts).
    assert.ok(most >= 1 && most <= 3, `${most} decodes at once`);
  });
});

describe('a damaged file among concurrent uploads', () => {
  let server: ApolloServer<GraphQLContext>;
  let services: Services;
  before(async () => {
    server = await graphqlServer();
    services = await openServices();
  });
  after(async () => {
    await server.stop();
    await services.close();
  });

  test('a PNG with a bad CRC is refused alone; 40 valid uploads beside it succeed', async () => {
    const valid = await distinctImages(40, COLOURS.blue, 400);
    const damaged = withBadIdatCrc(await noisy(COLOURS.red, 20, 401, 'png'));
    const run = (bytes: Uint8Array) => execute(server, services, UPLOAD_ONE, { file: upload(bytes, 'photo.png') });
    const [bad, ...good] = await Promise.all([damaged, ...valid].map(run));
    assert.equal(bad!.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(bad));
    for (const result of good) {
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      assert.equal(result.data?.uploadImage.created, true);
    }
  });
});

// b's readers see other processes' commits through the catalog's own background refresh
// (version-handles.ts, refreshLatest): a timer looks for new versions every READ_CONSISTENCY_MS, off the
// query path, and no read waits for it. At the default 1000 ms, a's commits would show up on b
// anywhere up to a second later, wherever the timer stands, so whether b's readers still lag when
// b uploads would be luck. With a minute they lag for the whole test, and the test checks that they do.
describe("two service instances on one DATA_URI, one's readers behind the other's commits", () => {
  let a: Services;
  let b: Services;
  before(async () => {
    const dir = await tempDir();
    a = await openServices({ DATA_URI: dir });
    b = await openServices({ DATA_URI: dir, READ_CONSISTENCY_MS: '60000' });
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  test('an image the other instance stored is answered as not created, never as an error', async () => {
    const [x] = await distinctImages(1, COLOURS.yellow, 500);
    const [stored] = await a.uploads.uploadAll([file(x!)]);
    const { id } = stored!.image;
    // b's readers lag behind a's commit in both rounds: b's writer finds x in the dataset at its commit.
    for (const round of [1, 2]) {
      assert.equal((await b.catalog.get([id], ['id'])).has(id), false, `round ${round}: b's readers have x already`);
      const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => b.uploads.uploadAll([file(x!)])));
      for (const outcome of outcomes) {
        assert.equal(
          outcome.status,
          'fulfilled',
          `round ${round}: ${String((outcome as PromiseRejectedResult).reason)}`,
        );
        const [answer] = (outcome as PromiseFulfilledResult<Awaited<ReturnType<Services['uploads']['uploadAll']>>>)
          .value;
        assert.deepEqual([answer!.created, answer!.image.id], [false, id]);
      }
    }
    await b.writer.flush();
    const { ids, duplicated } = await storedIds(a);
    assert.deepEqual([[...ids], duplicated.length], [[id], 0]);
  });
});
