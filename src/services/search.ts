import { performance } from 'node:perf_hooks';
import type { ImageCatalog, SearchHitRecord } from './catalog/catalog.js';
import type { Caches } from './cache.js';
import type { EmbeddingBatcher } from './embedding/embedding-batcher.js';
import type { Column, ImageRecord } from './catalog/image-record.js';
import { filterSql, type ImageFilter } from './catalog/image-filter.js';

export interface SearchOptions {
  limit: number;
  columns: readonly Column[];
  version?: number;
  /** Compare with every vector instead of asking the index: exact neighbours, at a full scan's cost. */
  exact?: boolean;
  /** Only images that pass it; applied before the search (a prefilter). */
  filter?: ImageFilter;
}

export interface SearchOutcome {
  query: string | null;
  hits: SearchHitRecord[];
  version: number;
  tookMs: number;
  cached: boolean;
}

/** Thrown when a search names an image that is not in the dataset. */
export class ImageNotFoundError extends Error {}

/**
 * Text → image and image → image search. Results are cached under the exact dataset version
 * that was read (plus query, limit, columns, exactness and filter), so any write makes a new key and a cached
 * answer can never be stale.
 */
export class SearchService {
  constructor(
    private readonly catalog: ImageCatalog,
    private readonly batcher: EmbeddingBatcher,
    private readonly caches: Caches,
  ) {}

  async byText(text: string, options: SearchOptions): Promise<SearchOutcome> {
    return this.cachedSearch({ key: `text:${text}`, query: text, vector: () => this.textVector(text) }, options);
  }

  async similarTo(id: string, options: SearchOptions): Promise<SearchOutcome> {
    const vector = async (version: number) => {
      const stored = (await this.catalog.get([id], ['vector'], version)).get(id)?.vector;
      if (stored) return stored;
      throw new ImageNotFoundError(`no image with id ${id}${options.version ? ` in version ${version}` : ''}`);
    };
    return this.cachedSearch({ key: `image:${id}`, query: null, vector, excludeId: id }, options);
  }

  private async cachedSearch(
    search: {
      key: string;
      query: string | null;
      vector: (version: number) => Promise<ArrayLike<number>>;
      excludeId?: string;
    },
    options: SearchOptions,
  ): Promise<SearchOutcome> {
    const started = performance.now();
    const { query } = search;
    const version = await this.catalog.resolveVersion(options.version);
    // Exact and indexed answers differ (that is the point of asking for both): never share a key.
    const mode = options.exact ? 'exact' : 'indexed';
    const columns = [...options.columns].sort().join(',');
    // The filter as the SQL it becomes: two filters that read the same rows share a key.
    const filter = filterSql(options.filter) ?? '';
    // The model too: two models' vectors of one text differ, and so do their nearest images.
    const model = this.batcher.model.identity.fingerprint;
    const key = [this.catalog.uri, version, model, options.limit, columns, mode, filter, search.key].join('|');
    const hit = (await this.caches.results.get(key)) as SerialisedHit[] | undefined;
    if (hit) {
      return { query, hits: hit.map(revive), version, tookMs: performance.now() - started, cached: true };
    }
    const vector = await search.vector(version);
    const { hits } = await this.catalog.search(vector, { ...options, version, excludeId: search.excludeId });
    await this.caches.results.set(key, hits.map(serialise));
    return { query, hits, version, tookMs: performance.now() - started, cached: false };
  }

  private async textVector(text: string): Promise<ArrayLike<number>> {
    const key = `${this.batcher.model.identity.fingerprint}|${text}`;
    const cached = await this.caches.embeddings.get(key);
    if (cached) return cached;
    const vector = await this.batcher.embedText(text);
    await this.caches.embeddings.set(key, Array.from(vector));
    return vector;
  }
}

type SerialisedHit = {
  image: Omit<ImageRecord, 'createdAt' | 'vector'> & { createdAt?: string; vector?: number[] };
  distance: number;
};

function serialise(hit: SearchHitRecord): SerialisedHit {
  const { createdAt, vector, ...rest } = hit.image;
  return {
    distance: hit.distance,
    image: { ...rest, createdAt: createdAt?.toISOString(), vector: vector ? Array.from(vector) : undefined },
  };
}

function revive(hit: SerialisedHit): SearchHitRecord {
  const { createdAt, vector, ...rest } = hit.image;
  const image: ImageRecord = { ...rest };
  if (createdAt) image.createdAt = new Date(createdAt);
  if (vector) image.vector = vector;
  return { distance: hit.distance, image };
}
