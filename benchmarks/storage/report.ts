import type { Environment } from '../lib/environment.js';
import { bytes, ms, writeResult, type Cell, type SuiteResult, type Table } from '../lib/report.js';
import type { TargetResult } from './measure-target.js';
import { isPart, OPERATIONS, type OperationId, type OperationResult, type Plan } from './operations.js';
import type { PhotoSupply } from './photos.js';
import type { Skipped } from './targets.js';
import { storageNotes } from './notes.js';

export interface RunSummary {
  plan: Plan;
  quick: boolean;
  results: TargetResult[];
  skipped: Skipped[];
  photos: PhotoSupply;
  wallMs: number;
}

const IDS = Object.keys(OPERATIONS) as OperationId[];

function find(result: TargetResult, id: OperationId): OperationResult | undefined {
  return result.operations.find((op) => op.id === id);
}

/** Rows = operations, columns = targets, cells = p50 / p95. */
function latencyTable(results: TargetResult[]): Table {
  const rows = IDS.map((id) => {
    const n = results.map((r) => find(r, id)?.latency.n).find((x) => x !== undefined) ?? '–';
    const cells = results.map((r) => {
      const op = find(r, id);
      return op ? `${ms(op.latency.p50)} / ${ms(op.latency.p95)}` : '–';
    });
    return [OPERATIONS[id], n, ...cells];
  });
  return {
    title: 'Latency per operation (ms): p50 / p95',
    columns: ['operation', 'n', ...results.map((r) => r.target.name)],
    rows,
  };
}

/** Requests, methods and bytes per operation on one proxied target. */
function trafficTable(result: TargetResult): Table {
  const rows: Cell[][] = [];
  for (const id of IDS.filter((i) => !isPart(i))) {
    const t = find(result, id)?.traffic;
    if (!t) continue;
    const methods = Object.entries(t.byMethod).map(([m, count]) => `${m} ${round(count)}`);
    const unusual = Object.entries(t.byStatus).filter(([code]) => !/^2/.test(code));
    const statuses = unusual.map(([code, count]) => `${code}×${count}`).join(', ') || '–';
    rows.push([
      OPERATIONS[id],
      round(t.requests),
      methods.join(', '),
      bytes(t.bytesSent),
      bytes(t.bytesReceived),
      statuses,
    ]);
  }
  return {
    title: `Storage traffic per operation on ${result.target.name} (counted by the proxy, mean per iteration)`,
    columns: ['operation', 'requests', 'by method', 'sent', 'received', 'non-2xx responses (all iterations)'],
    rows,
  };
}

/** Requests per operation on every proxied target: latency should not change the count. */
function requestsByTargetTable(results: TargetResult[]): Table {
  const proxied = results.filter((r) => r.target.proxied);
  const rows = IDS.filter((id) => !isPart(id)).map((id) => [
    OPERATIONS[id],
    ...proxied.map((r) => {
      const t = find(r, id)?.traffic;
      return t ? round(t.requests) : '–';
    }),
  ]);
  return {
    title: 'Requests per operation, by proxied target',
    columns: ['operation', ...proxied.map((r) => r.target.name)],
    rows,
  };
}

/** Versions each append created, per target: more than 1 means the group commit was split. */
function versionsTable(results: TargetResult[]): Table {
  const appendIds: OperationId[] = ['append-1', 'append-batch'];
  const rows = appendIds.map((id) => [
    OPERATIONS[id],
    ...results.map((r) => {
      const versions = find(r, id)?.versionsPerIteration;
      return versions === undefined ? '–' : round(versions);
    }),
  ]);
  return { title: 'Lance versions per append', columns: ['operation', ...results.map((r) => r.target.name)], rows };
}

function targetsTable(results: TargetResult[]): Table {
  const rows = results.map((r) => [
    r.target.name,
    r.target.description,
    r.target.profile?.source ?? (r.target.kind === 'real' ? 'measured on the real service' : '–'),
    ms(r.fillMs),
    (r.wallMs / 1000).toFixed(0),
    r.error ?? '',
  ]);
  return {
    title: 'Targets (emulated profiles: test/support/s3-proxy.ts, with their sources)',
    columns: ['target', 'what', 'source of the figures', 'fill 1 commit (ms)', 'target wall (s)', 'error'],
    rows,
  };
}

/** Means per iteration: whole numbers as such, others with a precision that shows small ones. */
function round(value: number): string {
  if (Number.isInteger(value)) return String(value);
  return value < 1 ? value.toFixed(2) : value.toFixed(1);
}

export function buildResult(run: RunSummary): SuiteResult {
  const baseline = run.results.find((r) => r.target.kind === 's3');
  const tables = [latencyTable(run.results), versionsTable(run.results)];
  if (baseline) tables.push(trafficTable(baseline), requestsByTargetTable(run.results));
  tables.push(targetsTable(run.results));
  return {
    suite: 'storage',
    title:
      'What storage costs the service: appends (upload path), warm flat text search and cold opens, ' +
      'on local disk, an S3 store, and emulated or real remote object stores.',
    notes: storageNotes(run),
    tables,
    data: {
      plan: run.plan,
      quick: run.quick,
      wallMs: run.wallMs,
      photos: { count: run.photos.count, meanBytes: Math.round(run.photos.meanBytes) },
      skipped: run.skipped,
      targets: run.results,
    },
  };
}

/** `<name>.json` and `<name>.md`, through the shared writer (atomic, with the environment). */
export function writeStorageResult(
  dir: string,
  result: SuiteResult,
  env: Environment,
  name: string,
): Promise<string[]> {
  return writeResult(dir, result, env, name);
}
