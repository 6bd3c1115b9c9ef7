import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { IncomingMessage, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import sharp from 'sharp';
import { createLogger } from '../src/logger.js';
import { createApp } from '../src/server.js';
import { imageKey, thumbnailKey } from '../src/services/images/image-key.js';
import { COLOURS, distinctImages, noisy, oversize, solid } from './support/images.js';
import {
  UPLOAD_MANY,
  UPLOAD_ONE,
  multipart,
  openApp,
  testModel,
  testSettings,
  until as poll,
} from './support/harness.js';

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

  test('no site can frame any page or answer: the UI, the explorer, images, errors', async () => {
    const { body } = await post(app, multipart(UPLOAD_ONE, [{ bytes: await solid(COLOURS.magenta), name: 'm.png' }]));
    const { id, key } = body.data.uploadImage.image;
    const html = { accept: 'text/html' };
    const answers = {
      'the UI': await fetch(`${app.url}/`, { headers: html }),
      'a UI route': await fetch(`${app.url}/search?text=cat`, { headers: html }),
      'the /graphql page': await fetch(`${app.url}/graphql`, { headers: html }),
      'a GraphQL answer': await fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"query":"{ dataset { version } }"}',
      }),
      'an image': await fetch(`${app.url}/${key}`),
      'a thumbnail': await fetch(`${app.url}/thumbnails/${id}.webp`),
      'a missing image': await fetch(`${app.url}/images/${'0'.repeat(64)}.jpg`),
      '/healthz': await fetch(`${app.url}/healthz`),
    };
    for (const [what, response] of Object.entries(answers)) {
      const headers = Object.fromEntries(
        ['x-frame-options', 'content-security-policy', 'x-content-type-options', 'referrer-policy'].map((name) => [
          name,
          response.headers.get(name),
        ]),
      );
      // The explorer's page has a CSP of its own; every CSP forbids framing.
      const csp = headers['content-security-policy'] ?? '';
      assert.match(csp, /(^|; )frame-ancestors 'none'($|;)/, what);
      assert.deepEqual(
        { ...headers, 'content-security-policy': undefined },
        {
          'x-frame-options': 'DENY',
          'content-security-policy': undefined,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
        },
        what,
      );
      await response.arrayBuffer();
    }
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
/** An IPv4 address of this machine that is not loopback, when it has one. */
const EXTERNAL = Object.values(networkInterfaces())
  .flat()
  .find((i) => i?.family === 'IPv4' && !i.internal)?.address;

describe('open only to this machine unless API_KEY is set', () => {
  const reach = (url: string) =>
    fetch(`${url}/healthz`).then(
      (r) => r.status,
      () => 'refused',
    );

  test('with no API_KEY and no HOST the service listens on loopback only', { skip: !EXTERNAL }, async () => {
    const app = await openApp();
    try {
      const port = new URL(app.url).port;
      assert.equal(await reach(`http://127.0.0.1:${port}`), 200);
      assert.equal(await reach(`http://${EXTERNAL}:${port}`), 'refused');
    } finally {
      await app.close();
    }
  });

  test('a page that rebinds its own name to 127.0.0.1 is refused: with no API_KEY only requests for localhost are answered', async () => {
    const app = await openApp();
    try {
      const port = new URL(app.url).port;
      const query = JSON.stringify({ query: 'mutation { restoreVersion(version: 1) { version } }' });
      const rebound = await rawRequest(app, 'attacker.example', query);
      assert.equal(rebound.status, 403, rebound.text);
      assert.match(rebound.text, /"code":"FORBIDDEN"/);
      assert.match(rebound.text, /DNS rebinding/);
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'app.localhost']) {
        const local = await rawRequest(app, host, JSON.stringify({ query: '{ dataset { version } }' }));
        assert.equal(local.status, 200, `${host}: ${local.text}`);
      }
    } finally {
      await app.close();
    }
  });

  test(
    'HOST=0.0.0.0 without API_KEY: searches and uploads are open, deletes and restores answer only to this machine',
    { skip: !EXTERNAL },
    async () => {
      const app = await openApp({ HOST: '0.0.0.0' });
      try {
        const port = new URL(app.url).port;
        const remote = { ...app, url: `http://${EXTERNAL}:${port}` };
        const stored = await post(
          remote,
          multipart(UPLOAD_ONE, [{ bytes: await solid(COLOURS.green), name: 'g.png' }]),
        );
        assert.equal(stored.body.data?.uploadImage.created, true, JSON.stringify(stored.body));
        const id = stored.body.data.uploadImage.image.id as string;
        const before = await versionOf(app);
        const refused = [
          'mutation { restoreVersion(version: 1) { version } }',
          `mutation { deleteImage(id: "${id}") { deleted } }`,
          // Through a fragment, and beside an allowed field, it is still found.
          `mutation { ...F } fragment F on Mutation { deleteImage(id: "${id}") { deleted } }`,
          'mutation { optimizeDataset { version } }',
        ];
        for (const query of refused) {
          const { status, body } = await post(remote, { query });
          assert.equal(body.errors?.[0]?.extensions?.code, 'UNAUTHENTICATED', query);
          assert.equal(status, 401, query);
        }
        // From this machine's socket, but for a name that is not this machine's: a rebound page.
        const rebound = await rawRequest(app, 'attacker.example', JSON.stringify({ query: refused[0] }));
        assert.match(rebound.text, /"code":"UNAUTHENTICATED"/, rebound.text);
        assert.equal(await versionOf(app), before, 'nothing was committed');
        const search = await post(remote, { query: '{ search(text: "green") { hits { image { id } } } }' });
        assert.equal(search.body.data?.search.hits[0]?.image.id, id);
        // From this machine the same mutation runs.
        const local = await post(app, { query: `mutation { deleteImage(id: "${id}") { deleted } }` });
        assert.equal(local.body.data?.deleteImage.deleted, true, JSON.stringify(local.body));
      } finally {
        await app.close();
      }
    },
  );
});

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

  test('a stalled body holds no processing slot: with UPLOAD_CONCURRENCY=1 another upload is stored meanwhile, and the stalled one gets a 408 after UPLOAD_BODY_TIMEOUT_MS', async (t) => {
    const red = await solid(COLOURS.red);
    const readers = countReaders(t);
    // Headers and the start of a body that promises far more, then nothing.
    let stalledAnswered = false;
    const stalled = rawPost(app, 100_000, '--b\r\n').finally(() => (stalledAnswered = true));
    await until(() => readers.started === 1);
    const stored = await post(app, multipart(UPLOAD_ONE, [{ bytes: red, name: 'r.png' }]));
    assert.equal(stored.body.data?.uploadImage.created, true, JSON.stringify(stored.body));
    assert.equal(stalledAnswered, false, 'the upload was stored while the stalled body still arrived');
    const answer = await stalled;
    assert.equal(answer.status, 408, answer.text);
    assert.equal(answer.body.errors?.[0]?.extensions?.code, 'BAD_REQUEST');
    assert.match(answer.body.errors![0].message, /UPLOAD_BODY_TIMEOUT_MS/);
  });
  test('a client that leaves while its upload waits for the processing slot frees it: later uploads are served', async (t) => {
    const { uploads } = await app.services;
    const uploadAll = uploads.uploadAll.bind(uploads);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const calls = t.mock.method(uploads, 'uploadAll', async (...args: Parameters<typeof uploadAll>) => {
      if (calls.mock.callCount() === 1) await held;
      return uploadAll(...args);
    });
    const first = post(app, multipart(UPLOAD_ONE, [{ bytes: await solid(COLOURS.blue), name: 'b.png' }]));
    await until(() => calls.mock.callCount() === 1);
    // A whole second upload, whose client then hangs up while it waits for the only slot.
    const request = new Request(app.url, {
      method: 'POST',
      body: multipart(UPLOAD_ONE, [{ bytes: await solid(COLOURS.green), name: 'g.png' }]),
    });
    const payload = Buffer.from(await request.arrayBuffer());
    const before = await bufferBytes(app);
    const gone = openBody(app, payload.byteLength, payload, '127.0.0.1', request.headers.get('content-type')!);
    await poll(async () => (await bufferBytes(app)) >= before + payload.byteLength, 'the second body to be in');
    gone.socket.destroy();
    await gone.answer;
    release();
    assert.equal((await first).body.data?.uploadImage.created, true);
    const third = post(app, multipart(UPLOAD_ONE, [{ bytes: await solid(COLOURS.orange), name: 'o.png' }]));
    const stuck = new Promise<'stuck'>((resolve) => setTimeout(() => resolve('stuck'), 20_000).unref());
    const answer = await Promise.race([third, stuck]);
    assert.notEqual(answer, 'stuck', 'the slot the departed client held was never given back');
    assert.equal(calls.mock.callCount(), 2, 'the departed client was not served');
  });
});

/** Slow bodies, many bodies from one client, and bodies past the shared buffer (issue 13, finding 2). */
describe('upload bodies that arrive slowly or all at once', () => {
  let app: App;
  before(async () => {
    app = await openApp({
      UPLOAD_RATE_GRACE_MS: '500',
      UPLOAD_MIN_BYTES_PER_SEC: '1000',
      UPLOAD_BODY_TIMEOUT_MS: '600000',
      UPLOAD_BUFFER_BYTES: '300000',
      MAX_REQUEST_BYTES: '300000',
      UPLOAD_CLIENT_BODIES: '2',
    });
  });
  after(() => app.close());

  test(
    'a body trickling under UPLOAD_MIN_BYTES_PER_SEC is refused with a 408 once its grace is over',
    { timeout: 60_000 },
    async () => {
      const body = openBody(app, 100_000, '--b\r\n');
      // A byte every 100 ms: 10 bytes/s, far under the minimum, long before the body timeout.
      const trickle = setInterval(() => body.socket.writable && body.socket.write('x'), 100);
      try {
        const answer = await body.answer;
        assert.equal(answer.status, 408, answer.text);
        assert.match(answer.body.errors![0].message, /under the minimum of 1000 \(UPLOAD_MIN_BYTES_PER_SEC\)/);
      } finally {
        clearInterval(trickle);
      }
    },
  );

  test('a client sending more than UPLOAD_CLIENT_BODIES bodies at once gets a 429 with Retry-After; another client is served', async (t) => {
    const readers = countReaders(t);
    const held = [openBody(app, 100_000, '--b\r\n'), openBody(app, 100_000, '--b\r\n')];
    try {
      await until(() => readers.started === 2);
      const third = await openBody(app, 100_000, '--b\r\n').answer;
      assert.equal(third.status, 429, third.text);
      assert.match(third.text, /\r\nretry-after: 1\r\n/i);
      assert.equal(third.body.errors?.[0]?.extensions?.code, 'RATE_LIMITED');
      const other = await postFrom(
        '127.0.0.2',
        app,
        multipart(UPLOAD_ONE, [{ bytes: await solid(COLOURS.cyan), name: 'c.png' }]),
      );
      assert.equal(other.status, 200, other.text);
      assert.match(other.text, /"created":true/);
    } finally {
      for (const body of held) body.socket.destroy();
    }
  });

  test('a body that would take the upload buffer past UPLOAD_BUFFER_BYTES gets a 503 with Retry-After, and nothing is stored', async () => {
    // 250,000 bytes held by a body that then stalls (fast enough for the rate: it came at once).
    const hog = openBody(app, 290_000, startOfUpload(250_000), '127.0.0.3');
    const before = await versionOf(app);
    const bytes = oversize(await solid(COLOURS.black), 90_000);
    const form = () => multipart(UPLOAD_ONE, [{ bytes, name: 'n.png' }]);
    try {
      await poll(async () => (await bufferBytes(app)) >= 250_000, 'the body to be held');
      const refused = await postFrom('127.0.0.2', app, form());
      assert.equal(refused.status, 503, refused.text);
      assert.match(refused.text, /\r\nretry-after: 1\r\n/i);
      assert.match(refused.text, /UPLOAD_BUFFER_BYTES/);
      assert.equal(await versionOf(app), before, 'nothing was committed');
    } finally {
      hog.socket.destroy();
    }
    // Its bytes are given back once it is gone.
    await poll(async () => (await bufferBytes(app)) === 0, 'its bytes to be given back');
    const stored = await postFrom('127.0.0.2', app, form());
    assert.equal(stored.status, 200, stored.text);
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
    'POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\napollo-require-preflight: true\r\n' +
      `content-type: multipart/form-data; boundary=b\r\ncontent-length: ${contentLength}\r\n\r\n${body}`,
  );
  return new Promise<RawAnswer>((resolve) => socket.once('close', () => resolve(parseAnswer(text))));
}

/**
 * A POST to /graphql sent by hand from `localAddress` (another loopback address is another
 * client): headers declaring `contentLength` bytes, then `body`. Returns the socket, to send more
 * or cut it, and the answer once the server closes the connection (`Connection: close`).
 */
function openBody(
  app: App,
  contentLength: number,
  body: string | Buffer,
  localAddress = '127.0.0.1',
  contentType = 'multipart/form-data; boundary=b',
) {
  const { port } = new URL(app.url);
  const socket = connect({ port: Number(port), host: '127.0.0.1', localAddress });
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
  socket.on('error', () => {});
  socket.write(
    'POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\napollo-require-preflight: true\r\n' +
      `content-type: ${contentType}\r\ncontent-length: ${contentLength}\r\n\r\n`,
  );
  socket.write(body);
  const answer = new Promise<RawAnswer>((resolve) => socket.once('close', () => resolve(parseAnswer(text))));
  return { socket, answer };
}

/** A whole multipart POST from `localAddress`. */
async function postFrom(localAddress: string, app: App, form: FormData): Promise<RawAnswer> {
  const request = new Request(app.url, { method: 'POST', body: form });
  const payload = Buffer.from(await request.arrayBuffer());
  return openBody(app, payload.byteLength, payload, localAddress, request.headers.get('content-type')!).answer;
}

function parseAnswer(text: string): RawAnswer {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]), body: body ? JSON.parse(body) : null, text };
}

/** The upload buffer's bytes, as /metrics reports them. */
async function bufferBytes(app: App): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  return Number(/^lance_image_search_upload_buffer_bytes (\d+)/m.exec(text)?.[1]);
}

/** The start of a well-formed upload body (boundary b): its operations, map, and `fileBytes` of its file. */
function startOfUpload(fileBytes: number): string {
  const part = (headers: string, value: string) => `--b\r\n${headers}\r\n\r\n${value}\r\n`;
  const operations = JSON.stringify({ query: UPLOAD_ONE, variables: { file: null } });
  return (
    part('Content-Disposition: form-data; name="operations"', operations) +
    part('Content-Disposition: form-data; name="map"', '{"0":["variables.file"]}') +
    '--b\r\nContent-Disposition: form-data; name="0"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n' +
    'x'.repeat(fileBytes)
  );
}

/** A JSON POST to /graphql from 127.0.0.1 with the given Host header (fetch does not let one set it). */
function rawRequest(app: App, host: string, body: string): Promise<RawAnswer> {
  const { port } = new URL(app.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: Number(port),
        path: '/graphql',
        method: 'POST',
        headers: { host, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || 'null'), text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
