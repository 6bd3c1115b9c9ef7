import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rename, rm, statfs, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { COLOURS, distinctImages } from './support/images.js';
import {
  ERROR_LEVEL,
  UPLOAD_ONE,
  multipart,
  openApp,
  recordingLogger,
  tempDir,
  type LogLine,
} from './support/harness.js';
import { S3_SKIP, s3Env } from './support/s3.js';
import { startS3Proxy } from './support/s3-proxy.js';

type App = Awaited<ReturnType<typeof openApp>>;
type Answer = { status: number; retryAfter: string | null; codes: unknown[] };

const VERSIONS = '{ versions { version } }';
const FILES = '{ dataset { files { path } } }';
const OPTIMIZE = 'mutation { optimizeDataset { version } }';
const deleting = (id: string) => `mutation { deleteImage(id: "${id}") { deleted } }`;

async function answer(response: Response): Promise<Answer> {
  const body = (await response.json()) as { errors?: Array<{ extensions?: { code?: unknown } }> };
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    codes: (body.errors ?? []).map((e) => e.extensions?.code),
  };
}

function graphql(app: App, query: string): Promise<Answer> {
  return fetch(`${app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  }).then(answer);
}

const get = (app: App, key: string) => fetch(`${app.url}/${key}`).then(answer);

/** What clients retry: HTTP 503, Retry-After, and (in GraphQL's shape) SERVICE_UNAVAILABLE alone. */
const UNAVAILABLE: Answer = { status: 503, retryAfter: '5', codes: ['SERVICE_UNAVAILABLE'] };

/** An app that stored two images (each with its thumbnail, each in its own fragment). */
async function appWithImages(t: TestContext, env: Record<string, string> = {}) {
  const { logger, lines } = recordingLogger();
  const app = await openApp(env, logger);
  t.after(() => app.close());
  const images = [];
  for (const [i, bytes] of (await distinctImages(2, COLOURS.blue)).entries()) {
    const response = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'apollo-require-preflight': 'true' },
      body: multipart(UPLOAD_ONE, [{ bytes, name: `${i}.png` }]),
    });
    const body = (await response.json()) as { data: { uploadImage: { image: { id: string; key: string } } } };
    images.push(body.data.uploadImage.image);
  }
  const services = await app.services;
  return { app, services, images, lines };
}

const errorsLogged = (lines: LogLine[]) => lines.filter((line) => line.level >= ERROR_LEVEL).map((line) => line.msg);

/**
 * Storage that fails (gone, stopped, full) is no fault of the service: every route answers
 * SERVICE_UNAVAILABLE, HTTP 503 with Retry-After, so that clients retry; the log warns instead of
 * logging an error; and the service answers again once the storage is back.
 */
describe('storage unavailable', () => {
  test('a data directory that is gone: reads, writes and downloads answer 503 with Retry-After', async (t) => {
    const { app, services, images, lines } = await appWithImages(t);
    const [image] = images;
    const root = services.settings.DATA_URI;
    // What an unmounted or failed disk looks like, even to root (whom permissions do not stop).
    await rename(root, `${root}.away`);
    await writeFile(root, 'not a directory');
    try {
      assert.deepEqual(await graphql(app, VERSIONS), UNAVAILABLE, 'versions');
      assert.deepEqual(await graphql(app, FILES), UNAVAILABLE, 'dataset files');
      assert.deepEqual(await graphql(app, deleting(image!.id)), UNAVAILABLE, 'delete');
      assert.deepEqual(await graphql(app, OPTIMIZE), UNAVAILABLE, 'optimize');
      assert.deepEqual(await get(app, image!.key), UNAVAILABLE, 'image GET');
      assert.deepEqual(await get(app, `thumbnails/${image!.id}.webp`), UNAVAILABLE, 'thumbnail GET');
    } finally {
      await rm(root);
      await rename(`${root}.away`, root);
    }
    assert.deepEqual(errorsLogged(lines), [], 'an outage is a warning, not an error');
    assert.ok(lines.some((line) => line.msg === 'storage unavailable' && line.err));
    assert.equal((await graphql(app, VERSIONS)).status, 200, 'answers again once the storage is back');
    assert.equal((await fetch(`${app.url}/${image!.key}`)).status, 200);
  });

  test('a bucket whose endpoint stops: the same, and back once it starts again', { skip: S3_SKIP }, async (t) => {
    let proxy = await startS3Proxy(process.env.S3_ENDPOINT!);
    const port = new URL(proxy.url).port;
    t.after(() => proxy.close());
    // Short timeouts: each request costs the SDK's and Lance's retries.
    const { app, images, lines } = await appWithImages(t, { ...s3Env(proxy.url), S3_REQUEST_TIMEOUT_MS: '1500' });
    const [image] = images;
    await proxy.close();
    assert.deepEqual(await graphql(app, VERSIONS), UNAVAILABLE, 'versions');
    assert.deepEqual(await graphql(app, deleting(image!.id)), UNAVAILABLE, 'delete');
    assert.deepEqual(await graphql(app, OPTIMIZE), UNAVAILABLE, 'optimize');
    assert.deepEqual(await get(app, image!.key), UNAVAILABLE, 'image GET');
    assert.deepEqual(await get(app, `thumbnails/${image!.id}.webp`), UNAVAILABLE, 'thumbnail GET');
    assert.deepEqual(errorsLogged(lines), []);
    proxy = await startS3Proxy(process.env.S3_ENDPOINT!, { port: Number(port) });
    assert.equal((await graphql(app, VERSIONS)).status, 200, 'answers again once the endpoint is back');
    assert.equal((await fetch(`${app.url}/${image!.key}`)).status, 200);
  });

  test('a full disk: delete, optimize and uploads answer 503, leave no temp file, and work once there is room', async (t) => {
    const root = await tempDir('full-disk-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', root], { stdio: 'ignore' });
    } catch {
      await rm(root, { recursive: true });
      return t.skip('mounting a small tmpfs needs root');
    }
    const dataUri = path.join(root, 'data');
    await mkdir(dataUri);
    const { app, images, lines } = await appWithImages(t, { DATA_URI: dataUri });
    // After the app closes (hooks run in the order they were added).
    t.after(async () => {
      execFileSync('umount', ['-l', root]);
      await rm(root, { recursive: true });
    });
    const filler = path.join(root, 'filler');
    const { bavail, bsize } = await statfs(root);
    await writeFile(filler, Buffer.alloc(Number(bavail) * Number(bsize))).catch(() => {});
    const [extra] = await distinctImages(1, COLOURS.red, 7000);
    const upload = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'apollo-require-preflight': 'true' },
      body: multipart(UPLOAD_ONE, [{ bytes: extra!, name: 'extra.png' }]),
    }).then(answer);
    assert.deepEqual(upload, UNAVAILABLE, 'upload');
    const tempFiles = (await readdir(path.join(dataUri, 'images'))).filter((name) => name.endsWith('.tmp'));
    assert.deepEqual(tempFiles, [], 'a write the full disk cut short leaves no temp file');
    assert.deepEqual(await graphql(app, deleting(images[0]!.id)), UNAVAILABLE, 'delete');
    assert.deepEqual(await graphql(app, OPTIMIZE), UNAVAILABLE, 'optimize');
    assert.deepEqual(errorsLogged(lines), []);
    await rm(filler);
    const deleted = await graphql(app, deleting(images[0]!.id));
    assert.deepEqual(deleted, { status: 200, retryAfter: null, codes: [] }, 'deletes once there is room');
  });
});
