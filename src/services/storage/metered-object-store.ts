import type { ServiceMetrics } from '../metrics.js';
import type { ObjectBody, ObjectInfo, ObjectStore } from './object-store.js';

/**
 * Counts the calls to an object store and the bytes they move, the same way for local disk and
 * S3. A `get` counts the size of the object it opens (the reader may stop early); a `list`
 * counts once however many pages it reads.
 */
export class MeteredObjectStore implements ObjectStore {
  constructor(
    private readonly store: ObjectStore,
    private readonly metrics: ServiceMetrics,
  ) {}

  async put(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    this.metrics.objectStoreRequest('put');
    this.metrics.objectStoreBytes('put', bytes.byteLength);
    await this.store.put(key, bytes, contentType);
  }

  async putIfAbsent(key: string, bytes: Uint8Array, contentType: string): Promise<boolean> {
    this.metrics.objectStoreRequest('put');
    this.metrics.objectStoreBytes('put', bytes.byteLength);
    return this.store.putIfAbsent(key, bytes, contentType);
  }

  async get(key: string): Promise<ObjectBody | null> {
    this.metrics.objectStoreRequest('get');
    const object = await this.store.get(key);
    if (object) this.metrics.objectStoreBytes('get', object.size);
    return object;
  }

  exists(key: string): Promise<boolean> {
    this.metrics.objectStoreRequest('exists');
    return this.store.exists(key);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    this.metrics.objectStoreRequest('list');
    return this.store.list(prefix);
  }

  /** A listing like any other. */
  leftovers(prefix: string): AsyncIterable<ObjectInfo> {
    this.metrics.objectStoreRequest('list');
    return this.store.leftovers(prefix);
  }

  delete(key: string): Promise<void> {
    this.metrics.objectStoreRequest('delete');
    return this.store.delete(key);
  }
}
