/**
 * Hostile-input benchmark: the corpus test/hostile.test.ts runs in CI (issue 6's findings), at
 * the sizes of the original report, against a real service process on its default settings,
 * with the process's resident memory sampled throughout.
 *
 * Usage: npm run bench:hostile
 * Writes benchmarks/results/hostile.{json,md}: per case, what was answered and the peak RSS.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hostileCorpus, type Answer, type Target } from '../test/support/hostile-corpus.js';
import { startServiceProcess } from '../test/support/service-process.js';
import { testModelDir } from '../test/support/harness.js';
import { RESULTS_DIR } from './lib/paths.js';

/** VmRSS and VmHWM (peak) of a process, in MiB. */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

function summary(answer: Answer): string {
  const error = answer.body?.errors?.[0];
  if (error) return `${answer.status} ${error.extensions?.code}: ${String(error.message).slice(0, 110)}`;
  const data = answer.body?.data;
  return `${answer.status} ${data ? Object.keys(data).join(',') : typeof answer.body === 'string' ? answer.body.slice(0, 60) : ''}`;
}

const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-hostile-'));
const service = await startServiceProcess({ DATA_URI: dataDir, EMBEDDING_MODEL: await testModelDir() });
const target: Target = {
  url: service.url,
  version: async () => (await service.graphql('{ dataset { version } }')).data!.dataset.version,
};
const cases = await hostileCorpus({
  maxUploadBytes: 25 * 1024 * 1024,
  maxFiles: 32,
  bigImages: { atOnce: 8, inOneRequest: 16 },
  costlyImages: 'real',
});
const rows: Array<Record<string, unknown>> = [];
const idle = memory(service.pid);
try {
  for (const c of cases) {
    let peak = memory(service.pid).rss;
    const sampler = setInterval(() => (peak = Math.max(peak, memory(service.pid).rss)), 20);
    const started = performance.now();
    const answers = await c.send(target).catch((error: Error) => [{ status: 0, body: error.message } as Answer]);
    const ms = performance.now() - started;
    clearInterval(sampler);
    let verdict = 'as required';
    try {
      c.check(answers);
    } catch (error) {
      verdict = `NOT as required: ${(error as Error).message.split('\n')[0]}`;
    }
    const up = (await fetch(`${service.url}/healthz`).catch(() => null))?.status === 200;
    const answered = [...new Set(answers.map(summary))];
    rows.push({
      finding: c.finding,
      case: c.name,
      answered,
      verdict,
      up,
      ms: Math.round(ms),
      peakRssMiB: Math.round(peak),
    });
    process.stderr.write(
      `[bench:hostile] ${c.name}: ${answered.join(' | ')} (${verdict}, peak ${Math.round(peak)} MiB)\n`,
    );
  }
} finally {
  const final = memory(service.pid);
  await service.stop();
  await rm(dataDir, { recursive: true, force: true });
  const result = {
    date: new Date().toISOString(),
    idleRssMiB: Math.round(idle.rss),
    peakRssMiB: Math.round(final.peak),
    cases: rows,
  };
  await writeFile(path.join(RESULTS_DIR, 'hostile.json'), JSON.stringify(result, null, 2) + '\n');
  const table = rows.map(
    (r) =>
      `| ${r.finding} | ${r.case} | ${(r.answered as string[]).join('<br>').replaceAll('|', '\\|')} | ${r.verdict} | ${r.up ? 'yes' : '**no**'} | ${r.ms} | ${r.peakRssMiB} |`,
  );
  const markdown = [
    "# Hostile input: what was sent, what was answered, and the server's memory",
    '',
    `\`npm run bench:hostile\`, ${result.date}: one service process on its default settings (designed test model, local disk).`,
    `RSS idle after start: ${result.idleRssMiB} MiB; peak over the whole corpus (VmHWM): **${result.peakRssMiB} MiB**.`,
    '',
    '| finding | sent | answered | verdict | up after | ms | peak RSS MiB |',
    '|---|---|---|---|---|---|---|',
    ...table,
    '',
  ].join('\n');
  await writeFile(path.join(RESULTS_DIR, 'hostile.md'), markdown);
  process.stdout.write(markdown);
}
