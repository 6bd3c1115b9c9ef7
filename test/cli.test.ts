import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FileResult } from '../src/cli/upload-report.js';
import { startCountingProxy, type CountingProxy } from './support/counting-proxy.js';
import { tempDir, testModelDir } from './support/harness.js';
import { COLOURS, noisy, solid } from './support/images.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PHOTOS_DIR =
  process.env.EVERYDAY_PHOTOS_DIR ?? path.resolve(ROOT, '..', 'shared', 'data', 'everyday-photos', 'images');

/** `lance-image-search <args>` through the installed bin's entry point, as a process of its own. */
async function cli(args: string[], bin = 'src/cli/main.ts') {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  delete env.API_KEY;
  const child = spawn(process.execPath, ['--import', 'tsx', bin, ...args], { cwd: ROOT, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  return { code, stdout, stderr };
}

const results = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as FileResult);

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Writes `files` (relative path → bytes) under a new temp folder. */
async function folder(files: Record<string, Uint8Array>): Promise<string> {
  const dir = await tempDir('cli-upload-');
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), bytes);
  }
  return dir;
}

describe('lance-image-search upload, against the service as a process', () => {
  let service: ServiceProcess;
  let dataDir: string;
  const folders: string[] = [];
  const proxies: CountingProxy[] = [];

  before(async () => {
    dataDir = await tempDir();
    service = await startServiceProcess({ DATA_URI: dataDir, EMBEDDING_MODEL: await testModelDir() });
  });
  after(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await service?.stop();
    await Promise.all([dataDir, ...folders].map((dir) => rm(dir, { recursive: true, force: true })));
  });

  /** A folder of the test's own, and a proxy of its own in front of the service. */
  async function setUp(files: Record<string, Uint8Array>) {
    const dir = await folder(files);
    folders.push(dir);
    const proxy = await startCountingProxy(service.url);
    proxies.push(proxy);
    return { dir, proxy, url: `${proxy.url}/graphql` };
  }

  test('stores every image of a folder tree once; a second run stores nothing and sends no file bytes', async () => {
    const photos = (await readdir(PHOTOS_DIR)).filter((f) => f.endsWith('.jpg')).slice(0, 3);
    const real = await Promise.all(photos.map((f) => readFile(path.join(PHOTOS_DIR, f))));
    const images: Record<string, Uint8Array> = {
      'top.png': await solid(COLOURS.red, 'png'),
      'UPPER.PNG': await noisy(COLOURS.blue, 12, 101, 'png'),
      'nested/photo.jpg': real[0]!,
      'nested/deeper/photo.JpG': real[1]!,
      'nested/deeper/photo.jpeg': real[2]!,
      'nested/deeper/pic.WEBP': await noisy(COLOURS.green, 12, 102, 'webp'),
    };
    const { dir, proxy, url } = await setUp({
      ...images,
      'notes.txt': Buffer.from('not an image'),
      'nested/a.md': Buffer.from('#'),
    });

    const first = await cli(['upload', '--url', url, '--batch', '4', '--json', dir]);
    assert.equal(first.code, 0, first.stderr);
    const stored = results(first.stdout);
    assert.deepEqual(stored.map((r) => path.relative(dir, r.file)).sort(), Object.keys(images).sort());
    assert.ok(
      stored.every((r) => r.status === 'stored'),
      first.stdout,
    );
    assert.deepEqual(new Set(stored.map((r) => r.id)), new Set(Object.values(images).map(sha256)));
    assert.equal(proxy.multipart.requests, 2, 'six files in batches of four');
    const listed = await service.graphql<{ images: Array<{ id: string }> }>('{ images(limit: 1000) { id } }');
    const ids = new Set(listed.data!.images.map((i) => i.id));
    assert.ok(Object.values(images).every((bytes) => ids.has(sha256(bytes))));

    const uploadsBefore = { ...proxy.multipart };
    const second = await cli(['upload', '--url', url, dir]);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(proxy.multipart, uploadsBefore, 'the second run sent no upload request');
    assert.match(second.stdout, /stored {10}0\n {2}already stored {2}6\n/);
    assert.match(second.stdout, /Nothing new/);
  });

  test('a corrupt image is refused with its reason and a non-zero exit; the good files of its batch are stored', async () => {
    const good = await Promise.all([201, 202].map((seed) => noisy(COLOURS.orange, 12, seed)));
    const corrupt = (await noisy(COLOURS.purple, 12, 203)).subarray(0, 400);
    const { dir, proxy, url } = await setUp({ 'a.jpg': good[0]!, 'b.jpg': good[1]!, 'c-corrupt.jpg': corrupt });

    const run = await cli(['upload', '--url', url, '--json', dir]);
    assert.equal(run.code, 1);
    const byName = new Map(results(run.stdout).map((r) => [path.basename(r.file), r]));
    assert.equal(byName.get('a.jpg')?.status, 'stored');
    assert.equal(byName.get('b.jpg')?.status, 'stored');
    assert.equal(byName.get('c-corrupt.jpg')?.status, 'refused');
    assert.match(byName.get('c-corrupt.jpg')!.reason!, /corrupt or truncated/);
    assert.match(run.stderr, /refused {9}1\n {4}\S*c-corrupt\.jpg: the image is corrupt or truncated/);

    // A refusal is final: the file alone is sent once, not retried.
    const before = proxy.multipart.requests;
    const alone = await cli(['upload', '--url', url, path.join(dir, 'c-corrupt.jpg')]);
    assert.equal(alone.code, 1);
    assert.equal(proxy.multipart.requests - before, 1);
  });

  test('retries a service that answers 503 while its model loads', async () => {
    const { dir, proxy, url } = await setUp({ 'new.png': await noisy(COLOURS.cyan, 12, 301, 'png') });
    proxy.failNext(2);
    const run = await cli(['upload', '--url', url, dir]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(proxy.unavailable, 2);
    assert.match(run.stderr, /attempt 1 failed \(starting\); retrying/);
    assert.match(run.stdout, /stored {10}1\n/);
  });
});

describe('lance-image-search command line', () => {
  test('--help prints the usage and exits 0, for the bin and each command', async () => {
    for (const args of [['--help'], ['upload', '--help'], ['reclaim-images', '--help']]) {
      const run = await cli(args, 'bin/lance-image-search.js');
      assert.equal(run.code, 0, `${args.join(' ')}: ${run.stderr}`);
      assert.match(run.stdout, /^Usage: lance-image-search/);
    }
  });

  test('an unknown option or command says so and exits 2, without a stack', async () => {
    for (const [args, message] of [
      [['upload', '--bogus', 'x'], /Unknown option '--bogus'/],
      [['upload', '--batch', '0', 'x'], /--batch must be a whole number ≥ 1/],
      [['upload'], /name at least one file or folder/],
      [['reclaim-images', '--bogus'], /Unknown option '--bogus'/],
      [['frobnicate'], /unknown command "frobnicate"/],
    ] as const) {
      const run = await cli([...args]);
      assert.equal(run.code, 2, args.join(' '));
      assert.match(run.stderr, message);
      assert.doesNotMatch(run.stderr, /\n\s+at /);
    }
  });
});
