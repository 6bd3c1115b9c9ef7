import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { get } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { COLOURS, solid } from './support/images.js';
import { tempDir, testModelDir, until } from './support/harness.js';
import { startServiceProcess, type ServiceProcess } from './support/service-process.js';
import { ensureWebBuild, launchBrowser, watch } from './support/browser.js';

/** What a browser may download to open the explorer, compressed as it travels (measured 1.64 MB). */
const EXPLORER_BYTES_LIMIT = 1_800_000;
const STUDIO = 'https://studio.apollographql.com';

/** The GraphQL explorer at /graphql, in real Chromium against the real service process, offline. */
describe('GraphQL explorer', () => {
  let browser: Browser;
  let service: ServiceProcess;
  const datasets: string[] = [];

  async function startService(env: Record<string, string> = {}): Promise<ServiceProcess> {
    const dataUri = await tempDir();
    datasets.push(dataUri);
    return startServiceProcess({ EMBEDDING_MODEL: await testModelDir(), DATA_URI: dataUri, ...env });
  }

  before(async () => {
    ensureWebBuild();
    browser = await launchBrowser();
    service = await startService();
    await service.upload(await solid(COLOURS.red), 'red.png');
    await service.upload(await solid(COLOURS.blue), 'blue.png');
  });
  after(async () => {
    await browser?.close();
    await service?.stop();
    for (const dataUri of datasets) await rm(dataUri, { recursive: true, force: true });
  });

  /**
   * The explorer in a fresh context with the network closed: every request to another host than
   * the service is refused, and counted. Console errors and uncaught exceptions are collected.
   */
  async function openOffline(t: TestContext, url: string) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    t.after(() => context.close());
    const elsewhere: string[] = [];
    const origin = new URL(url).origin;
    await context.route(
      (target) => target.origin !== origin,
      (route) => {
        elsewhere.push(route.request().url());
        return route.abort('internetdisconnected');
      },
    );
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    const problems = watch(page, origin);
    await page.goto(`${url}/graphql`);
    return { page, problems, elsewhere };
  }

  /** Replaces the operation in the query editor by typing `text`, then runs it. */
  async function typeAndRun(page: Page, text: string): Promise<void> {
    await page.locator('.graphiql-query-editor .monaco-editor').click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.type(text);
    await page.getByRole('button', { name: /^Execute query/ }).click();
  }

  /**
   * The response pane's text once it shows `containing`, its white space collapsed (Monaco draws
   * spaces as no-break spaces and wraps long lines).
   */
  async function response(page: Page, containing: string): Promise<string> {
    const pane = page.locator('.result-window .view-lines');
    await pane.filter({ hasText: containing }).waitFor();
    return (await pane.innerText()).replace(/[\s\u00a0]+/g, ' ').trim();
  }

  test('GET /graphql answers browsers with the explorer and API clients with GraphQL', async () => {
    const page = await fetch(`${service.url}/graphql`, { headers: { accept: 'text/html,*/*;q=0.8' } });
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    const csp = page.headers.get('content-security-policy')!;
    assert.match(csp, /script-src 'self';/);
    assert.match(csp, /connect-src 'self';/);
    const html = await page.text();
    assert.match(html, /<title>GraphQL explorer/);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /https?:\/\//, 'nothing named from another host');
    const script = /src="(\/explorer\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, 'the page names its script');
    const asset = await fetch(`${service.url}${script}`);
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    await asset.arrayBuffer();

    for (const accept of [undefined, '*/*', 'application/json']) {
      const answer = await fetch(`${service.url}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
        headers: { 'apollo-require-preflight': 'true', ...(accept && { accept }) },
      });
      assert.deepEqual(await answer.json(), { data: { __typename: 'Query' } }, `Accept: ${accept}`);
    }
  });

  test('with the network closed, a query typed into the explorer runs and its answer shows; the docs list the schema', async (t) => {
    const { page, problems, elsewhere } = await openOffline(t, service.url);
    await page.waitForLoadState('networkidle');
    assert.deepEqual(elsewhere, [], 'requests to other hosts while loading');
    await typeAndRun(page, '{ search(text: "red", limit: 1) { hits { image { filename } } } }');
    assert.equal(
      await response(page, 'red.png'),
      '{ "data": { "search": { "hits": [ { "image": { "filename": "red.png" } } ] } } }',
    );

    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByRole('link', { name: 'SearchHit', exact: true }).click();
    await docs.getByText('One image found by a vector search.').waitFor();

    const sandbox = page.getByRole('link', { name: 'Open in Apollo Sandbox (online)' });
    const endpoint = encodeURIComponent(`${service.url}/graphql`);
    assert.equal(await sandbox.getAttribute('href'), `${STUDIO}/sandbox/explorer?endpoint=${endpoint}`);
    assert.deepEqual(elsewhere, [], 'requests to other hosts');
    assert.deepEqual(problems, []);
  });

  test('the explorer downloads under 1.8 MB, compressed, and all of it from the service', async (t) => {
    const { page, problems, elsewhere } = await openOffline(t, service.url);
    const urls = new Set<string>();
    page.on('request', (request) => void urls.add(request.url()));
    await page.reload();
    await page.locator('.graphiql-query-editor .monaco-editor').waitFor();
    await page.waitForLoadState('networkidle');
    // Monaco's three workers (editor, JSON, GraphQL) start with the editors.
    await until(() => [...urls].filter((url) => url.includes('.worker-')).length === 3, 'the three workers');
    const assets = [...urls].filter((url) => url.includes('/explorer/assets/'));
    let compressed = 0;
    let raw = 0;
    for (const url of [`${service.url}/graphql`, ...assets]) {
      compressed += await bytesOverTheWire(url);
      raw += (await (await fetch(url, { headers: { accept: 'text/html' } })).arrayBuffer()).byteLength;
    }
    t.diagnostic(`explorer: ${assets.length + 1} files, ${compressed} bytes compressed (br), ${raw} uncompressed`);
    assert.ok(compressed < EXPLORER_BYTES_LIMIT, `${compressed} bytes`);
    assert.deepEqual(elsewhere, []);
    assert.deepEqual(problems, []);
  });

  test('the headers editor carries the API key: a mutation is refused without it and runs with it', async (t) => {
    const guarded = await startService({ API_KEY: 'sekret' });
    t.after(() => guarded.stop());
    const { page, problems } = await openOffline(t, guarded.url);
    const mutation = `mutation { deleteImage(id: "${'0'.repeat(64)}") { deleted } }`;
    await typeAndRun(page, mutation);
    assert.match(await response(page, 'UNAUTHENTICATED'), /"code": "UNAUTHENTICATED"/);

    await page.getByRole('button', { name: 'Headers' }).click();
    await page.locator('.monaco-editor[data-uri$="request-headers.json"]').click();
    // Inserted whole: typed, Monaco would close each brace and quote itself.
    await page.keyboard.insertText('{ "Authorization": "Bearer sekret" }');
    await page.getByRole('button', { name: /^Execute query/ }).click();
    // Past the key check, the mutation runs: there is no such image.
    assert.match(await response(page, 'NOT_FOUND'), /"message": "no image with id [0 ]+".*"code": "NOT_FOUND"/);
    // Chromium logs the refusal's 401; it is the point of the first half.
    const refusals = problems.filter((p) => /status of 401/.test(p));
    assert.equal(refusals.length, 1);
    assert.deepEqual(
      problems.filter((p) => !refusals.includes(p)),
      [],
    );
  });

  test('with introspection off the explorer says so, asks for no schema, and queries still run', async (t) => {
    const production = await startService({ NODE_ENV: 'production' });
    t.after(() => production.stop());
    const { page, problems, elsewhere } = await openOffline(t, production.url);
    const asked: string[] = [];
    page.on('request', (r) => void (/IntrospectionQuery/.test(r.postData() ?? '') && asked.push(r.url())));
    await page.getByRole('status').filter({ hasText: 'Introspection is off on this server' }).waitFor();
    await typeAndRun(page, '{ dataset { version } }');
    assert.equal(await response(page, 'version'), '{ "data": { "dataset": { "version": 1 } } }');
    assert.deepEqual(asked, [], 'no introspection query');
    assert.deepEqual(elsewhere, []);
    assert.deepEqual(problems, []);
  });

  test("Apollo's hosted Sandbox, and no other site, may call /graphql from a browser", async () => {
    const preflight = (origin: string) =>
      fetch(`${service.url}/graphql`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,authorization',
        },
      });
    const studio = await preflight(STUDIO);
    assert.equal(studio.status, 204);
    assert.equal(studio.headers.get('access-control-allow-origin'), STUDIO);
    assert.match(studio.headers.get('access-control-allow-headers')!, /authorization/);
    const other = await preflight('https://elsewhere.example');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });
});

/** Body bytes of a GET as they travel, with the encodings Chromium accepts (fetch would decode them). */
function bytesOverTheWire(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { accept: 'text/html', 'accept-encoding': 'br, gzip' } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve(bytes));
      res.on('error', reject);
    }).on('error', reject);
  });
}
