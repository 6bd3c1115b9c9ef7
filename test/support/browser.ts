// Real Chromium (Debian's, never a downloaded one) driving the real service, for the web UI's
// tests and benchmark.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { EXPLORER_BUILD_DIR } from '../../src/http/explorer.js';
import { WEB_BUILD_DIR } from '../../src/http/web-app.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Desktop and phone viewports every page is checked at. */
export const VIEWPORTS = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
} as const;

/**
 * Builds the web UI and the GraphQL explorer when a build is missing or older than its sources,
 * so that the tests always test what is in web/ (`npm install` builds them too).
 */
export function ensureWebBuild(): void {
  const builds = [
    {
      built: path.join(WEB_BUILD_DIR, '200.html'),
      sources: [path.join(ROOT, 'web', 'src'), path.join(ROOT, 'web', 'svelte.config.js')],
    },
    { built: path.join(EXPLORER_BUILD_DIR, 'index.html'), sources: [path.join(ROOT, 'web', 'explorer')] },
  ];
  const stale = ({ built, sources }: (typeof builds)[number]) => {
    const at = statSync(built, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    return sources.some((source) => newest(source) >= at);
  };
  if (!builds.some(stale)) return;
  execFileSync('npm', ['run', 'build:web'], { cwd: ROOT, stdio: 'ignore' });
}

/** The newest modification time under `file`, build output (dist/) left out. */
function newest(file: string): number {
  const info = statSync(file);
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = readdirSync(file).filter((name) => name !== 'dist');
  return Math.max(info.mtimeMs, ...entries.map((name) => newest(path.join(file, name))));
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/**
 * What went wrong in a page while it was open: console errors, uncaught exceptions, and any
 * request to another host than `origin` (the UI must work offline).
 */
export function watch(page: Page, origin: string): string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !/^(data|blob):/.test(url)) problems.push(`request to another host: ${url}`);
  });
  return problems;
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: number;
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's violations on the page as it is now (WCAG 2.x A and AA, and best practices). */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ content: AXE_SOURCE });
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(): Promise<{ violations: Array<Record<string, unknown>> }> } }).axe;
    const { violations } = await axe.run();
    return violations.map((v) => ({
      id: String(v.id),
      impact: (v.impact as string | null) ?? null,
      help: String(v.help),
      nodes: (v.nodes as unknown[]).length,
    }));
  });
}

/** Bytes of JavaScript the page has loaded so far (decoded, i.e. uncompressed). */
export async function scriptBytes(page: Page): Promise<number> {
  return page.evaluate(() =>
    performance
      .getEntriesByType('resource')
      .filter((e) => (e as PerformanceResourceTiming).initiatorType === 'script' || e.name.endsWith('.js'))
      .reduce((sum, e) => sum + (e as PerformanceResourceTiming).decodedBodySize, 0),
  );
}
