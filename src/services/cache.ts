import Keyv from 'keyv';
import KeyvRedis from '@keyv/redis';
import QuickLRU from 'quick-lru';

/** How many entries each in-memory cache keeps before evicting the least recently used. */
const MEMORY_ENTRIES = 10_000;

export interface Caches {
  /** text → CLIP text embedding (as number[]). */
  embeddings: Keyv<number[]>;
  /** search key → serialised result. */
  results: Keyv<unknown>;
  close(): Promise<void>;
}

/**
 * The caches behind keyv: bounded in-process LRUs by default (`memory:`), or one Redis shared
 * by every replica (`redis://...`). Namespaces keep the two caches apart in one store.
 */
export function createCaches(url: string, ttlMs: number): Caches {
  const make = <T>(namespace: string): Keyv<T> => {
    const store = url.startsWith('redis')
      ? new KeyvRedis(url)
      : new QuickLRU<string, unknown>({ maxSize: MEMORY_ENTRIES });
    const cache = new Keyv<T>({ store, namespace, ttl: ttlMs });
    // keyv re-emits store errors; a cache outage must slow requests down, not crash the process.
    cache.on('error', () => {});
    return cache;
  };
  const embeddings = make<number[]>('embedding');
  const results = make<unknown>('search');
  return {
    embeddings,
    results,
    close: async () => {
      await Promise.all([embeddings.disconnect(), results.disconnect()]);
    },
  };
}
