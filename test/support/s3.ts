import { randomUUID } from 'node:crypto';
import type { ObjectStore } from '../../src/services/storage/object-store.js';

/**
 * The S3-compatible store the S3 tests run against: the local Ceph gateway that
 * `scripts/s3-local.sh start` runs (CI starts it), or any endpoint in S3_ENDPOINT.
 */
export const S3_SKIP = process.env.S3_ENDPOINT
  ? false
  : 'S3_ENDPOINT is not set: start the local store with `eval "$(scripts/s3-local.sh start)"`';

export const S3_BUCKET = process.env.S3_BUCKET ?? 'lance-test';

/**
 * Service settings for a fresh prefix in the test bucket, optionally through a proxy endpoint
 * (the byte-counting / latency / fault proxy of test/support/s3-proxy.ts).
 */
export function s3Env(endpoint = process.env.S3_ENDPOINT!, prefix = `test-${randomUUID()}`): Record<string, string> {
  return {
    DATA_URI: `s3://${S3_BUCKET}/${prefix}`,
    S3_ENDPOINT: endpoint,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? '',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? '',
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
  };
}

/** Removes every object under the store's prefix: the local memstore cluster is throwaway, but runs add up. */
export async function emptyPrefix(objects: ObjectStore): Promise<void> {
  const keys: string[] = [];
  for await (const object of objects.list('')) keys.push(object.key);
  for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => objects.delete(k)));
}
