import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import sharp from 'sharp';
import { createLogger } from '../src/logger.js';
import { createApp } from '../src/server.js';
import { imageKey, thumbnailKey } from '../src/services/images/image-key.js';
import { COLOURS, distinctImages, noisy, oversize, solid } from './support/images.js';
import { UPLOAD_MANY, UPLOAD_ONE, multipart, openApp, testModel, testSettings } from './support/harness.js';

type App = Awaited<ReturnType<typeof openApp>>;
const PREFLIGHT = { 'apollo-require-preflight': 'true' };

async function post(app: App, body: FormData | object, headers: Record<string, string> = PREFLIGHT) {
  const init =
    body instanceof FormData
      ? { body }
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } };
  const response = await fetch(`${app.url}/graphql`, {
    method: 'POST',
    ...init,
    headers: { ...init.headers, ...headers },
  });
  return { status: response.status, body: (await response.json()) as { data?: any; errors?: any[] } }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const versionOf = async (app: App) => (await app.services).catalog.version();

/** The real HTTP server: multipart uploads, image serving, limits and health. */
describe('HTTP server', () => {
  let app: App;
  before(async () => {
    app = await openApp({ MAX_UPLOAD_BYTES: '200000', MAX_UPLOAD_FILES: '4', MAX_IMAGE_PIXELS: '1000000' });
  });
  after(() => app.close());

  test('a multipart upload stores the image and serves it back, immutable', async () => {
    const bytes = await readFile(
      new URL(
        '../../shared/data/everyday-photos/images/airplane__caltech101_airplanes_image_0001.jpg',
        import.meta.url,
      ),
    ).catch(() => solid(COLOURS.blue, 'jpeg'));
    const { status, body } = await post(app, multipart(UPLOAD_ONE, [{ bytes, name: 'plane.jpg' }]));
    assert.equal(status, 200);
    const { image, created } = body.data.uploadImage;
    assert.equal(created, true);
    assert.equal(image.filename, 'plane.jpg');
    const served = await fetch(`${app.url}/${image.key}`);
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('content-type'), 'image/jpeg');
    assert.equal(served.headers.get('etag'), `"${image.id}"`);
    assert.match(served.headers.get('cache-control') ?? '', /immutable/);
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), Buffer.from(bytes));
    const again = await fetch(`${app.url}/${image.key}`, { headers: { 'if-none-match': `"${image.id}"` } });
    assert.equal(again.status, 304);
    assert.equal((await fetch(`${app.url}/images/${'0'.repeat(64)}.jpg`)).status, 404);
    assert.equal((await fetch(`${app.url}/images/..%2Fimages.lance%2F_versions`)).status, 404);
  });

  test('several files in one request become one version', async () => {
    const images = await distinctImages(3, COLOURS.green);
    const before = await versionOf(app);
    const files = images.map((bytes, i) => ({ bytes, name: `g${i}.jpg` }));
    const { body } = await post(app, multipart(UPLOAD_MANY, files, true));
    assert.deepEqual(
      body.data.uploadImages.map((r: { created: boolean }) => r.created),
      [true, true, true],
    );
    assert.equal(await versionOf(app), before + 1);
  });

  test('a thumbnail is made at upload, served immutable, and made on first request when missing', async () => {
    const wide = await sharp({ create: { width: 1000, height: 600, channels: 3, background: '#c81e1e' } })
      .jpeg()
      .toBuffer();
    const { body } = await post(app, multipart(UPLOAD_ONE, [{ bytes: wide, name: 'wide.jpg' }]));
    const { id } = body.data.uploadImage.image;
    const url = `${app.url}/thumbnails/${id}.webp`;
    const served = await fetch(url);
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('content-type'), 'image/webp');
    assert.match(served.headers.get('cache-control') ?? '', /immutable/);
    const meta = await sharp(Buffer.from(await served.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['webp', 320, 192]);
    assert.equal((await fetch(url, { headers: { 'if-none-match': `"${id}"` } })).status, 304);

    // As for an image stored before thumbnails existed: concurrent first requests make one.
    const { objects } = await app.services;
    await objects.delete(thumbnailKey(id));
    const again = await Promise.all([fetch(url), fetch(url)]);
    assert.deepEqual(
      again.map((r) => [r.status, r.headers.get('content-type')]),
      [
        [200, 'image/webp'],
        [200, 'image/webp'],
      ],
    );
    assert.equal(await objects.exists(thumbnailKey(id)), true);
    assert.equal((await fetch(`${app.url}/thumbnails/${'0'.repeat(64)}.webp`)).status, 404);
    assert.equal((await fetch(`${app.url}/thumbnails/${id}.png`)).status, 404);
  });

  test('a JPEG the decoder only warns about (stray bytes before a marker) is stored, and its thumbnail serves', async () => {
    const clean = await noisy(COLOURS.magenta, 20, 6, 'jpeg');
    const scan = clean.indexOf(Buffer.from([0xff, 0xda])); // start of scan
    // libjpeg: "Corrupt JPEG data: 3 extraneous bytes before marker 0xda", a warning, not an error.
    const bytes = Buffer.concat([clean.subarray(0, scan), Buffer.from([0x12, 0x34, 0x56]), clean.subarray(scan)]);
    const { body } = await post(app, multipart(UPLOAD_ONE, [{ bytes, name: 'stray.jpg' }]));
    const id = body.data?.uploadImage.image.id;
    assert.equal(id?.length, 64, JSON.stringify(body));
    const served = await fetch(`${app.url}/thumbnails/${id}.webp`);
    assert.equal(served.status, 200);
    assert.equal((await sharp(Buffer.from(await served.arrayBuffer())).metadata()).format, 'webp');
  });

  test('missing thumbnails of many images at once read at most DECODE_CONCURRENCY (2) originals at a time, plus one small', async (t) => {
    const images = await distinctImages(4, COLOURS.green, 500); // MAX_UPLOAD_FILES here
    const { body } = await post(
      app,
      multipart(
        UPLOAD_MANY,
        images.map((bytes, i) => ({ bytes, name: `g${i}.png` })),
        true,
      ),
    );
    const ids: string[] = body.data.uploadImages.map((r: { image: { id: string } }) => r.image.id);
    const { objects } = await app.services;
    for (const id of ids) await objects.delete(thumbnailKey(id));
    // Originals being read at once: from the call until their bytes have all arrived.
    let reading = 0;
    let most = 0;
    const get = objects.get.bind(objects);
    t.mock.method(objects, 'get', async (key: string) => {
      if (!key.startsWith('images/')) return get(key);
      most = Math.max(most, ++reading);
      const found = await get(key);
      if (!found) reading--;
      else found.body.once('end', () => reading--);
      return found;
    });
    const served = await Promise.all(ids.map((id) => fetch(`${app.url}/thumbnails/${id}.webp`)));
    assert.deepEqual(
      served.map((r) => r.status),
      ids.map(() => 200),
    );
    // Small decodes also have a lane of their own beside the budget (decode-budget.ts).
    assert.ok(most <= 3, `${most} originals read at once`);
  });

  test('a thumbnail that cannot be made answers 500 with no-store, never an immutable error', async (t) => {
    const { body } = await post(app, multipart(UPLOAD_ONE, [{ bytes: await solid(COLOURS.cyan), name: 'c.png' }]));
    const { id } = body.data.uploadImage.image;
    const { objects } = await app.services;
    await objects.delete(thumbnailKey(id));
    t.mock.method(objects, 'put', () => Promise.reject(new Error('disk full')));
    const failed = await fetch(`${app.url}/thumbnails/${id}.webp`);
    assert.equal(failed.status, 500);
    assert.equal(failed.headers.get('cache-control'), 'no-store');
    assert.notEqual(failed.headers.get('etag'), `"${id}"`);
  });

  test('a thumbnail of an unknown id costs the store one request, not one per format', async (t) => {
    const { objects } = await app.services;
    const calls: string[] = [];
    for (const method of ['get', 'exists', 'put'] as const) {
      const original = objects[method].bind(objects) as (...args: unknown[]) => Promise<unknown>;
      t.mock.method(objects, method, (...args: unknown[]) => {
        calls.push(`${method} ${String(args[0])}`);
        return original(...args);
      });
    }
    const missing = await fetch(`${app.url}/thumbnails/${'9'.repeat(64)}.webp`);
    assert.equal(missing.status, 404);
    assert.deepEqual(calls, [`get thumbnails/${'9'.repeat(64)}.webp`]);
  });

  test('multipart requests need the CSRF preflight header', async () => {
    const { status, body } = await post(
      app,
      multipart(UPLOAD_ONE, [{ bytes: await solid(COLOURS.red), name: 'r.png' }]),
      {},
    );
    assert.equal(status, 400);
    assert.match(JSON.stringify(body), /preflight|CSRF/i);
  });

  test('bad input is refused with BAD_USER_INPUT, writes nothing and the server stays up', async () => {
    const png = await solid(COLOURS.red);
    const huge = await sharp({ create: { width: 2000, height: 1000, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    // A pattern, when given, is what the message must name.
    const cases: Array<[string, FormData, RegExp?]> = [
      ['not an image', multipart(UPLOAD_ONE, [{ bytes: Buffer.from('hello, not an image'), name: 'a.png' }])],
      [
        'truncated',
        multipart(UPLOAD_ONE, [{ bytes: (await solid(COLOURS.red, 'jpeg', 256)).subarray(0, 400), name: 't.jpg' }]),
      ],
      ['zero bytes', multipart(UPLOAD_ONE, [{ bytes: new Uint8Array(), name: 'empty.png' }])],
      [
        'over MAX_UPLOAD_BYTES',
        multipart(UPLOAD_ONE, [{ bytes: oversize(png, 200_000), name: 'big.png' }]),
        /over the limit of 200000 bytes \(MAX_UPLOAD_BYTES\)/,
      ],
      ['over MAX_IMAGE_PIXELS', multipart(UPLOAD_ONE, [{ bytes: huge, name: 'bomb.png' }])],
      [
        'too many files',
        multipart(
          UPLOAD_MANY,
          Array.from({ length: 5 }, (_, i) => ({ bytes: png, name: `${i}.png` })),
          true,
        ),
      ],
      [
        'one bad file in a batch',
        multipart(
          UPLOAD_MANY,
          [
            { bytes: png, name: 'ok.png' },
            { bytes: Buffer.from('nope'), name: 'bad.png' },
          ],
          true,
        ),
      ],
    ];
    const before = await versionOf(app);
    for (const [name, form, pattern] of cases) {
      const { body } = await post(app, form);
      assert.equal(body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', `${name}: ${JSON.stringify(body)}`);
      if (pattern) assert.match(body.errors[0].message, pattern, name);
    }
    for (const query of [
      '{ search(text: "") { version } }',
      `{ search(text: "${'x'.repeat(1001)}") { version } }`,
      '{ search(text: "red", limit: 0) { version } }',
      '{ search(text: "red", limit: 101) { version } }',
      '{ image(id: "not-a-hash") { id } }',
    ]) {
      const { body } = await post(app, { query });
      assert.equal(body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', query);
    }
    assert.equal(await versionOf(app), before, 'nothing was committed');
    assert.equal((await fetch(`${app.url}/healthz`)).status, 200);
  });

  test('API_KEY guards mutations and leaves queries open', async () => {
    const guarded = await openApp({ API_KEY: 'sekret' });
    try {
      const form = () => multipart(UPLOAD_ONE, [{ bytes: Buffer.from('x'), name: 'x.png' }]);
      const denied = await post(guarded, form());
      assert.equal(denied.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      const wrong = await post(guarded, form(), { ...PREFLIGHT, authorization: 'Bearer nope' });
      assert.equal(wrong.body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED');
      const allowed = await post(
        guarded,
        multipart(UPLOAD_ONE, [{ bytes: await solid(COLOURS.white), name: 'w.png' }]),
        {
          ...PREFLIGHT,
          authorization: 'Bearer sekret',
        },
      );
      assert.equal(allowed.body.data?.uploadImage.created, true);
      const query = await post(guarded, { query: '{ dataset { rowCount } }' });
      assert.equal(query.body.data?.dataset.rowCount, 1);
    } finally {
      await guarded.close();
    }
  });

  test('/healthz answers while the model loads; /readyz and /graphql wait for it', async () => {
    let release!: (value: Awaited<ReturnType<typeof testModel>>) => void;
    const slowModel = new Promise<Awaited<ReturnType<typeof testModel>>>((resolve) => (release = resolve));
    const settings = await testSettings();
    const starting = await createApp(settings, createLogger('silent'), { model: slowModel });
    const server = await starting.listen(0);
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      assert.equal((await fetch(`${url}/readyz`)).status, 503);
      const early = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ dataset { version } }"}',
      });
      assert.equal(early.status, 503);
      release(await testModel());
      await starting.services;
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
    } finally {
      await starting.close();
      await rm(settings.DATA_URI, { recursive: true, force: true });
    }
  });
});

/** The multipart layer's bounds on request bodies (issue 6, finding 4), with the real reader. */
describe('upload request bounds', () => {
  const MAX_REQUEST = 150_000;
  let app: App;
  before(async () => {
    app = await openApp({
      MAX_REQUEST_BYTES: String(MAX_REQUEST),
      UPLOAD_CONCURRENCY: '1',
      UPLOAD_BODY_TIMEOUT_MS: '1500',
    });
  });
  after(() => app.close());

  test('files over MAX_REQUEST_BYTES together, each one under MAX_UPLOAD_BYTES, get a 413 and nothing is stored', async () => {
    // Two real PNGs padded to 80,000 bytes each: 160,000 in all, within the framing slack that the
    // declared-length check allows, so it is the count of bytes read that must refuse them.
    const files = [oversize(await solid(COLOURS.orange), 79_999), oversize(await solid(COLOURS.purple), 79_999)];
    const before = await versionOf(app);
    const { status, body } = await post(
      app,
      multipart(
        UPLOAD_MANY,
        files.map((bytes, i) => ({ bytes, name: `${i}.png` })),
        true,
      ),
    );
    assert.equal(status, 413, JSON.stringify(body));
    assert.equal(body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.match(
      body.errors![0].message,
      new RegExp(`over the limit of ${MAX_REQUEST} bytes per request \\(MAX_REQUEST_BYTES\\)`),
    );
    assert.equal(await versionOf(app), before, 'nothing was committed');
    const { objects } = await app.services;
    for (const bytes of files) assert.equal(await objects.exists(imageKey(sha256(bytes), 'png')), false);
  });

  test('a declared Content-Length far over MAX_REQUEST_BYTES gets a 413 before any of the body is read', async (t) => {
    const readers = countReaders(t);
    // Headers only: a server that waited for this body would answer 408 after UPLOAD_BODY_TIMEOUT_MS.
    const answer = await rawPost(app, 100_000_000, '');
    assert.equal(answer.status, 413, answer.text);
    assert.equal(answer.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
    assert.match(
      answer.body.errors![0].message,
      new RegExp(`the request is 100000000 bytes, over the limit of ${MAX_REQUEST}\\b`),
    );
    assert.equal(readers.started, 0, 'no body was read');
  });

  test('with UPLOAD_CONCURRENCY=1 an upload waits unread while another stalls; that one gets a 408 after UPLOAD_BODY_TIMEOUT_MS', async (t) => {
    const red = await solid(COLOURS.red);
    const readers = countReaders(t);
    // Headers and the start of a body that promises far more, then nothing.
    const stalled = rawPost(app, 100_000, '--b\r\n');
    await until(() => readers.started === 1);
    const second = post(app, multipart(UPLOAD_ONE, [{ bytes: red, name: 'r.png' }]));
    const answer = await stalled;
    assert.equal(answer.status, 408, answer.text);
    assert.equal(answer.body.errors?.[0]?.extensions?.code, 'BAD_REQUEST');
    assert.match(answer.body.errors![0].message, /UPLOAD_BODY_TIMEOUT_MS/);
    // The slot is free again, and the second upload was read only once it was.
    const stored = await second;
    assert.equal(stored.body.data?.uploadImage.created, true, JSON.stringify(stored.body));
    assert.equal(readers.started, 2);
    assert.equal(readers.most, 1, 'the second body was read while the stalled one held the only slot');
  });
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

/**
 * Request bodies being read at once, counted where the multipart reader starts one (the request
 * piped into busboy) until it stops (the request ends, or is unpiped when refused): the slots
 * that UPLOAD_CONCURRENCY bounds, as the real reader takes and frees them.
 */
function countReaders(t: TestContext): { started: number; most: number } {
  const readers = { started: 0, most: 0 };
  let now = 0;
  const pipe = IncomingMessage.prototype.pipe;
  t.mock.method(
    IncomingMessage.prototype,
    'pipe',
    function (this: IncomingMessage, destination: NodeJS.WritableStream, options?: { end?: boolean }) {
      readers.started++;
      readers.most = Math.max(readers.most, ++now);
      let done = false;
      const stop = () => {
        if (!done) now--;
        done = true;
      };
      this.once('end', stop).once('close', stop);
      destination.once('unpipe', stop);
      return pipe.call(this, destination, options);
    },
  );
  return readers;
}

interface RawAnswer {
  status: number;
  body: Awaited<ReturnType<typeof post>>['body'];
  text: string;
}

/**
 * A multipart POST sent by hand: headers declaring `contentLength` bytes, then `body` (usually
 * much less) and nothing more. Resolves with the answer once the server closes the connection.
 */
function rawPost(app: App, contentLength: number, body: string): Promise<RawAnswer> {
  const { port } = new URL(app.url);
  const socket = connect(Number(port), '127.0.0.1');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.write(
    'POST /graphql HTTP/1.1\r\nHost: x\r\napollo-require-preflight: true\r\n' +
      `content-type: multipart/form-data; boundary=b\r\ncontent-length: ${contentLength}\r\n\r\n${body}`,
  );
  return new Promise<RawAnswer>((resolve) =>
    socket.once('close', () =>
      resolve({
        status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]),
        body: JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4) || 'null'),
        text,
      }),
    ),
  );
}
