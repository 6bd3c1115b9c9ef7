/** The results files of the replica upload-rate measurement (replica-rate.ts). */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Environment } from './environment.js';
import { RESULTS_DIR } from './paths.js';
import type { RateOptions, RateRun } from './replica-rate.js';
import { describeRelay, describeStore } from './replica-store.js';
import { loadSettings } from '../../src/config.js';

const DEFAULTS = loadSettings({});

/** Issue 15: four replicas sustain at least this multiple of one replica's upload rate. */
export const RATE_TARGET = 2.5;

export async function writeRateResults(
  name: string,
  environment: Environment,
  options: RateOptions,
  runs: RateRun[],
): Promise<string> {
  const one = runs.find((run) => run.replicas === 1);
  const ratios = Object.fromEntries(
    runs
      .filter((run) => run.replicas > 1)
      .map((run) => [run.replicas, one ? run.uploadsPerSecond / one.uploadsPerSecond : NaN]),
  );
  const four = ratios[4];
  const intact = runs.every((run) => run.dataset.lost === 0 && run.dataset.duplicated === 0);
  const met = four !== undefined && four >= RATE_TARGET && intact;
  const verdict =
    four === undefined
      ? 'no 4-replica run: the target is not measured'
      : `${met ? 'met' : 'missed'}: 4 replicas ÷ 1 = ${four.toFixed(2)}× (target ≥ ${RATE_TARGET}×), ${intact ? '0 lost, 0 duplicated' : 'uploads lost or duplicated'}`;
  const result = {
    environment,
    store: options.store,
    profile: options.profile ?? null,
    rows: options.rows,
    clientsPerReplica: options.clients,
    windowSeconds: options.seconds,
    ratioToOneReplica: ratios,
    target: RATE_TARGET,
    verdict,
    runs,
  };
  await writeFile(path.join(RESULTS_DIR, `${name}.json`), JSON.stringify(result, null, 2) + '\n');
  const md = markdown(options, runs, ratios, verdict);
  await writeFile(path.join(RESULTS_DIR, `${name}.md`), md);
  return md;
}

function markdown(options: RateOptions, runs: RateRun[], ratios: Record<number, number>, verdict: string): string {
  const pct = (share: number | null) => (share === null ? '—' : `${(share * 100).toFixed(0)}%`);
  const sum = (run: RateRun, pick: (r: RateRun['perReplica'][number]) => number) =>
    run.perReplica.reduce((total, r) => total + pick(r), 0);
  const rows = runs.map((run) => {
    const commits = sum(run, (r) => r.appendCommits);
    const errors = Object.entries(run.errorsByCode).map(([code, n]) => `${n} ${code}`);
    return [
      run.replicas,
      run.replicas * run.clients,
      run.uploadsPerSecond.toFixed(2),
      run.replicas === 1 ? '1×' : `${ratios[run.replicas]!.toFixed(2)}×`,
      run.latencyMs.p50.toFixed(0),
      run.latencyMs.p95.toFixed(0),
      errors.join(', ') || '0',
      run.dataset.lost,
      run.dataset.duplicated,
      commits,
      (run.acknowledged / Math.max(1, commits)).toFixed(1),
      sum(run, (r) => r.conflictRetries),
      run.bucket ? (run.bucket.byStatus[412] ?? 0) : '—',
      `${sum(run, (r) => r.relayedRows.holder)} / ${sum(run, (r) => r.relayedRows.here)}`,
      run.bucket ? run.bucket.perUpload.toFixed(1) : '—',
      pct(run.machineBusyShare),
      run.perReplica.map((r) => pct(r.cpuShare)).join(' / '),
    ].join(' | ');
  });
  return [
    '# Upload rate of 1, 2 and 4 replicas on one dataset',
    '',
    `${options.rows.toLocaleString('en')} rows prefilled, compacted, with every index the upkeep builds, on ${describeStore(options)}; ` +
      `a fresh dataset for each replica count. Service processes at their defaults (UPLOAD_CONCURRENCY ${DEFAULTS.UPLOAD_CONCURRENCY}, READ_CONSISTENCY_MS ${DEFAULTS.READ_CONSISTENCY_MS}), ` +
      `${describeRelay(options.relay)}; ` +
      `${options.clients} closed-loop clients per replica upload distinct 64×64 JPEGs one at a time through GraphQL multipart ` +
      `for ${options.seconds} s (the uploads in flight then are answered and counted). Lost and duplicated are counted in the dataset ` +
      'itself, past the proxy, 2 s after the last answer.',
    '',
    '| replicas | clients | uploads/s | ÷ 1 replica | p50 ms | p95 ms | errors | lost | duplicated | append commits | uploads per commit | conflict retries | bucket 412s | rows handed to the holder / committed after a failed hand-off | bucket requests per upload | machine CPU busy | CPU per replica |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((row) => `| ${row} |`),
    '',
    `**Verdict (issue 15, ≥ ${RATE_TARGET}× with 4 replicas, 0 lost, 0 duplicated): ${verdict}.**`,
    '',
    ...notes(runs),
    '',
  ].join('\n');
}

/** What the run's own figures say about where the time went. */
function notes(runs: RateRun[]): string[] {
  return [
    "- Conflict retries are the writer's (lance_image_search_commit_conflict_retries_total): an append Lance could not rebase. " +
      "Bucket 412s are Lance's own: a manifest PUT with If-None-Match that found the version taken, rebased and retried inside one commit.",
    '- Machine CPU busy is the share of both cores busy during the window, every process included; CPU per replica is each ' +
      "service process's CPU seconds ÷ the window (1 = one core).",
    `- Commits per second across the dataset (every replica's appends and folds ÷ the window): ${runs
      .map((run) => {
        const commits = run.perReplica.reduce((n, r) => n + r.appendCommits + r.otherCommits.fold!, 0);
        return `${run.replicas} replica(s) ${(commits / (run.wallMs / 1000)).toFixed(2)}`;
      })
      .join(', ')}. The rate is this times the uploads per commit. Lance commits a version by a conditional PUT of ` +
      'the next manifest, so all replicas share one chain of versions: one that loses the PUT (a 412) reads the versions it ' +
      'missed and tries again, several round trips of the profile each, while the others commit. More replicas split the ' +
      'same commits among them. Without the hand-off each batches only its own uploads (at most UPLOAD_CONCURRENCY), so a ' +
      "commit holds no more; with it the lease holder's commit takes every replica's rows queued meanwhile.",
    ...runs.map((run) => {
      const logged = new Map<string, number>();
      for (const replica of run.perReplica)
        for (const [msg, n] of Object.entries(replica.logged)) logged.set(msg, (logged.get(msg) ?? 0) + n);
      const lines = [...logged].map(([msg, n]) => `${n}× "${msg}"`).join('; ');
      const load = `load average ${run.loadAverage.before[0]} → ${run.loadAverage.after[0]}`;
      const intervals = run.perReplica.map((r) => r.commitIntervalS.p50.toFixed(1)).join(' / ');
      const commits = run.perReplica.reduce((n, r) => n + r.appendCommits + r.otherCommits.fold!, 0);
      const gets = run.bucket
        ? Object.entries(run.bucket.getsByKind)
            .map(([kind, n]) => `${kind} ${(n / Math.max(1, commits)).toFixed(1)}`)
            .join(', ')
        : '';
      const failure = run.perReplica.flatMap((r) => r.failures)[0];
      return (
        `- ${run.replicas} replica(s): ${load}; p50 seconds between one replica's append commits ${intervals}; ` +
        (run.bucket
          ? `bucket GETs per commit (appends and folds) by kind: ${gets}; listings ${run.bucket.listings}; `
          : '') +
        `logged: ${lines || 'no warnings, no upkeep'}.` +
        (failure ? ` First failure: ${failure.replace(/\s+/g, ' ')}` : '')
      );
    }),
  ];
}
