import { S3Client } from '@aws-sdk/client-s3';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from 'pino';
import type { Settings } from '../../config.js';
import { checkBucket } from './bucket-check.js';
import { DatasetMirror } from './dataset-mirror.js';
import { LocalObjectStore, type ObjectStore } from './object-store.js';
import { startReadEndpoint, type ReadEndpointStats } from './read-endpoint.js';
import { S3ObjectStore } from './s3-object-store.js';

/** Where everything lives: image objects and, beside them, the Lance dataset. */
export interface Storage {
  objects: ObjectStore;
  /** The root Lance connects to; the dataset is `${lanceUri}/images.lance`. */
  lanceUri: string;
  storageOptions?: Record<string, string>;
  /**
   * Fails fast, naming the setting and what happened (no credentials, connection refused, DNS,
   * TLS, a refusal), when the bucket cannot be listed; before Lance is given the storage options.
   */
  check(): Promise<void>;
  /**
   * Starts what the read connection reads through: for s3:// with a cache, a loopback endpoint in
   * front of the object cache (see read-endpoint.ts); otherwise the bucket or disk itself.
   */
  openReads(options: { datasetDir: string; logger?: Logger }): Promise<ReadPath>;
}

/** The read connection's storage options, and what to close when the service stops. */
export interface ReadPath {
  storageOptions?: Record<string, string>;
  /** What the read endpoint served from the cache and from the bucket, when reads go through one. */
  stats?: () => ReadEndpointStats;
  /** Local links to the cached files of the versions read most, opened as a local dataset (see dataset-mirror.ts). */
  mirror?: DatasetMirror;
  close(): Promise<void>;
}

/** S3 Express One Zone directory buckets are named `name--azid--x-s3`. */
const EXPRESS_BUCKET = /--[a-z0-9-]+--x-s3$/;

/** How long the start-up listing may take: long enough for a cold TLS handshake far away. */
const CHECK_WITHIN_MS = 10_000;

/** Resolves DATA_URI to a storage root: a local directory, or s3://bucket/prefix. */
export function openStorage(settings: Settings): Storage {
  const uri = settings.DATA_URI;
  if (uri.startsWith('s3://')) return openS3(settings);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri) && !uri.startsWith('file://')) {
    throw new Error(`DATA_URI: unsupported scheme in ${uri}; expected a local path, file:// or s3://bucket/prefix`);
  }
  const root = localRoot(uri);
  // Local disk is as fast as a cache would be.
  return {
    objects: new LocalObjectStore(root),
    lanceUri: root,
    check: () => Promise.resolve(),
    openReads: directReads,
  };
}

/**
 * Where an object lives, as a URI a person or another tool can use: `s3://bucket/prefix/key`,
 * or a `file:` URL on local disk. (The service serves the bytes itself at `/key`.)
 */
export function objectUri(dataUri: string, key: string): string {
  if (!dataUri.startsWith('s3://')) return pathToFileURL(path.join(localRoot(dataUri), key)).href;
  const { bucket, prefix } = s3Root(dataUri);
  return `s3://${bucket}/${prefix ? `${prefix}/` : ''}${key}`;
}

/** A local DATA_URI's directory. */
function localRoot(uri: string): string {
  return path.resolve(uri.replace(/^file:\/\//, ''));
}

function s3Root(uri: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match?.[1]) throw new Error(`DATA_URI: expected s3://bucket/prefix, got ${uri}`);
  return { bucket: match[1], prefix: match[2]!.replace(/\/+$/, '') };
}

function openS3(settings: Settings): Storage {
  const { bucket, prefix } = s3Root(settings.DATA_URI);
  const express = EXPRESS_BUCKET.test(bucket);
  const endpoint = settings.S3_ENDPOINT;
  const region = settings.AWS_REGION ?? (endpoint ? 'auto' : 'us-east-1');
  const credentials =
    settings.AWS_ACCESS_KEY_ID && settings.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: settings.AWS_ACCESS_KEY_ID, secretAccessKey: settings.AWS_SECRET_ACCESS_KEY }
      : undefined;
  // Custom endpoints (R2, MinIO, Ceph) take path-style requests; directory buckets only virtual-hosted ones.
  const pathStyle = Boolean(endpoint) && !express;
  const client = new S3Client({
    region,
    endpoint,
    credentials,
    forcePathStyle: pathStyle,
    // Without throwOnRequestTimeout the SDK only warns on a timeout and waits forever.
    requestHandler: { requestTimeout: settings.S3_REQUEST_TIMEOUT_MS, throwOnRequestTimeout: true },
  });
  const storageOptions: Record<string, string> = {
    aws_region: region,
    aws_virtual_hosted_style_request: String(!pathStyle),
    timeout: `${settings.S3_REQUEST_TIMEOUT_MS}ms`,
  };
  // Lance's object store keys its R2 multipart part sizes off the endpoint, so it is always passed.
  if (endpoint) storageOptions.aws_endpoint = endpoint;
  if (endpoint?.startsWith('http://')) storageOptions.allow_http = 'true';
  if (express) storageOptions.aws_s3_express = 'true';
  if (credentials) {
    storageOptions.aws_access_key_id = credentials.accessKeyId;
    storageOptions.aws_secret_access_key = credentials.secretAccessKey;
  }
  return {
    objects: new S3ObjectStore(client, { bucket, prefix: prefix ? `${prefix}/` : '' }),
    lanceUri: `s3://${bucket}${prefix ? `/${prefix}` : ''}`,
    storageOptions,
    check: () =>
      checkBucket(
        client,
        { uri: settings.DATA_URI, bucket, prefix, endpoint, region },
        Math.min(CHECK_WITHIN_MS, settings.S3_REQUEST_TIMEOUT_MS),
      ),
    openReads: async ({ datasetDir, logger }) => {
      // The endpoint re-signs path-style requests; without an endpoint (AWS itself) or with a
      // directory bucket, reads go straight to the bucket.
      if (!endpoint || !pathStyle || settings.OBJECT_CACHE_BYTES === 0) return directReads();
      const reads = await startReadEndpoint({
        // The client's provider: the settings' keys, or the SDK's chain with its refreshes.
        upstream: {
          endpoint,
          region,
          credentials: () => client.config.credentials(),
          timeoutMs: settings.S3_REQUEST_TIMEOUT_MS,
        },
        scope: { bucket, prefix },
        cacheDir: path.resolve(settings.OBJECT_CACHE_DIR),
        cacheBytes: settings.OBJECT_CACHE_BYTES,
        logger,
      });
      const mirror = await DatasetMirror.open({
        cache: reads.cache,
        datasetKey: ['', bucket, ...(prefix ? prefix.split('/') : []), datasetDir].map(pathSegment).join('/'),
        dir: path.join(path.resolve(settings.OBJECT_CACHE_DIR), 'mirror'),
        datasetDir,
        logger,
      });
      return {
        storageOptions: {
          ...storageOptions,
          aws_endpoint: reads.url,
          allow_http: 'true',
          aws_access_key_id: reads.accessKeyId,
          aws_secret_access_key: reads.secretAccessKey,
        },
        stats: reads.stats,
        mirror,
        close: async () => {
          mirror.close();
          await reads.close();
          await mirror.idle();
        },
      };
    },
  };
}

/**
 * A key segment encoded as Lance's S3 client sends it in request paths (object_store's strict
 * set: all but `A-Za-z0-9-._~`), so that the mirror's cache keys are the read endpoint's.
 */
function pathSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function directReads(): Promise<ReadPath> {
  return Promise.resolve({ close: () => Promise.resolve() });
}
