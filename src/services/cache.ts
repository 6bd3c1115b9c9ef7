import type { KeyValueCache } from '@apollo/utils.keyvaluecache';
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
  const memory = isRedis(url) ? undefined : byteBoundedStore(maxBytes);
  const make = <T>(namespace: string): Keyv<T> => keyv<T>(memory ?? new KeyvRedis(url), namespace, ttlMs);
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

/** The longest query text the persisted-query store keeps (the UI's longest is under 1 KB). */
export const MAX_PERSISTED_QUERY_LENGTH = 16 * 1024;

/** Apollo's store of persisted queries, and how to let go of it. */
export type PersistedQueryStore = KeyValueCache<string> & { close(): Promise<void> };

/**
 * The store of persisted queries (APQ) in the CACHE_URL Redis, so that a query registered on one
 * replica is known to all of them. Undefined for `memory:`: Apollo's own bounded in-process LRU is
 * that store already. Entries expire like the other caches'; a client whose hash is no longer
 * known sends the query again, as APQ provides.
 */
export function persistedQueryStore(url: string, ttlMs?: number): PersistedQueryStore | undefined {
  if (!isRedis(url)) return undefined;
  const queries = keyv<string>(new KeyvRedis(url), 'apq', ttlMs);
  return {
    get: (hash) => queries.get(hash),
    // Apollo passes no ttl (none is configured): keyv's, CACHE_TTL_MS, applies. A query longer
    // than any real one is not kept: comments and whitespace escape the token limit, so a client
    // could otherwise park a megabyte in the shared Redis per request (it still runs, unstored).
    set: async (hash, query) => {
      if (query.length <= MAX_PERSISTED_QUERY_LENGTH) await queries.set(hash, query);
    },
    delete: (hash) => queries.delete(hash),
    close: () => queries.disconnect(),
  };
}

const isRedis = (url: string) => url.startsWith('redis');

function keyv<T>(store: KeyvStoreAdapter | Map<string, string>, namespace: string, ttlMs?: number): Keyv<T> {
  // stats: keyv counts its own hits and misses (the metrics read them).
  const cache = new Keyv<T>({ store, namespace, ttl: ttlMs, stats: true });
  // keyv re-emits store errors; a cache outage must slow requests down, not crash the process.
  cache.on('error', () => {});
  return cache;
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
