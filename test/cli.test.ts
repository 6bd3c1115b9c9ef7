import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Interruption } from '../src/cli/interruption.js';
import type { FileResult } from '../src/cli/upload-report.js';
import { startCountingProxy, type CountingProxy } from './support/counting-proxy.js';
import { tempDir, testModelDir } from './support/harness.js';
import { COLOURS, distinctImages, noisy, solid } from './support/images.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PHOTOS_DIR =
  process.env.EVERYDAY_PHOTOS_DIR ?? path.resolve(ROOT, '..', 'shared', 'data', 'everyday-photos', 'images');

function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  delete env.API_KEY;
  return env;
}

/** `lance-image-search <args>` through the installed bin's entry point, as a process of its own, running. */
function startCli(args: string[], bin = 'src/cli/main.ts') {
  const child = spawn(process.execPath, ['--import', 'tsx', bin, ...args], { cwd: ROOT, env: cliEnv() });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const running = () => child.exitCode === null && child.signalCode === null;
  return { child, output, exited, running, kill: () => child.kill('SIGKILL') };
}

/** `lance-image-search <args>`, to its end. */
async function cli(args: string[], bin = 'src/cli/main.ts') {
  const { output, exited } = startCli(args, bin);
  const code = await exited;
  return { code, ...output };
}

/**
 * `lance-image-search <args>` on a terminal of its own (a pseudo-terminal from util-linux
 * `script`), where the progress bar draws and a typed Ctrl-C reaches it as from a keyboard.
 * `output` is what the terminal showed: stdout and stderr together.
 */
function cliOnTerminal(args: string[]) {
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const command = ['exec', process.execPath, '--import', 'tsx', 'src/cli/main.ts', ...args].map(quote).join(' ');
  const child = spawn('script', ['--quiet', '--flush', '--return', '--command', command, '/dev/null'], {
    cwd: ROOT,
    env: { ...cliEnv(), SHELL: '/bin/sh' },
  });
  const terminal = { output: '' };
  child.stdout.on('data', (chunk: Buffer) => (terminal.output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const running = () => child.exitCode === null && child.signalCode === null;
  return { terminal, type: (keys: string) => child.stdin.write(keys), exited, running, kill: () => child.kill() };
}

/**
 * Waits for `condition` to hold, checking every 20 ms; fails, naming what it waited for, once the
 * process it waits on has ended without it, or after a minute.
 */
async function until(condition: () => boolean, what: string, child: { running(): boolean }): Promise<void> {
  for (const deadline = Date.now() + 60_000; !condition(); await delay(20)) {
    if (!child.running()) throw new Error(`the CLI ended before ${what}`);
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
  }
}

/** The CLI's exit code; if it has not exited within a minute, it is killed and the test fails. */
async function exitCode(run: { exited: Promise<number | null>; kill(): void }): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      run.kill();
      reject(new Error('the CLI did not exit within a minute'));
    }, 60_000);
  });
  try {
    return await Promise.race([run.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` distinct JPEGs named img-00.jpg…, their noise seeded from `seed`. */
async function numberedImages(count: number, seed: number): Promise<Record<string, Uint8Array>> {
  const images = await distinctImages(count, COLOURS.yellow, seed);
  return Object.fromEntries(images.map((bytes, i) => [`img-${String(i).padStart(2, '0')}.jpg`, bytes]));
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

  const rowCount = async () =>
    (await service.graphql<{ dataset: { rowCount: number } }>('{ dataset { rowCount } }')).data!.dataset.rowCount;

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
    assert.match(first.stderr, /skipped 2 files: 1 \.md, 1 \.txt \(not a supported format: jpg, jpeg, png/);
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

  test('Ctrl-C on a terminal sends nothing more, waits for the answers in flight, restores the terminal and sums up what the service stored', async () => {
    const { dir, proxy, url } = await setUp(await numberedImages(40, 1000));
    const rowsBefore = await rowCount();
    proxy.holdAnswersAfter(1);
    const run = cliOnTerminal(['upload', '--url', url, '--batch', '2', '--concurrency', '2', dir]);
    // The first answer came, and each of the two chunks has its next request in flight: the
    // service has stored those files, the CLI has not heard so.
    await until(() => proxy.heldAnswers() === 2, 'it had two uploads in flight', run);
    run.type('\x03');
    await until(() => run.terminal.output.includes('sending nothing more'), 'it took the Ctrl-C', run);
    proxy.releaseAnswers();
    const code = await exitCode(run);
    const shown = run.terminal.output;

    assert.equal(code, 130, shown);
    const hidden = shown.lastIndexOf('\x1b[?25l');
    assert.ok(hidden >= 0, 'the bar was drawn and hid the cursor');
    assert.ok(shown.includes('\x1b[?25h', hidden), 'the cursor is shown again');
    assert.ok(shown.includes('\x1b[?7h', hidden), 'line wrap is on again');
    const stored = Number(/stored {10}(\d+)/.exec(shown)?.[1]);
    assert.equal(stored, (await rowCount()) - rowsBefore, 'the summary counts what the service stored');
    assert.equal(stored, 6, 'the first answer and the two in flight, two files each');
    assert.equal(Number([...shown.matchAll(/(\d+)\/40 files/g)].at(-1)?.[1]), stored, "the bar's last count");
    assert.match(shown, /interrupted by SIGINT: 6 of 40 files answered/);
    assert.match(shown, /not sent {8}34\r?\n/);
  });

  test('a second Ctrl-C stops the wait: the files in flight have no answer, the rest were not sent', async () => {
    const { dir, proxy, url } = await setUp(await numberedImages(40, 2000));
    const rowsBefore = await rowCount();
    proxy.holdAnswersAfter(1);
    const run = startCli(['upload', '--url', url, '--batch', '2', '--concurrency', '2', '--json', dir]);
    await until(() => proxy.heldAnswers() === 2, 'it had two uploads in flight', run);
    run.child.kill('SIGINT');
    await until(() => run.output.stderr.includes('sending nothing more'), 'it took the first Ctrl-C', run);
    await delay(1100); // past the second in which a SIGINT is the first Ctrl-C delivered twice
    run.child.kill('SIGINT');
    const code = await exitCode(run);

    assert.equal(code, 130, run.output.stderr);
    const all = results(run.output.stdout);
    assert.equal(new Set(all.map((r) => r.file)).size, 40, 'one result for every file');
    assert.equal(all.length, 40, 'one result for every file');
    const of = (status: string) => all.filter((r) => r.status === status);
    assert.equal(of('stored').length, 2);
    assert.equal(of('no-answer').length, 4);
    assert.ok(of('no-answer').every((r) => /second Ctrl-C/.test(r.reason!)));
    assert.equal(of('not-sent').length, 34);
    assert.equal((await rowCount()) - rowsBefore, 6, 'the service stored the files whose answers never came');
    assert.match(run.output.stderr, /no answer {7}4\n/);
    assert.match(run.output.stderr, /not sent {8}34\n/);
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

describe('Interruption: what a signal means to a CLI run', () => {
  test('a SIGINT within a second of the first is the same Ctrl-C delivered twice; a later one quits', (t) => {
    t.mock.timers.enable({ apis: ['Date'] });
    const signals = new EventEmitter();
    const interruption = new Interruption(signals);
    try {
      signals.emit('SIGINT', 'SIGINT');
      signals.emit('SIGINT', 'SIGINT');
      assert.ok(interruption.stop.aborted);
      assert.equal(interruption.quit.aborted, false, 'the same Ctrl-C');
      assert.equal(interruption.exitCode, 130);
      t.mock.timers.tick(1001);
      signals.emit('SIGINT', 'SIGINT');
      assert.ok(interruption.quit.aborted, 'a second Ctrl-C');
    } finally {
      interruption.close();
    }
    assert.equal(signals.listenerCount('SIGINT') + signals.listenerCount('SIGTERM'), 0, 'closed');
  });

  test('a repeated SIGTERM does not quit, and the exit code is 143', (t) => {
    t.mock.timers.enable({ apis: ['Date'] });
    const signals = new EventEmitter();
    const interruption = new Interruption(signals);
    try {
      signals.emit('SIGTERM', 'SIGTERM');
      t.mock.timers.tick(5000);
      signals.emit('SIGTERM', 'SIGTERM');
      assert.ok(interruption.stop.aborted);
      assert.equal(interruption.quit.aborted, false);
      assert.equal(interruption.exitCode, 143);
    } finally {
      interruption.close();
    }
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

  test('on a Node.js older than 22 (the system one, where there is one), the bin runs itself on the pinned one', async (t) => {
    const system = '/usr/bin/node';
    const version = spawnSync(system, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout?.trim();
    if (!version || Number(version.split('.')[0]) >= 22) return t.skip(`no Node.js older than 22 at ${system}`);
    const child = spawnSync(system, ['bin/lance-image-search.js', 'upload', '--help'], {
      cwd: ROOT,
      env: { ...cliEnv(), PATH: `/usr/bin:/bin` },
      encoding: 'utf8',
    });
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /^Usage: lance-image-search upload/);
    assert.match(
      child.stderr,
      new RegExp(`Using the project's Node.js v2\\d.* the system's v${version} is older than 22`),
    );
  });

  test('`npx lance-image-search` in the project runs the command without building the web UI', async () => {
    // npx installs this folder into its cache to link the command, which runs the `prepare` script.
    const cache = await tempDir('npx-cache-');
    try {
      const child = spawn(
        'npm',
        ['exec', '--offline', `--cache=${cache}`, '--foreground-scripts', '--', 'lance-image-search', '--help'],
        { cwd: ROOT, env: cliEnv() },
      );
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(code, 0, output);
      assert.match(output, /Usage: lance-image-search <command>/);
      assert.doesNotMatch(output, /build:web|vite build/, 'the UI build did not start');
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });

  test('a folder with no image files names what it skipped and exits 1', async () => {
    const dir = await folder({
      'a.heic': Buffer.from('x'),
      'b.HEIC': Buffer.from('y'),
      'nested/c.heic': Buffer.from('z'),
    });
    try {
      const run = await cli(['upload', '--url', 'http://127.0.0.1:9/graphql', dir]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(
        run.stderr,
        /No image files to upload in \S+: skipped 3 files: 3 \.heic \(not a supported format: jpg, jpeg, png, webp, gif, avif, tiff, tif\)/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
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
