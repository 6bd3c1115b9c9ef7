/**
 * Web UI benchmark: time from pressing Enter in the search box to the first result thumbnail
 * drawn, in real Chromium against a real service process (designed test model) holding 2,000
 * images uploaded through the real multipart path; and the first page's JavaScript.
 *
 * Usage: npm run bench:ui [-- --images N]
 * Writes benchmarks/results/ui.{json,md}.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuild, launchBrowser, scriptBytes } from '../test/support/browser.js';
import { multipart, tempDir, testModelDir, UPLOAD_MANY } from '../test/support/harness.js';
import { COLOURS, COLOUR_NAMES, noisy } from '../test/support/images.js';
import { startServiceProcess, type ServiceProcess } from '../test/support/service-process.js';
import { describeEnvironment } from './lib/environment.js';
import { RESULTS_DIR } from './lib/paths.js';
import { summarise } from './lib/stats.js';

const { values } = parseArgs({ options: { images: { type: 'string', default: '2000' } } });
const IMAGES = Number(values.images);
const BATCH = 32;
const QUERIES = COLOUR_NAMES.map((name) => `a ${name} photo`);

/** Uploads `count` distinct noisy images of every colour, 32 per multipart request, 2 requests at a time. */
async function seed(service: ServiceProcess, count: number): Promise<number> {
  const started = performance.now();
  const batches = Math.ceil(count / BATCH);
  let next = 0;
  const worker = async () => {
    for (let b = next++; b < batches; b = next++) {
      const files = await Promise.all(
        Array.from({ length: Math.min(BATCH, count - b * BATCH) }, async (_, i) => {
          const n = b * BATCH + i;
          const colour = COLOUR_NAMES[n % COLOUR_NAMES.length]!;
          return { bytes: await noisy(COLOURS[colour], 20, n + 1), name: `${colour}-${n}.jpg` };
        }),
      );
      const response = await fetch(`${service.url}/graphql`, {
        method: 'POST',
        body: multipart(UPLOAD_MANY, files, true),
        headers: { 'apollo-require-preflight': 'true' },
      });
      const body = (await response.json()) as { errors?: unknown };
      if (body.errors) throw new Error(`seeding failed: ${JSON.stringify(body.errors)}`);
    }
  };
  await Promise.all([worker(), worker()]);
  return performance.now() - started;
}

/** Page-side milliseconds from the Enter keydown to the load of the first result thumbnail. */
async function enterToFirstThumbnail(page: Page, text: string): Promise<number> {
  await page.goto(new URL('/', page.url()).href);
  await page.getByRole('list', { name: 'Newest images' }).waitFor();
  await page.locator('input[type="search"]').fill(text);
  await page.evaluate(() => {
    const marks: { enter?: number; first?: number } = {};
    (window as unknown as { marks: typeof marks }).marks = marks;
    document.addEventListener('keydown', (e) => e.key === 'Enter' && (marks.enter ??= performance.now()), true);
    document.addEventListener(
      'load',
      (e) => {
        const target = e.target as HTMLElement;
        if (target.tagName === 'IMG' && target.closest('[aria-label="Search results, best first"]'))
          marks.first ??= performance.now();
      },
      true,
    );
  });
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => (window as unknown as { marks: { first?: number } }).marks.first !== undefined);
  return page.evaluate(() => {
    const { enter, first } = (window as unknown as { marks: { enter: number; first: number } }).marks;
    return first - enter;
  });
}

async function measure(browser: Browser, url: string) {
  const coldContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await coldContext.newPage();
  await page.goto(`${url}/`);
  await page.waitForLoadState('networkidle');
  const firstPageJs = await scriptBytes(page);
  // Each query once: the service's caches and the browser's thumbnails are cold for it.
  const cold = [];
  for (const q of QUERIES) cold.push(await enterToFirstThumbnail(page, q));
  // Each query again: search-result cache and cached thumbnails.
  const warm = [];
  for (const q of QUERIES) warm.push(await enterToFirstThumbnail(page, q));
  await coldContext.close();
  return { firstPageJs, cold, warm };
}

const dataDir = await tempDir('bench-ui-');
ensureWebBuild();
const service = await startServiceProcess({
  DATA_URI: dataDir,
  EMBEDDING_MODEL: await testModelDir(),
});
const browser = await launchBrowser();
try {
  const seedMs = await seed(service, IMAGES);
  const { data } = await service.graphql('{ dataset { rowCount version indices } }');
  const { firstPageJs, cold, warm } = await measure(browser, service.url);
  const result = {
    environment: await describeEnvironment('designed test model (scripts/make-test-model.ts)'),
    images: data!.dataset.rowCount as number,
    version: data!.dataset.version as number,
    indices: data!.dataset.indices as string[],
    seedMs: Math.round(seedMs),
    firstPageJsBytes: firstPageJs,
    enterToFirstThumbnailMs: { cold: summarise(cold), warm: summarise(warm), coldRuns: cold, warmRuns: warm },
  };
  await writeFile(path.join(RESULTS_DIR, 'ui.json'), JSON.stringify(result, null, 2) + '\n');
  const row = (name: string, s: ReturnType<typeof summarise>) =>
    `| ${name} | ${s.p50.toFixed(0)} | ${s.p95.toFixed(0)} | ${s.min.toFixed(0)} | ${s.max.toFixed(0)} |`;
  const md = [
    '# Web UI',
    '',
    `${result.images} images (uploaded through \`uploadImages\`, ${BATCH} per request, in ${(seedMs / 1000).toFixed(1)} s), ` +
      `dataset version ${result.version}, indices: ${result.indices.join(', ') || 'none'}. Real Chromium, headless, ` +
      `against the real service process; the designed test model, so embedding a query costs less than with real CLIP.`,
    '',
    `First page JavaScript: **${(firstPageJs / 1000).toFixed(1)} KB** uncompressed.`,
    '',
    `Time from the Enter keydown to the first result thumbnail loaded, in the page's own clock, ${QUERIES.length} queries ` +
      `(\`${QUERIES[0]}\`, …):`,
    '',
    '| run | p50 ms | p95 ms | min ms | max ms |',
    '| --- | --- | --- | --- | --- |',
    row('first time (service caches and browser cache cold)', result.enterToFirstThumbnailMs.cold),
    row('again (cached search result, cached thumbnails)', result.enterToFirstThumbnailMs.warm),
    '',
    `Measured ${result.environment.date} on ${result.environment.cpus} × ${result.environment.cpuModel}, ` +
      `load average ${result.environment.loadAverage.join(' ')}. \`npm run bench:ui\`.`,
    '',
  ].join('\n');
  await writeFile(path.join(RESULTS_DIR, 'ui.md'), md);
  console.log(md);
} finally {
  await browser.close();
  await service.stop();
  await rm(dataDir, { recursive: true, force: true });
}
