// The read endpoint (src/services/storage/read-endpoint.ts) as another process on the machine
// sees it: it knows the endpoint's URL and the key id (both cross loopback in the clear), not the
// secret. The endpoint is the one the service's storage starts for DATA_URI, in front of the real
// S3 store through the counting proxy, so "reads nothing" is the bucket's count of requests.
//
//   eval "$(scripts/s3-local.sh env)" && node --import tsx --test test/s3-read-endpoint.test.ts
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import {
  GetObjectAclCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { loadSettings } from '../src/config.js';
import { DATASET_DIR } from '../src/services/catalog/catalog.js';
import { NodeSha256 } from '../src/services/storage/s3-upstream.js';
import { openStorage, type ReadPath } from '../src/services/storage/storage.js';
import { tempDir } from './support/harness.js';
import { S3_BUCKET, S3_SKIP, s3Env } from './support/s3.js';
import { startS3Proxy, type S3Proxy } from './support/s3-proxy.js';

const REGION = process.env.AWS_REGION ?? 'us-east-1';

/** A client of the endpoint (or the store) with the given key; one attempt, so one request per call. */
function client(endpoint: string, accessKeyId: string, secretAccessKey: string): S3Client {
  return new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId, secretAccessKey },
  });
}

/** The S3 error a call ends in, as `403 AccessDenied`; `200` when it succeeds (a HEAD's error has no body: `403 Unknown`). */
async function answer(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return '200';
  } catch (error) {
    if (!(error instanceof S3ServiceException)) throw error;
    return `${error.$metadata.httpStatusCode} ${error.name}`;
  }
}

type Key = { accessKeyId: string; secretAccessKey: string };

/** The headers of a GET of `path` signed with `key`, for shapes an SDK will not send (a chosen date, a `..` path). */
async function signedHeaders(endpoint: string, key: Key, path: string, signingDate = new Date()) {
  const { host, hostname } = new URL(endpoint);
  const signer = new SignatureV4({
    service: 's3',
    region: REGION,
    credentials: key,
    sha256: NodeSha256,
    uriEscapePath: false,
  });
  const request = { method: 'GET', protocol: 'http:', hostname, path, query: {}, headers: { host } };
  return (await signer.sign(request, { signingDate })).headers;
}

/** A GET of `path` exactly as written (a URL would resolve `..` and `%2E%2E`): its status and body. */
function rawGet(
  endpoint: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    http
      .get({ host: url.hostname, port: url.port, path, headers }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

async function signedGet(endpoint: string, key: Key, path: string, signingDate?: Date) {
  return rawGet(endpoint, path, await signedHeaders(endpoint, key, path, signingDate));
}

describe('the read endpoint, to another local process', { skip: S3_SKIP }, () => {
  let proxy: S3Proxy;
  let reads: ReadPath;
  let cacheDir: string;
  let endpoint: string;
  let key: { accessKeyId: string; secretAccessKey: string };
  const prefix = `test-${randomUUID()}`;
  // Another deployment in the same bucket, whose prefix starts with this one's.
  const other = `${prefix}-other`;
  const bucketGets = () => proxy.stats().requests;

  before(async () => {
    proxy = await startS3Proxy(process.env.S3_ENDPOINT!);
    cacheDir = await tempDir('read-endpoint-');
    const settings = loadSettings({ ...s3Env(proxy.url, prefix), OBJECT_CACHE_DIR: cacheDir });
    reads = await openStorage(settings).openReads({ datasetDir: DATASET_DIR });
    const options = reads.storageOptions!;
    endpoint = options.aws_endpoint!;
    key = { accessKeyId: options.aws_access_key_id!, secretAccessKey: options.aws_secret_access_key! };
    const direct = client(process.env.S3_ENDPOINT!, process.env.AWS_ACCESS_KEY_ID!, process.env.AWS_SECRET_ACCESS_KEY!);
    for (const object of [`${prefix}/note.txt`, `${other}/secret.txt`]) {
      await direct.send(new PutObjectCommand({ Bucket: S3_BUCKET, Key: object, Body: `the body of ${object}` }));
    }
  });

  beforeEach(() => proxy.reset());

  after(async () => {
    await reads?.close();
    await proxy?.close();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  test('signed with the endpoint key, a read in the dataset prefix is served (the control for the refusals below)', async () => {
    const own = client(endpoint, key.accessKeyId, key.secretAccessKey);
    const object = await own.send(new GetObjectCommand({ Bucket: S3_BUCKET, Key: `${prefix}/note.txt` }));
    assert.equal(await object.Body!.transformToString(), `the body of ${prefix}/note.txt`);
    const listed = await own.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: `${prefix}/` }));
    assert.deepEqual(
      listed.Contents?.map((c) => c.Key),
      [`${prefix}/note.txt`],
    );
    assert.equal((await signedGet(endpoint, key, `/${S3_BUCKET}/${prefix}/note.txt`)).status, 200);
    assert.ok(bucketGets() >= 3);
  });

  test('the right key id with a wrong signature is refused, and nothing is read from the bucket', async () => {
    const guessing = client(endpoint, key.accessKeyId, 'a-secret-that-is-not-the-endpoints');
    const note = { Bucket: S3_BUCKET, Key: `${prefix}/note.txt` };
    assert.equal(await answer(guessing.send(new GetObjectCommand(note))), '403 SignatureDoesNotMatch');
    assert.equal(await answer(guessing.send(new HeadObjectCommand(note))), '403 Unknown');
    assert.equal(
      await answer(guessing.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: `${prefix}/` }))),
      '403 SignatureDoesNotMatch',
    );
    // The service's own signature (as read off loopback) on another key: it covers the path, so it does not fit.
    const seen = await signedHeaders(endpoint, key, `/${S3_BUCKET}/${prefix}/note.txt`);
    const replayed = await rawGet(endpoint, `/${S3_BUCKET}/${other}/secret.txt`, seen);
    assert.equal(replayed.status, 403);
    assert.match(replayed.body, /^<\?xml[^>]*>\s*<Error><Code>SignatureDoesNotMatch<\/Code>/);
    // Unsigned, and signed with the right key 20 minutes ago.
    assert.equal((await rawGet(endpoint, `/${S3_BUCKET}/${prefix}/note.txt`, {})).status, 403);
    const stale = await signedGet(
      endpoint,
      key,
      `/${S3_BUCKET}/${prefix}/note.txt`,
      new Date(Date.now() - 20 * 60_000),
    );
    assert.equal(stale.status, 403);
    assert.match(stale.body, /<Code>RequestTimeTooSkewed<\/Code>/);
    assert.equal(bucketGets(), 0);
  });

  test('signed with the endpoint key, a read outside the prefix, in another bucket, or of the bucket list is refused', async () => {
    const own = client(endpoint, key.accessKeyId, key.secretAccessKey);
    const refused = '403 AccessDenied';
    assert.equal(await answer(own.send(new ListBucketsCommand({}))), refused);
    assert.equal(
      await answer(own.send(new GetObjectCommand({ Bucket: S3_BUCKET, Key: `${other}/secret.txt` }))),
      refused,
    );
    assert.equal(
      await answer(own.send(new HeadObjectCommand({ Bucket: S3_BUCKET, Key: `${other}/secret.txt` }))),
      '403 Unknown',
    );
    assert.equal(
      await answer(own.send(new GetObjectCommand({ Bucket: 'another-bucket', Key: `${prefix}/note.txt` }))),
      refused,
    );
    for (const listed of [undefined, prefix, `${other}/`]) {
      assert.equal(
        await answer(own.send(new ListObjectsV2Command({ Bucket: S3_BUCKET, Prefix: listed }))),
        refused,
        `listing ${listed}`,
      );
    }
    assert.equal(
      await answer(own.send(new GetObjectAclCommand({ Bucket: S3_BUCKET, Key: `${prefix}/note.txt` }))),
      refused,
    );
    for (const path of [
      `/${S3_BUCKET}/${prefix}/%2E%2E/${other}/secret.txt`,
      `/${S3_BUCKET}/${prefix}/../${other}/secret.txt`,
    ]) {
      const got = await signedGet(endpoint, key, path);
      assert.equal(got.status, 403, path);
      assert.match(got.body, /<Code>AccessDenied<\/Code>/, path);
    }
    assert.equal(bucketGets(), 0);
  });
});
