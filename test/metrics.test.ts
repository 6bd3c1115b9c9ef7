// GET /metrics: Prometheus' text format, and figures that move with the work the service does.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { ClipModel } from '../src/services/embedding/clip-model.js';
import { createLogger } from '../src/logger.js';
import { createApp, startApollo } from '../src/server.js';
import { thumbnailKey } from '../src/services/images/image-key.js';
import { KNOWN_OPERATIONS, MAX_OPERATION_NAMES, ServiceMetrics } from '../src/services/metrics.js';
import { COLOURS, solid } from './support/images.js';
import { execute, multipart, openApp, openServices, tempDir, testModel, testSettings } from './support/harness.js';
import { S3_SKIP, s3Env } from './support/s3.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const M = 'lance_image_search_';
const UPLOAD = 'mutation Upload($file: Upload!) { uploadImage(file: $file) { created image { id key } } }';
const FIND_RED = 'query FindRed { search(text: "red", limit: 3) { cached hits { image { id } } } }';

type Labels = Record<string, string>;

/** Every sample of a Prometheus text answer: name, labels and value. */
function parse(text: string): Array<{ name: string; labels: Labels; value: number }> {
  const samples = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]),
    );
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the series with exactly these labels, or undefined when the answer lacks it. */
function sample(text: string, name: string, labels: Labels = {}): number | undefined {
  const same = (a: Labels) =>
    Object.keys(a).length === Object.keys(labels).length && Object.entries(labels).every(([k, v]) => a[k] === v);
  return parse(text).find((s) => s.name === name && same(s.labels))?.value;
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${url}/metrics`, { headers });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return response.text();
}

type Answer = { data?: any; errors?: unknown[] }; // eslint-disable-line @typescript-eslint/no-explicit-any

async function graphql(url: string, body: FormData | object): Promise<Answer> {
  const json = !(body instanceof FormData);
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    body: json ? JSON.stringify(body) : body,
    headers: json ? { 'content-type': 'application/json' } : { 'apollo-require-preflight': 'true' },
  });
  return (await response.json()) as Answer;
}

/** Uploads one image and searches twice; returns the uploaded image and the scrapes before and after. */
async function uploadAndSearch(url: string) {
  const before = await scrape(url);
  const bytes = await solid(COLOURS.red, 'png');
  const uploaded = await graphql(url, multipart(UPLOAD, [{ bytes, name: 'red.png' }]));
  assert.equal(uploaded.data?.uploadImage.created, true, JSON.stringify(uploaded.errors));
  const first = await graphql(url, { query: FIND_RED });
  const second = await graphql(url, { query: FIND_RED });
  assert.deepEqual([first.data?.search.cached, second.data?.search.cached], [false, true]);
  const image = uploaded.data!.uploadImage.image as { id: string; key: string };
  assert.equal((await fetch(`${url}/${image.key}`)).status, 200);
  return { bytes, image, before, after: await scrape(url) };
}

/** How much a series grew between two scrapes (an absent series counts as 0). */
const grew = (before: string, after: string, name: string, labels: Labels = {}) =>
  (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);

describe('GET /metrics', () => {
  test('answers while the model loads, behind METRICS_TOKEN when it is set', async () => {
    const settings = await testSettings({ METRICS_TOKEN: 'scrape-me' });
    let loaded!: (model: ClipModel) => void;
    const model = new Promise<ClipModel>((resolve) => (loaded = resolve));
    const app = await createApp(settings, createLogger('silent'), { model });
    const server = await app.listen(0);
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      assert.equal((await fetch(`${url}/readyz`)).status, 503);
      assert.equal((await fetch(`${url}/metrics`)).status, 401);
      const auth = { authorization: 'Bearer scrape-me' };
      const starting = await scrape(url, auth);
      assert.match(starting, new RegExp(`^# TYPE ${M}graphql_operations_total counter$`, 'm'));
      assert.ok(sample(starting, 'process_cpu_user_seconds_total')! > 0, 'default process metrics');
      assert.equal(sample(starting, `${M}dataset_version`), undefined, 'no dataset figures before it is open');

      loaded(await testModel());
      await app.services;
      const ready = await scrape(url, auth);
      assert.equal(sample(ready, `${M}dataset_version`), 1);
      assert.equal(sample(ready, `${M}dataset_rows`), 0);
    } finally {
      await app.close();
      await rm(settings.DATA_URI, { recursive: true, force: true });
    }
  });

  describe('through the HTTP server', () => {
    let app: Awaited<ReturnType<typeof openApp>>;
    let run: Awaited<ReturnType<typeof uploadAndSearch>>;
    before(async () => {
      app = await openApp();
      run = await uploadAndSearch(app.url);
    });
    after(() => app.close());

    test('counts and times each operation by name and type', () => {
      const { before, after } = run;
      const upload = { operation_name: 'Upload', operation_type: 'mutation' };
      const find = { operation_name: 'FindRed', operation_type: 'query' };
      assert.equal(grew(before, after, `${M}graphql_operations_total`, { ...upload, result: 'ok' }), 1);
      assert.equal(grew(before, after, `${M}graphql_operations_total`, { ...find, result: 'ok' }), 2);
      assert.equal(grew(before, after, `${M}graphql_operation_duration_seconds_count`, find), 2);
      assert.ok(grew(before, after, `${M}graphql_operation_duration_seconds_sum`, upload) > 0);
    });

    test('counts the commit with its rows, the model passes and the search-cache hit', () => {
      const { before, after } = run;
      assert.equal(grew(before, after, `${M}commit_rows_count`, { operation: 'append' }), 1);
      assert.equal(grew(before, after, `${M}commit_rows_sum`, { operation: 'append' }), 1);
      assert.equal(grew(before, after, `${M}model_pass_batch_size_count`, { input: 'image' }), 1);
      assert.equal(grew(before, after, `${M}model_pass_batch_size_count`, { input: 'text' }), 1);
      assert.ok(grew(before, after, `${M}model_pass_duration_seconds_sum`, { input: 'text' }) > 0);
      assert.equal(grew(before, after, `${M}cache_hits_total`, { cache: 'search_result' }), 1);
      assert.equal(grew(before, after, `${M}cache_misses_total`, { cache: 'search_result' }), 1);
      assert.equal(grew(before, after, `${M}cache_misses_total`, { cache: 'text_embedding' }), 1);
    });

    test('counts object-store calls and bytes, and shows the new version and row', async () => {
      const { before, after, bytes } = run;
      const thumbnail = await (await app.services).objects.get(thumbnailKey(sha256(bytes)));
      assert.equal(grew(before, after, `${M}object_store_requests_total`, { operation: 'put' }), 2, 'image, thumbnail');
      assert.equal(
        grew(before, after, `${M}object_store_bytes_total`, { operation: 'put' }),
        bytes.length + thumbnail!.size,
      );
      assert.equal(grew(before, after, `${M}object_store_requests_total`, { operation: 'get' }), 1);
      assert.equal(grew(before, after, `${M}object_store_bytes_total`, { operation: 'get' }), bytes.length);
      assert.equal(sample(after, `${M}dataset_rows`), 1);
      assert.equal(sample(after, `${M}dataset_fragments`), 1);
      assert.equal(sample(after, `${M}dataset_version`), await (await app.services).catalog.version());
    });
  });

  test("the web UI's operation names are the ones metrics always keep", async () => {
    const source = await readFile(new URL('../web/src/lib/api/operations.ts', import.meta.url), 'utf8');
    const names = [...source.matchAll(/(?:query|mutation) ([A-Za-z_]\w*)\s*[({]/g)].map((m) => m[1]);
    assert.deepEqual(new Set(names), KNOWN_OPERATIONS);
  });

  test('operation names are bounded: anonymous, invalid and past-the-cap ones share a label', async () => {
    const services = await openServices();
    const metrics = new ServiceMetrics();
    const apollo = await startApollo({}, createLogger('silent'), metrics);
    try {
      for (let n = 0; n < MAX_OPERATION_NAMES + 10; n++) await execute(apollo, services, `query Q${n} { __typename }`);
      await execute(apollo, services, '{ __typename }');
      await execute(apollo, services, '{ noSuchField }');
      const samples = parse(await metrics.registry.metrics()).filter((s) => s.name === `${M}graphql_operations_total`);
      const names = new Set(samples.map((s) => s.labels.operation_name));
      assert.equal(names.size, MAX_OPERATION_NAMES + 3);
      const count = (name: string) => samples.find((s) => s.labels.operation_name === name)?.value;
      assert.equal(count('Q0'), 1);
      assert.equal(count(`Q${MAX_OPERATION_NAMES}`), undefined);
      assert.equal(count('(other)'), 10);
      assert.equal(count('(anonymous)'), 1);
      const invalid = samples.find((s) => s.labels.operation_name === '(invalid)');
      assert.deepEqual(invalid?.labels, { operation_name: '(invalid)', operation_type: 'unknown', result: 'error' });
      // The web UI's operations keep their names even after others took every free one.
      await execute(apollo, services, 'query Versions { versions { version } }');
      const after = parse(await metrics.registry.metrics()).filter((s) => s.name === `${M}graphql_operations_total`);
      assert.equal(after.find((s) => s.labels.operation_name === 'Versions')?.value, 1);
    } finally {
      await apollo.stop();
      await services.close();
    }
  });

  describe('on S3', { skip: S3_SKIP }, () => {
    let app: Awaited<ReturnType<typeof openApp>>;
    let cacheDir: string;
    before(async () => {
      cacheDir = path.join(await tempDir('metrics-object-cache-'), 'cache');
      app = await openApp({ ...s3Env(), OBJECT_CACHE_DIR: cacheDir });
    });
    after(async () => {
      await app.close();
      await rm(path.dirname(cacheDir), { recursive: true, force: true });
    });

    test('object-store requests and the read endpoint move', async () => {
      const { before, after, bytes } = await uploadAndSearch(app.url);
      assert.equal(grew(before, after, `${M}object_store_requests_total`, { operation: 'put' }), 2, 'image, thumbnail');
      assert.equal(grew(before, after, `${M}object_store_bytes_total`, { operation: 'get' }), bytes.length);
      // The freshness listing passes through the endpoint; the new version's files are filled
      // into the cache, for the endpoint or for the mirror (which then serves the searches
      // itself, so endpoint reads from the cache need not move).
      assert.ok(grew(before, after, `${M}read_endpoint_requests_total`, { source: 'bucket' }) > 0);
      assert.ok(grew(before, after, `${M}cache_misses_total`, { cache: 'object' }) > 0);
      assert.ok(sample(after, `${M}object_cache_bytes`)! > 0);
    });
  });
});
