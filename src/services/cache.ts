import Keyv, { type KeyvStoreAdapter } from 'keyv';
import KeyvRedis from '@keyv/redis';
import { LRUCache } from 'lru-cache';

export interface Caches {
  /** text → CLIP text embedding (as number[]). */
  embeddings: Keyv<number[]>;
  /** search key → serialised result. */
  results: Keyv<unknown>;
  close(): Promise<void>;
}

/**
 * The caches behind keyv: one in-process LRU bounded in bytes by default (`memory:`), or one
 * Redis shared by every replica (`redis://...`). Namespaces keep the two caches apart in one
 * store, so `maxBytes` bounds both together.
 */
export function createCaches(url: string, ttlMs: number, maxBytes: number): Caches {
  const memory = url.startsWith('redis') ? undefined : byteBoundedStore(maxBytes);
  const make = <T>(namespace: string): Keyv<T> => {
    const store = memory ?? new KeyvRedis(url);
    // stats: keyv counts its own hits and misses (the metrics read them).
    const cache = new Keyv<T>({ store, namespace, ttl: ttlMs, stats: true });
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

/**
 * A Map-like store for keyv that evicts the least recently used entries past `maxBytes`. keyv
 * hands it JSON strings; a string of ASCII (all that JSON of numbers and hex ids holds) takes a
 * byte per character in V8, so key plus value length is the entry's size.
 */
function byteBoundedStore(maxBytes: number): KeyvStoreAdapter | Map<string, string> {
  const lru = new LRUCache<string, string>({ maxSize: maxBytes, sizeCalculation: (v, k) => v.length + k.length });
  // keyv calls set(key, value, ttl); lru-cache's third argument is an options object, so it is
  // not passed on (keyv keeps the expiry inside the value and checks it on read).
  const store = {
    get: (key: string) => lru.get(key),
    set: (key: string, value: string) => {
      lru.set(key, value);
      return store;
    },
    has: (key: string) => lru.has(key),
    delete: (key: string) => lru.delete(key),
    clear: () => lru.clear(),
    /** Bytes held now (for tests and metrics). */
    get bytes() {
      return lru.calculatedSize;
    },
  };
  return store as unknown as Map<string, string>;
}
