import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Environment } from './environment.js';

export type Cell = string | number;

/** One markdown table of a suite's results; cells are already formatted for reading. */
export interface Table {
  title: string;
  columns: string[];
  rows: Cell[][];
}

/** What a suite hands back: tables for people, `data` (raw numbers) for machines. */
export interface SuiteResult {
  suite: string;
  title: string;
  /** How the figures were obtained and what to keep in mind when reading them. */
  notes: string[];
  tables: Table[];
  data: unknown;
}

export function renderMarkdown(result: SuiteResult, env: Environment): string {
  const lines = [`# Benchmark: ${result.suite}`, '', result.title, ''];
  lines.push(...markdownTable(['environment', ''], environmentRows(env)), '');
  for (const table of result.tables) {
    lines.push(`## ${table.title}`, '', ...markdownTable(table.columns, table.rows), '');
  }
  if (result.notes.length > 0) {
    lines.push('## Notes', '', ...result.notes.map((note) => `- ${note}`), '');
  }
  return lines.join('\n');
}

/**
 * Writes `<name>.json` and `<name>.md` under `dir` (`name` is the suite's unless given). Each goes
 * to a `.tmp` file first and is renamed into place, so an interrupted run never leaves half a
 * result behind.
 */
export async function writeResult(
  dir: string,
  result: SuiteResult,
  env: Environment,
  name = result.suite,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const { suite, title, notes, tables, data } = result;
  const json = JSON.stringify({ suite, title, environment: env, notes, tables, data }, null, 2) + '\n';
  const files: Array<[string, string]> = [
    [path.join(dir, `${name}.json`), json],
    [path.join(dir, `${name}.md`), renderMarkdown(result, env)],
  ];
  for (const [file, content] of files) {
    await writeFile(`${file}.tmp`, content);
    await rename(`${file}.tmp`, file);
  }
  return files.map(([file]) => file);
}

function environmentRows(env: Environment): Cell[][] {
  return [
    ['date', env.date],
    ['node', env.node],
    ['platform', env.platform],
    ['CPUs', `${env.cpus} × ${env.cpuModel}`],
    ['memory', `${env.memoryGiB} GiB`],
    ['load average at start (1/5/15 min)', env.loadAverage.join(' / ')],
    ['@lancedb/lancedb', env.lancedb],
    ['model', env.model],
  ];
}

function markdownTable(columns: readonly string[], rows: readonly Cell[][]): string[] {
  const escape = (cell: Cell) => String(cell).replaceAll('|', '\\|');
  const line = (cells: readonly Cell[]) => `| ${cells.map(escape).join(' | ')} |`;
  return [line(columns), line(columns.map(() => '---')), ...rows.map(line)];
}

/** Milliseconds with a precision that suits their size. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
}

/** Bytes in binary units. */
export function bytes(value: number): string {
  if (!Number.isFinite(value)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let scaled = value;
  let unit = 0;
  while (scaled >= 1024 && unit < units.length - 1) {
    scaled /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${scaled.toFixed(scaled >= 100 ? 0 : 1)} ${units[unit]}`;
}
