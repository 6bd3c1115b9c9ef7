/**
 * Runs the benchmark suites and writes benchmarks/results/<suite>.json and .md.
 *
 * Usage: npm run bench -- [--quick] [suite...]   (suites: upload search batching growth projection)
 * --quick runs small sizes to check that the suites work; it prints but writes no result files.
 *
 * The model is the designed test model unless EMBEDDING_MODEL names another; every result says which.
 */
import { performance } from 'node:perf_hooks';
import { describeEnvironment } from './lib/environment.js';
import { loadBenchModel } from './lib/model.js';
import { RESULTS_DIR } from './lib/paths.js';
import { renderMarkdown, writeResult } from './lib/report.js';
import type { Suite, SuiteContext } from './lib/suite.js';
import { batchingSuite } from './suites/batching.js';
import { growthSuite } from './suites/growth.js';
import { projectionSuite } from './suites/projection.js';
import { searchSuite } from './suites/search.js';
import { uploadSuite } from './suites/upload.js';

const SUITES: Suite[] = [uploadSuite, searchSuite, batchingSuite, growthSuite, projectionSuite];

function parseArgs(argv: string[]): { suites: Suite[]; quick: boolean } {
  const quick = argv.includes('--quick');
  const names = argv.filter((arg) => !arg.startsWith('--'));
  const unknown = names.filter((name) => !SUITES.some((s) => s.name === name));
  if (unknown.length > 0 || argv.some((arg) => arg.startsWith('--') && arg !== '--quick')) {
    const known = SUITES.map((s) => s.name).join(' ');
    throw new Error(`usage: npm run bench -- [--quick] [suite...]\nunknown: ${argv.join(' ')}\nsuites: ${known}`);
  }
  return { suites: names.length ? SUITES.filter((s) => names.includes(s.name)) : SUITES, quick };
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

async function main(): Promise<void> {
  const { suites, quick } = parseArgs(process.argv.slice(2));
  const bench = await loadBenchModel();
  log(`model: ${bench.description}`);
  const ctx: SuiteContext = { model: bench.model, quick, log };
  try {
    for (const suite of suites) {
      const started = performance.now();
      // Per suite: its date and the machine's load when it started.
      const env = await describeEnvironment(bench.description);
      const result = await suite.run(ctx);
      if (quick) result.notes.unshift('QUICK RUN (--quick): reduced sizes, for checking the suites, not for figures.');
      // A quick run only checks that the suites work: it must not replace real results.
      const files = quick ? ['not written (--quick)'] : await writeResult(RESULTS_DIR, result, env);
      process.stdout.write(renderMarkdown(result, env) + '\n');
      log(`${suite.name} done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${files.join(', ')}`);
    }
  } finally {
    await bench.dispose();
  }
}

await main();
