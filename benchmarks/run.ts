/**
 * Runs the benchmark suites and writes benchmarks/results/<suite>.json and .md.
 *
 * Usage: npm run bench -- [--quick] [--rows N] [--data DIR] [--pg-url URL] [suite...]
 * (suites: upload search batching growth projection scale filters peer burst upkeep)
 * --quick runs small sizes to check that the suites work, and writes <suite>.quick.{json,md} (gitignored),
 * never the committed results. --rows N (scale) writes <suite>-<N>.{json,md}, leaving the default size's in
 * place; --data DIR (scale) keeps its dataset under DIR/<N> and reuses it on later runs. --pg-url names a
 * PostgreSQL with pgvector for the peer suite, which is skipped without it.
 *
 * The model is the designed test model unless EMBEDDING_MODEL names another; every result says which.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs as parseNodeArgs } from 'node:util';
import { describeEnvironment } from './lib/environment.js';
import { loadBenchModel } from './lib/model.js';
import { RESULTS_DIR, resultName } from './lib/paths.js';
import { renderMarkdown, writeResult } from './lib/report.js';
import type { Suite, SuiteContext } from './lib/suite.js';
import { batchingSuite } from './suites/batching.js';
import { filtersSuite } from './suites/filters.js';
import { growthSuite } from './suites/growth.js';
import { peerSuite } from './suites/peer.js';
import { burstSuite } from './suites/burst.js';
import { projectionSuite } from './suites/projection.js';
import { searchSuite } from './suites/search.js';
import { scaleSuite } from './suites/scale.js';
import { uploadSuite } from './suites/upload.js';
import { upkeepSuite } from './suites/upkeep.js';

const SUITES: Suite[] = [
  uploadSuite,
  searchSuite,
  batchingSuite,
  growthSuite,
  projectionSuite,
  scaleSuite,
  filtersSuite,
  peerSuite,
  burstSuite,
  upkeepSuite,
];

const USAGE = 'usage: npm run bench -- [--quick] [--rows N] [--data DIR] [--pg-url URL] [suite...]';

function parseArgs(argv: string[]): {
  suites: Suite[];
  quick: boolean;
  rows?: number;
  dataDir?: string;
  pgUrl?: string;
} {
  const { values, positionals } = parseNodeArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rows: { type: 'string' },
      data: { type: 'string' },
      'pg-url': { type: 'string' },
    },
    allowPositionals: true,
    strict: false,
  });
  const known = SUITES.map((s) => s.name).join(' ');
  const unknown = positionals.filter((name) => !SUITES.some((s) => s.name === name));
  const rows = values.rows === undefined ? undefined : Number(values.rows);
  const pgUrl = values['pg-url'];
  const dataDir = values.data;
  const badFlag = Object.keys(values).some((k) => !['quick', 'rows', 'data', 'pg-url'].includes(k));
  const badRows = rows !== undefined && !(Number.isInteger(rows) && rows > 0);
  const badValue = [pgUrl, dataDir].some((v) => v !== undefined && typeof v !== 'string');
  if (unknown.length > 0 || badFlag || badRows || badValue) {
    throw new Error(`${USAGE}\nunknown: ${argv.join(' ')}\nsuites: ${known}`);
  }
  const suites = positionals.length ? SUITES.filter((s) => positionals.includes(s.name)) : SUITES;
  return {
    suites,
    quick: values.quick === true,
    rows,
    dataDir: dataDir as string | undefined,
    pgUrl: pgUrl as string | undefined,
  };
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

async function main(): Promise<void> {
  const { suites, quick, rows, dataDir, pgUrl } = parseArgs(process.argv.slice(2));
  const bench = await loadBenchModel();
  log(`model: ${bench.description}`);
  try {
    for (const suite of suites) {
      const name = resultName(suite.name, quick, rows);
      const ctx: SuiteContext = { model: bench.model, quick, rows, dataDir, pgUrl, resultName: name, log };
      // A suite that lacks what it needs writes nothing, so its committed results stay.
      const missing = suite.skip?.(ctx);
      if (missing) {
        log(`${suite.name} skipped: ${missing}`);
        continue;
      }
      const started = performance.now();
      // Per suite: its date and the machine's load when it started.
      const env = await describeEnvironment(bench.description);
      const result = await suite.run(ctx);
      if (quick) result.notes.unshift('QUICK RUN (--quick): reduced sizes, for checking the suites, not for figures.');
      const files = await writeResult(RESULTS_DIR, result, env, name);
      process.stdout.write(renderMarkdown(result, env) + '\n');
      log(`${suite.name} done in ${((performance.now() - started) / 1000).toFixed(1)} s: ${files.join(', ')}`);
    }
  } finally {
    await bench.dispose();
  }
}

await main();
