import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { crossSite } from '../src/http/cross-site.js';
import { COLOURS, oversize, solid } from './support/images.js';
import { openApp, tempDir } from './support/harness.js';
import { S3_SKIP, s3Env } from './support/s3.js';

type App = Awaited<ReturnType<typeof openApp>>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const run = promisify(execFile);

/** Runs real curl; -sS as a script would, -w to read the status after the body. */
async function curl(...args: string[]): Promise<{ status: number; body: Json }> {
  const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args]);
  const cut = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(cut + 1)), body: JSON.parse(stdout.slice(0, cut)) };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const versionOf = async (app: App) => (await app.services).catalog.version();

/** The Python MVP's API, as its users' scripts call it: real curl against the real HTTP server. */
describe("the MVP's API", () => {
  let app: App;
  let photos: string;
  const files = new Map<string, Buffer>();
  before(async () => {
    app = await openApp({ MAX_UPLOAD_BYTES: '200000' });
    photos = await tempDir('mvp-photos-');
    for (const colour of ['red', 'green', 'blue'] as const) {
      const bytes = await solid(COLOURS[colour], 'jpeg');
      files.set(`${colour}.jpg`, bytes);
      await writeFile(path.join(photos, `${colour}.jpg`), bytes);
    }
    await writeFile(path.join(photos, 'notes.txt'), 'not an image');
    await writeFile(path.join(photos, 'big.jpg'), oversize(files.get('red.jpg')!, 200_000));
  });
  after(async () => {
    await app.close();
    await rm(photos, { recursive: true, force: true });
  });

  test("the MVP's bash loop stores every photo; run again, it stores nothing new", async () => {
    const loop = 'for f in *.jpg; do curl -F "file=@$f" $HOST/vectorize_and_store; done';
    // big.jpg is over MAX_UPLOAD_BYTES: the loop goes on past its refusal.
    const uploaded = async () => {
      const { stdout } = await run('bash', ['-c', loop], { cwd: photos, env: { ...process.env, HOST: app.url } });
      // curl prints the answers back to back, as the MVP's loop did.
      return JSON.parse(`[${stdout.replaceAll('}{', '},{')}]`) as Json[];
    };
    const before = await versionOf(app);
    const first = await uploaded();
    assert.equal(first.length, 4, JSON.stringify(first));
    assert.match(first[0].errors[0].message, /over the limit of 200000 bytes \(MAX_UPLOAD_BYTES\)/);
    for (const [i, name] of ['blue.jpg', 'green.jpg', 'red.jpg'].entries()) {
      const answer = first[i + 1];
      const id = sha256(files.get(name)!);
      assert.deepEqual(Object.keys(answer).sort(), ['created', 'id', 'key', 'path']);
      assert.equal(answer.id, id);
      assert.equal(answer.key, `images/${id}.jpg`);
      assert.equal(answer.created, true);
      // The path is the object itself: on local disk, a file: URL of the stored bytes.
      assert.match(answer.path, /^file:\/\/\//);
      assert.deepEqual(await readFile(fileURLToPath(answer.path)), files.get(name));
    }
    assert.equal(await versionOf(app), before + 3);

    const again = await uploaded();
    assert.deepEqual(
      again.slice(1).map((answer: Json) => [answer.id, answer.created]),
      first.slice(1).map((answer: Json) => [answer.id, false]),
    );
    assert.equal(await versionOf(app), before + 3);
  });

  test('an upload answers 201 when new and 200 when the bytes were stored already', async () => {
    const bytes = await solid(COLOURS.orange, 'png');
    const file = path.join(photos, 'orange.png');
    await writeFile(file, bytes);
    const first = await curl('-F', `file=@${file}`, `${app.url}/vectorize_and_store`);
    assert.deepEqual([first.status, first.body.key, first.body.created], [201, `images/${sha256(bytes)}.png`, true]);
    const second = await curl('-F', `file=@${file}`, `${app.url}/vectorize_and_store`);
    assert.deepEqual([second.status, second.body.id, second.body.created], [200, first.body.id, false]);
  });

  /** Stores the red, green and blue photos (again, if another test did). */
  const storePhotos = async () => {
    for (const name of files.keys())
      await curl('-F', `file=@${path.join(photos, name)}`, `${app.url}/vectorize_and_store`);
  };

  test("search answers the MVP's shape, nearest first, and its curl timing line runs", async () => {
    await storePhotos();
    // The MVP's line, but for the host: the answer, then the time curl took.
    const { stdout } = await run('bash', ['-c', `curl -w '%{time_total}' "$HOST/search?text=golf%20ball"`], {
      env: { ...process.env, HOST: app.url },
    });
    const cut = stdout.lastIndexOf('}') + 1;
    assert.match(stdout.slice(cut), /^\d+\.\d+$/);
    const golf = JSON.parse(stdout.slice(0, cut)) as Json;
    assert.equal(golf.query, 'golf ball');
    assert.ok(golf.results.length > 0);

    const { status, body } = await curl(`${app.url}/search?text=a%20red%20ball&limit=2`);
    assert.equal(status, 200);
    assert.deepEqual(Object.keys(body), ['query', 'results']);
    assert.equal(body.query, 'a red ball');
    assert.equal(body.results.length, 2);
    const red = sha256(files.get('red.jpg')!);
    assert.deepEqual(body.results[0], {
      id: `images/${red}.jpg`,
      path: body.results[0].path,
      _distance: body.results[0]._distance,
    });
    assert.equal(
      fileURLToPath(body.results[0].path),
      path.join((await app.services).settings.DATA_URI, body.results[0].id),
    );
    assert.ok(body.results[0]._distance <= body.results[1]._distance);
  });

  test('_distance is the squared L2 distance of the unit vectors, as LanceDB gave the MVP: twice the cosine distance', async () => {
    await storePhotos();
    const text = 'blue';
    const { body } = await curl(`${app.url}/search?text=${text}&limit=3`);
    const services = await app.services;
    const query = await services.batcher.embedText(text);
    for (const hit of body.results) {
      const id = hit.id.slice('images/'.length, -'.jpg'.length);
      const stored = (await services.catalog.get([id], ['vector'])).get(id)!.vector!;
      const squared = Array.from(query).reduce((sum, q, i) => sum + (q - stored[i]!) ** 2, 0);
      assert.ok(Math.abs(hit._distance - squared) < 1e-4, `${hit._distance} vs ${squared}`);
    }
  });

  test("/search answers JSON even to a browser, not the web UI's page", async () => {
    const response = await fetch(`${app.url}/search?text=red`, { headers: { accept: 'text/html' } });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(response.headers.get('cache-control'), 'no-store');
  });

  test('a browser posting from another site is refused with 403, and nothing is stored', async () => {
    const bytes = await solid(COLOURS.purple, 'png');
    const file = path.join(photos, 'purple.png');
    await writeFile(file, bytes);
    const key = `images/${sha256(bytes)}.png`;
    const before = await versionOf(app);
    for (const header of [
      'Sec-Fetch-Site: cross-site',
      'Sec-Fetch-Site: same-site',
      'Origin: https://evil.example',
      'Origin: null',
    ]) {
      const { status, body } = await curl('-H', header, '-F', `file=@${file}`, `${app.url}/vectorize_and_store`);
      assert.equal(status, 403, header);
      assert.equal(body.errors[0].extensions.code, 'FORBIDDEN', header);
      assert.match(body.errors[0].message, /another site/);
    }
    assert.equal(await versionOf(app), before);
    assert.equal(await (await app.services).objects.exists(key), false);

    // This site's own pages may post.
    const own = await curl(
      '-H',
      `Origin: ${app.url}`,
      '-H',
      'Sec-Fetch-Site: same-origin',
      '-F',
      `file=@${file}`,
      `${app.url}/vectorize_and_store`,
    );
    assert.equal(own.status, 201);
  });

  test('bad input gets a 4xx with a JSON reason, and stores nothing', async () => {
    const upload = `${app.url}/vectorize_and_store`;
    const jpg = path.join(photos, 'red.jpg');
    const cases: Array<[string, string[], number, RegExp, string?]> = [
      ['no file', ['-F', 'name=red', upload], 400, /field "file"/],
      ['the file under another name', ['-F', `image=@${jpg}`, upload], 400, /field "file"/],
      ['two files', ['-F', `file=@${jpg}`, '-F', `other=@${jpg}`, upload], 400, /only the image/],
      ['not an image', ['-F', `file=@${path.join(photos, 'notes.txt')}`, upload], 400, /not an image/],
      ['not multipart', ['--data-binary', `@${jpg}`, upload], 415, /multipart\/form-data/],
      ['no text', [`${app.url}/search`], 400, /text must not be empty/, 'text'],
      ['empty text', [`${app.url}/search?text=%20`], 400, /text must not be empty/, 'text'],
      ['text twice', [`${app.url}/search?text=a&text=b`], 400, /give text once/, 'text'],
      ['limit 0', [`${app.url}/search?text=red&limit=0`], 400, /limit must be between 1 and 100/, 'limit'],
      ['limit 101', [`${app.url}/search?text=red&limit=101`], 400, /limit must be between 1 and 100/, 'limit'],
      ['limit not a number', [`${app.url}/search?text=red&limit=ten`], 400, /limit must be between 1 and 100/, 'limit'],
    ];
    const before = await versionOf(app);
    for (const [name, args, status, reason, field] of cases) {
      const answer = await curl(...args);
      assert.equal(answer.status, status, name);
      const [error] = answer.body.errors;
      assert.match(error.message, reason, name);
      assert.equal(error.extensions.code, 'BAD_USER_INPUT', name);
      assert.equal(error.extensions.field, field, name);
    }
    assert.equal(await versionOf(app), before);
  });
});

describe("the MVP's API with API_KEY set", () => {
  let app: App;
  let file: string;
  before(async () => {
    app = await openApp({ API_KEY: 'sekret' });
    file = path.join(await tempDir('mvp-key-'), 'cyan.png');
    await writeFile(file, await solid(COLOURS.cyan, 'png'));
  });
  after(async () => {
    await app.close();
    await rm(path.dirname(file), { recursive: true, force: true });
  });

  test('uploads need Authorization: Bearer <API_KEY>, as mutations do; search stays open', async () => {
    const upload = `${app.url}/vectorize_and_store`;
    const before = await versionOf(app);
    for (const auth of [[], ['-H', 'Authorization: Bearer wrong']]) {
      const refused = await curl(...auth, '-F', `file=@${file}`, upload);
      assert.equal(refused.status, 401);
      assert.equal(refused.body.errors[0].extensions.code, 'UNAUTHENTICATED');
    }
    assert.equal(await versionOf(app), before);
    const stored = await curl('-H', 'Authorization: Bearer sekret', '-F', `file=@${file}`, upload);
    assert.equal(stored.status, 201);
    const found = await curl(`${app.url}/search?text=cyan`);
    assert.equal(found.status, 200);
    assert.equal(found.body.results[0].id, stored.body.key);
  });
});

describe('the cross-site rule', () => {
  test("refuses what a browser labels as another site's, and passes what no browser sent", () => {
    const host = 'photos.example:4000';
    const cases: Array<[Record<string, string>, boolean]> = [
      [{ host }, false], // curl, scripts
      [{ host, 'sec-fetch-site': 'same-origin' }, false],
      [{ host, 'sec-fetch-site': 'none' }, false], // typed into the address bar
      [{ host, 'sec-fetch-site': 'same-site' }, true],
      [{ host, 'sec-fetch-site': 'cross-site' }, true],
      [{ host, origin: 'http://photos.example:4000' }, false],
      [{ host, origin: 'https://PHOTOS.example:4000' }, false], // behind a TLS proxy
      [{ host, origin: 'http://evil.example' }, true],
      [{ host, origin: 'null' }, true], // a sandboxed or file: page
      [{ origin: 'null' }, true], // and without a Host to compare with
    ];
    for (const [headers, refused] of cases) assert.equal(crossSite(headers), refused, JSON.stringify(headers));
  });
});

describe("the MVP's API on S3", { skip: S3_SKIP }, () => {
  let app: App;
  let file: string;
  const env = s3Env();
  before(async () => {
    app = await openApp({ ...env, OBJECT_CACHE_BYTES: '0' });
    file = path.join(await tempDir('mvp-s3-'), 'yellow.jpg');
    await writeFile(file, await solid(COLOURS.yellow, 'jpeg'));
  });
  after(async () => {
    await app.close();
    await rm(path.dirname(file), { recursive: true, force: true });
  });

  test("path is the object's s3:// URI in the bucket, under DATA_URI's prefix", async () => {
    const stored = await curl('-F', `file=@${file}`, `${app.url}/vectorize_and_store`);
    assert.equal(stored.status, 201);
    assert.equal(stored.body.path, `${env.DATA_URI}/${stored.body.key}`);
    const found = await curl(`${app.url}/search?text=yellow&limit=1`);
    assert.equal(found.body.results[0].path, stored.body.path);

    const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(stored.body.path)!;
    const client = new S3Client({
      endpoint: env.S3_ENDPOINT,
      region: env.AWS_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
    });
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    assert.deepEqual(Buffer.from(await object.Body!.transformToByteArray()), await readFile(file));
    client.destroy();
  });
});
