import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

/** Where and with what a benchmark ran: every result file carries it. */
export interface Environment {
  date: string;
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  /** 1, 5 and 15 minute load averages when the suite started: above the CPU count, other work competed. */
  loadAverage: number[];
  lancedb: string;
  /** The embedding model, said plainly (the designed test model is not CLIP). */
  model: string;
}

export async function describeEnvironment(model: string): Promise<Environment> {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: os.availableParallelism?.() ?? cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
    lancedb: await packageVersion('@lancedb/lancedb'),
    model,
  };
}

/** The installed version; the package's exports map hides its package.json from import. */
async function packageVersion(name: string): Promise<string> {
  try {
    const manifest = await readFile(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8');
    return (JSON.parse(manifest) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
