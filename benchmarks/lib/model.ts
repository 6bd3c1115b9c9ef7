import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeTestModel } from '../../scripts/make-test-model.js';
import { loadClip, type ClipModel } from '../../src/services/embedding/clip-model.js';
import { REPO_ROOT } from './paths.js';

export interface BenchModel {
  model: ClipModel;
  /** What the figures were measured with, for every result file. */
  description: string;
  dispose(): Promise<void>;
}

/**
 * The model every suite shares, loaded once per run: `EMBEDDING_MODEL` when set (a hub id or a
 * local directory, as the service takes it), else the designed test model written to a temp
 * directory. The test model is far cheaper than CLIP ViT-B/32, so embedding-bound figures
 * (upload latency, batching) are lower bounds of what the real model gives.
 */
export async function loadBenchModel(env: NodeJS.ProcessEnv = process.env): Promise<BenchModel> {
  const wanted = env.EMBEDDING_MODEL;
  if (wanted) {
    const cacheDir = env.MODEL_CACHE_DIR ?? path.join(REPO_ROOT, '.model-cache');
    const model = await loadClip({ model: wanted, cacheDir });
    return { model, description: `${model.modelId} (from EMBEDDING_MODEL)`, dispose: async () => {} };
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-test-model-'));
  await writeTestModel(dir);
  const model = await loadClip({ model: dir, cacheDir: path.join(dir, '.cache') });
  return {
    model,
    description:
      `designed colour test model from scripts/make-test-model.ts (${model.dimension}-d, NOT CLIP: ` +
      'real CLIP weights are unavailable here; set EMBEDDING_MODEL to measure a real model)',
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
