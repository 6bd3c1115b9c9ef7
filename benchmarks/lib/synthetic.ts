import { createHash } from 'node:crypto';
import { tableWrites } from '../../src/services/catalog/test-access.js';
import type { CatalogWriter } from '../../src/services/catalog/writer.js';
import type { NewImageRow } from '../../src/services/catalog/image-record.js';
import { mulberry32 } from '../../scripts/make-test-model.js';

function normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum) || 1;
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  return v;
}

/**
 * Unit vectors with cluster structure, standing in for embeddings so that large datasets cost
 * no model time. Pure random unit vectors in 512-d are all nearly orthogonal, which no real
 * embedding set is and which makes IVF partitions meaningless; here each vector is a cluster
 * centre plus Gaussian noise of about the same length (cosine ~0.5 within a cluster, ~0 across).
 */
export class SyntheticEmbeddings {
  private readonly random: () => number;
  private readonly noise: number;
  private readonly centres: Float32Array[];

  constructor(
    readonly dimension: number,
    options: { clusters?: number; noise?: number; seed?: number } = {},
  ) {
    this.random = mulberry32(options.seed ?? 42);
    this.noise = options.noise ?? 1;
    this.centres = Array.from({ length: options.clusters ?? 100 }, () => normalise(this.gaussianVector(1)));
  }

  /** A new vector: a random centre plus noise, normalised. */
  next(): Float32Array {
    const centre = this.centres[Math.floor(this.random() * this.centres.length)]!;
    const v = this.gaussianVector(this.noise / Math.sqrt(this.dimension));
    for (let i = 0; i < v.length; i++) v[i] = v[i]! + centre[i]!;
    return normalise(v);
  }

  private gaussianVector(sd: number): Float32Array {
    const v = new Float32Array(this.dimension);
    for (let i = 0; i < v.length; i++) v[i] = sd * this.gaussian();
    return v;
  }

  /** Box–Muller. */
  private gaussian(): number {
    const u = 1 - this.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.random());
  }
}

/**
 * Row `index` of a synthetic dataset: plausible metadata and the given vector. The id is a real
 * sha256 (of the index), as incompressible as an upload's, so stored sizes stay realistic.
 */
export function syntheticRow(index: number, vector: Float32Array): NewImageRow {
  const id = createHash('sha256').update(`synthetic-${index}`).digest('hex');
  return {
    id,
    key: `images/${id}.jpg`,
    filename: `synthetic-${index}.jpg`,
    contentType: 'image/jpeg',
    size: 20_000 + (index % 50_000),
    width: 640,
    height: 480,
    createdAt: new Date(Date.UTC(2025, 0, 1) + index * 1000),
    vector,
  };
}

/**
 * Appends `count` synthetic rows straight through the writer's write primitives (past its queue
 * and dedupe), in batches: each batch is one Lance commit, like one big group commit of the
 * writer. Rows are numbered from `first`.
 */
export async function fillCatalog(
  writer: CatalogWriter,
  embeddings: SyntheticEmbeddings,
  count: number,
  first = 0,
  batchSize = 5000,
): Promise<void> {
  for (let start = first; start < first + count; start += batchSize) {
    const size = Math.min(batchSize, first + count - start);
    await tableWrites(writer).append(
      Array.from({ length: size }, (_, i) => syntheticRow(start + i, embeddings.next())),
    );
  }
}
