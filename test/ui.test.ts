import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { COLOURS, COLOUR_NAMES, noisy, solid } from './support/images.js';
import * as lancedb from '@lancedb/lancedb';
import { TABLE_NAME } from '../src/services/catalog/catalog.js';
import { modelRecord } from '../src/services/catalog/model-record.js';
import { imageSchema, toLanceRow } from '../src/services/catalog/image-record.js';
import { syntheticRows, tempDir, testModel, testModelDir } from './support/harness.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';
import {
  VIEWPORTS,
  axeViolations,
  ensureWebBuild,
  launchBrowser,
  scriptBytes,
  watch,
  type AxeViolation,
} from './support/browser.js';

/** Where every page's screenshots go, at both widths (gitignored; a few are in docs/screenshots/). */
const SCREENSHOTS = path.resolve('screenshots');
const FIRST_PAGE_JS_LIMIT = 200_000;

/** The web UI in real Chromium against the real service process, with the designed test model. */
describe('web UI', () => {
  let service: ServiceProcess;
  let dataUri: string;
  let browser: Browser;
  /** Ids of one solid image per colour, uploaded as {colour}.png. */
  const ids: Record<string, string> = {};

  before(async () => {
    ensureWebBuild();
    dataUri = await tempDir();
    browser = await launchBrowser();
    service = await startService({ DATA_URI: dataUri });
    for (const name of COLOUR_NAMES) ids[name] = (await service.upload(await solid(COLOURS[name]), `${name}.png`)).id;
  });
  after(async () => {
    await browser?.close();
    await service?.stop();
    await rm(dataUri, { recursive: true, force: true });
  });

  /** A fresh page (own context, so own session storage) that must end the test without problems. */
  async function open(t: TestContext, url: string, viewport: { width: number; height: number } = VIEWPORTS.desktop) {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const problems = watch(page, new URL(url).origin);
    t.after(() => context.close());
    await page.goto(url);
    return { page, problems };
  }

  async function latestVersion(): Promise<number> {
    return (await service.graphql('{ dataset { version } }')).data!.dataset.version as number;
  }

  test('the service serves the app at every route, its hashed assets immutable, and 404s to API clients', async () => {
    for (const route of ['/', '/history', '/dataset', `/image/${ids.red}`, '/?version=1']) {
      const response = await fetch(`${service.url}${route}`, { headers: { accept: 'text/html' } });
      assert.equal(response.status, 200, route);
      assert.match(await response.text(), /<title>Image search<\/title>/, route);
      assert.equal(response.headers.get('cache-control'), 'no-cache', route);
    }
    const shell = await (await fetch(`${service.url}/`)).text();
    const script = /\/_app\/immutable\/[^"]+\.js/.exec(shell)?.[0];
    assert.ok(script, 'the shell names its scripts');
    const asset = await fetch(`${service.url}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control')!, /immutable/);
    const api = await fetch(`${service.url}/no-such-thing`, { headers: { accept: 'application/json' } });
    assert.equal(api.status, 404);
  });

  test('the first page ships under 200 KB of JavaScript and loads nothing from other hosts', async (t) => {
    const { page, problems } = await open(t, `${service.url}/`);
    await page.locator('input[type="search"]').waitFor();
    await page.waitForLoadState('networkidle');
    const js = await scriptBytes(page);
    t.diagnostic(`first page JavaScript: ${js} bytes uncompressed`);
    assert.ok(js > 10_000, `measured ${js} bytes: the measurement must see the app's scripts`);
    assert.ok(js < FIRST_PAGE_JS_LIMIT, `${js} bytes of JavaScript on the first page`);
    assert.deepEqual(problems, []);
  });

  test('uploading through the file input shows each file stored, already stored or refused', async (t) => {
    const { page, problems } = await open(t, `${service.url}/`);
    const fresh = await noisy(COLOURS.yellow, 10, 801);
    await page.locator('input[type="file"][multiple]').setInputFiles([
      { name: 'fresh-yellow.jpg', mimeType: 'image/jpeg', buffer: fresh },
      { name: 'red-again.png', mimeType: 'image/png', buffer: await solid(COLOURS.red) },
      { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not an image at all') },
    ]);
    await page.getByText('3 of 3 files done').waitFor();
    const uploads = page.getByRole('list', { name: 'Uploads' }).getByRole('listitem');
    assert.match((await uploads.nth(0).textContent())!, /fresh-yellow\.jpg.*stored/s);
    assert.doesNotMatch((await uploads.nth(0).textContent())!, /already/);
    assert.match((await uploads.nth(1).textContent())!, /red-again\.png.*already stored/s);
    assert.match((await uploads.nth(2).textContent())!, /notes\.png.*refused: The file is not an image/s);
    // The newest images now start with the new one.
    await page.getByRole('list', { name: 'Newest images' }).getByRole('img', { name: 'fresh-yellow.jpg' }).waitFor();
    assert.deepEqual(problems, []);
  });

  test('searching "red" shows the red image first, with its score, the time taken, caching and version', async (t) => {
    const { page, problems } = await open(t, `${service.url}/`);
    const fullSize: string[] = [];
    page.on('request', (r) => void (new URL(r.url()).pathname.startsWith('/images/') && fullSize.push(r.url())));
    await page.locator('input[type="search"]').fill('red');
    await page.keyboard.press('Enter');
    const results = page.getByRole('list', { name: 'Search results, best first' });
    const first = results.getByRole('link').first();
    await first.waitFor();
    assert.equal(await first.getAttribute('href'), `/image/${ids.red}`);
    const img = first.locator('img');
    assert.equal(await img.getAttribute('alt'), 'red.png');
    assert.equal(await img.getAttribute('src'), `/thumbnails/${ids.red}.webp`);
    await page.waitForFunction((el) => (el as HTMLImageElement).naturalWidth > 0, await img.elementHandle());
    assert.match((await first.textContent())!, /score 0\.\d{3}/);
    const meta = (await page.getByTestId('search-meta').textContent())!.replace(/\s+/g, ' ');
    assert.match(meta, /results for “red” in \d+\.\d ms · (from the cache|not cached) · dataset version \d+/);
    assert.match(page.url(), /\?q=red$/);
    assert.deepEqual(fullSize, [], 'the results grid downloads thumbnails only');
    assert.deepEqual(problems, []);
  });

  test('everything works from the keyboard: search, then open a result', async (t) => {
    const { page, problems } = await open(t, `${service.url}/`);
    // Keys pressed before the app has started go nowhere: wait for its first answer.
    await page.getByRole('list', { name: 'Newest images' }).getByRole('link').first().waitFor();
    await page.keyboard.press('Tab'); // the skip link
    await page.keyboard.press('Enter');
    const focused = () => page.evaluate(() => document.activeElement?.id === 'search-text');
    for (let i = 0; i < 10 && !(await focused()); i++) await page.keyboard.press('Tab');
    assert.ok(await focused(), 'the search field is reachable by Tab');
    await page.keyboard.type('blue');
    await page.keyboard.press('Enter');
    await page.getByRole('list', { name: 'Search results, best first' }).getByRole('link').first().waitFor();
    await page.keyboard.press('Tab'); // the Search button
    await page.keyboard.press('Tab'); // the first result
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/image/${ids.blue}`);
    await page.getByRole('heading', { name: 'blue.png' }).waitFor();
    assert.deepEqual(problems, []);
  });

  test('an image page shows its facts and similar images that lead to theirs', async (t) => {
    const { page, problems } = await open(t, `${service.url}/image/${ids.orange}`);
    await page.getByRole('heading', { level: 1, name: 'orange.png' }).waitFor();
    assert.equal(await page.getByTestId('dimensions').textContent(), '64 × 64');
    const facts = (await page.locator('dl.facts').textContent())!;
    for (const expected of ['image/png', ids.orange!, 'Uploaded']) assert.ok(facts.includes(expected), expected);
    const similar = page.getByRole('list', { name: 'Similar images, most similar first' }).getByRole('link');
    await similar.first().waitFor();
    assert.ok((await similar.count()) >= 5);
    const hrefs = await similar.evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    assert.ok(!hrefs.includes(`/image/${ids.orange}`), 'the image itself is left out');
    assert.ok(hrefs.every((h) => /^\/image\/[0-9a-f]{64}$/.test(h!)));
    await similar.first().click();
    await page.waitForURL((url) => url.pathname === hrefs[0]);
    await page.getByTestId('dimensions').waitFor();
    assert.deepEqual(problems, []);
  });

  test('deleting an image asks first, says older versions keep it, and takes it out of the latest', async (t) => {
    const { id } = await service.upload(await noisy(COLOURS.magenta, 10, 802), 'to-delete.jpg');
    const { page, problems } = await open(t, `${service.url}/image/${id}`);
    await page.getByRole('button', { name: 'Delete image…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete this image?' });
    assert.match((await dialog.textContent())!, /Older versions still hold the image/);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await dialog.isVisible(), false);
    assert.ok((await service.graphql(`{ image(id: "${id}") { id } }`)).data!.image, 'cancel deletes nothing');

    await page.getByRole('button', { name: 'Delete image…' }).click();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('status').filter({ hasText: 'Older versions still hold it' }).waitFor();
    assert.equal((await service.graphql(`{ image(id: "${id}") { id } }`)).data!.image, null);
    assert.deepEqual(problems, []);
  });

  test('history lists every version; browsing an old one pins the app and searches answer from it', async (t) => {
    const before = await latestVersion();
    const late = await service.upload(await noisy(COLOURS.purple, 10, 803), 'late-purple.jpg');
    const { page, problems } = await open(t, `${service.url}/history`);
    const rows = page.locator('tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), await latestVersion(), 'one row per version');
    assert.match((await rows.first().textContent())!, /Append/);
    const row = rows.filter({ has: page.locator('td:first-child', { hasText: new RegExp(`^${before}$`) }) });
    await row.getByRole('link', { name: 'Browse as of this version' }).click();
    await page.waitForURL(`**/?version=${before}`);
    await page.getByText(`Browsing version ${before}, read-only`).waitFor();
    assert.equal(await page.locator('input[type="file"]').count(), 0, 'read-only: no uploads');

    await page.locator('input[type="search"]').fill('purple');
    await page.keyboard.press('Enter');
    const results = page.getByRole('list', { name: 'Search results, best first' }).getByRole('link');
    await results.first().waitFor();
    assert.match((await page.getByTestId('search-meta').textContent())!, new RegExp(`dataset version ${before}\\s*$`));
    assert.equal(await results.first().getAttribute('href'), `/image/${ids.purple}?version=${before}`);
    const hrefs = await results.evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    assert.ok(!hrefs.some((h) => h!.includes(late.id)), 'the later upload is not in the old version');
    // The pin follows links: the image page reads the old version too.
    await results.first().click();
    await page.getByText(`Browsing version ${before}, read-only`).waitFor();
    await page.getByRole('heading', { level: 1, name: 'purple.png' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Delete image…' }).count(), 0);
    assert.deepEqual(problems, []);
  });

  test('restoring a version asks first and makes its content the latest', async (t) => {
    const dataset = await tempDir();
    const own = await startService({ DATA_URI: dataset });
    t.after(async () => {
      await own.stop();
      await rm(dataset, { recursive: true, force: true });
    });
    await own.upload(await solid(COLOURS.green), 'green.png');
    await own.upload(await solid(COLOURS.blue), 'blue.png');
    const { page, problems } = await open(t, `${own.url}/history`);
    await page.getByRole('button', { name: 'Restore… version 2' }).click();
    await page.getByRole('dialog', { name: 'Restore version 2?' }).getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('status').filter({ hasText: 'Restored version 2' }).waitFor();
    const { data } = await own.graphql('{ versions { version operation rowCount } }');
    assert.deepEqual(data!.versions.at(-1), { version: 4, operation: 'Restore', rowCount: 1 });
    await page.locator('tbody tr').nth(3).waitFor();
    assert.deepEqual(problems, []);
  });

  test("history pages through many versions, and at phone width every version's link and button is in view", async (t) => {
    const dataset = await tempDir();
    const versions = await commitSingleRows(dataset, 130);
    const own = await startService({ DATA_URI: dataset });
    t.after(async () => {
      await own.stop();
      await rm(dataset, { recursive: true, force: true });
    });
    const { page, problems } = await open(t, `${own.url}/history`, VIEWPORTS.phone);
    const rows = page.locator('tbody tr');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 100, 'the newest hundred first');
    const width = VIEWPORTS.phone.width;
    for (const row of [1, 2, 99]) {
      const controls = rows.nth(row).locator('a, button');
      assert.equal(await controls.count(), 2, `row ${row}: a link and a restore button`);
      for (const control of await controls.all()) {
        const box = (await control.boundingBox())!;
        const name = await control.textContent();
        assert.ok(
          box.x >= 0 && box.x + box.width <= width,
          `"${name}" spans ${box.x}-${box.x + box.width} of ${width}px`,
        );
      }
    }
    await page.getByRole('button', { name: 'Show older versions' }).click();
    await rows.nth(versions - 1).waitFor();
    assert.equal(await rows.count(), versions, 'every version once');
    assert.match((await rows.last().textContent())!, /Create/);
    assert.equal(await page.getByRole('button', { name: 'Show older versions' }).count(), 0, 'no older versions left');
    assert.deepEqual(problems, []);
  });

  test('the dataset page groups files by kind, charts growth, and explains a refused index build', async (t) => {
    const { page, problems } = await open(t, `${service.url}/dataset`);
    const kinds = page.getByTestId('file-kinds').locator('tbody tr td:first-child');
    await kinds.first().waitFor();
    const names = await kinds.allTextContents();
    assert.deepEqual(names.slice(0, 5), ['data', 'manifest', 'transaction', 'deletion', 'index']);
    assert.match((await page.getByTestId('file-kinds').textContent())!, /data\s*\d+\s*[\d.]+ [KM]?B/);
    await page.getByRole('img', { name: /Live rows per version/ }).waitFor();
    assert.ok((await page.locator('svg circle').count()) >= COLOUR_NAMES.length);
    assert.match((await page.getByTestId('unindexed').textContent())!, /no vector index/);

    await page.getByRole('button', { name: 'Build vector index' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /needs at least 256 rows/ })
      .waitFor();
    await page.getByRole('button', { name: 'Optimize' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /^Optimized, in version \d+/ })
      .waitFor();
    assert.deepEqual(problems, []);
  });

  test('with API_KEY set, the UI asks for the key once, when an upload first needs it', async (t) => {
    const dataset = await tempDir();
    const guarded = await startService({ DATA_URI: dataset, API_KEY: 'sekret' });
    t.after(async () => {
      await guarded.stop();
      await rm(dataset, { recursive: true, force: true });
    });
    const { page, problems } = await open(t, `${guarded.url}/`);
    const input = page.locator('input[type="file"]');
    await input.setInputFiles([{ name: 'one.png', mimeType: 'image/png', buffer: await solid(COLOURS.cyan) }]);
    const dialog = page.getByRole('dialog', { name: 'API key' });
    await dialog.getByLabel('Key').fill('wrong');
    await dialog.getByRole('button', { name: 'Use this key' }).click();
    await dialog.getByText('The server refused that key').waitFor();
    await dialog.getByLabel('Key').fill('sekret');
    await dialog.getByRole('button', { name: 'Use this key' }).click();
    await page.getByText('1 of 1 files done').waitFor();
    await input.setInputFiles([{ name: 'two.png', mimeType: 'image/png', buffer: await solid(COLOURS.white) }]);
    await page.getByText('2 of 2 files done').waitFor();
    assert.equal(await dialog.isVisible(), false, 'asked once per tab session');
    const outcomes = await page.getByRole('list', { name: 'Uploads' }).getByRole('listitem').allTextContents();
    assert.ok(
      outcomes.every((o) => /stored/.test(o) && !/refused/.test(o)),
      outcomes.join(' | '),
    );
    // Chromium logs every 4xx answer; the two refusals (no key, then the wrong one) are the point.
    const refusals = problems.filter((p) => /status of 401/.test(p));
    assert.equal(refusals.length, 2);
    assert.deepEqual(
      problems.filter((p) => !refusals.includes(p)),
      [],
    );
  });

  test('every page at desktop and phone width: no serious axe-core violations, no sideways scrolling', async (t) => {
    const pages: Record<string, { path: string; ready: (page: Page) => Promise<unknown> }> = {
      newest: { path: '/', ready: (p) => p.getByRole('list', { name: 'Newest images' }).waitFor() },
      search: { path: '/?q=red', ready: (p) => p.getByTestId('search-meta').waitFor() },
      image: { path: `/image/${ids.red}`, ready: (p) => p.getByRole('list', { name: /Similar images/ }).waitFor() },
      history: { path: '/history', ready: (p) => p.locator('tbody tr').first().waitFor() },
      pinned: { path: '/?version=3', ready: (p) => p.getByRole('list', { name: 'Newest images' }).waitFor() },
      dataset: { path: '/dataset', ready: (p) => p.getByRole('img', { name: /Live rows/ }).waitFor() },
    };
    await mkdir(SCREENSHOTS, { recursive: true });
    const report: Record<string, AxeViolation[]> = {};
    for (const [name, { path: route, ready }] of Object.entries(pages)) {
      for (const [width, viewport] of Object.entries(VIEWPORTS)) {
        const { page, problems } = await open(t, `${service.url}${route}`, viewport);
        await ready(page);
        await page.waitForLoadState('networkidle');
        await page.screenshot({ path: path.join(SCREENSHOTS, `${name}-${width}.png`), fullPage: true });
        const violations = await axeViolations(page);
        report[`${name} (${width})`] = violations;
        const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
        assert.deepEqual(serious, [], `${name} at ${width} width`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${name} at ${width} width scrolls sideways by ${overflow}px`);
        assert.deepEqual(problems, [], `${name} at ${width} width`);
      }
    }
    await writeFile(path.join(SCREENSHOTS, 'axe.json'), JSON.stringify(report, null, 2));
    const all = Object.values(report).flat();
    t.diagnostic(
      `axe-core: ${all.length} violations of minor or moderate impact over ${Object.keys(report).length} views`,
    );
  });
});

/** A dataset at `dir` made of `count` - 1 one-row appends, straight through Lance (fast); returns its number of versions. */
async function commitSingleRows(dir: string, count: number): Promise<number> {
  const model = await testModel();
  const dimension = model.dimension;
  const connection = await lancedb.connect(dir);
  // Made by the model the service will run with, as the service itself records it.
  const table = await connection.createEmptyTable(TABLE_NAME, imageSchema(dimension, modelRecord(model.identity)));
  for (let i = 1; i < count; i++) await table.add(syntheticRows(1, dimension, i).map(toLanceRow));
  const versions = await table.version();
  connection.close();
  return versions;
}

function startService(env: Record<string, string>): Promise<ServiceProcess> {
  return testModelDir().then((model) =>
    startServiceProcess({
      EMBEDDING_MODEL: model,
      INDEX_MIN_ROWS: '1000000',
      READ_CONSISTENCY_MS: '0',
      ...env,
    }),
  );
}
