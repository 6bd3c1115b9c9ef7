// Smoke tests against a real S3-compatible store (Ceph RGW from scripts/s3-local.sh) through the
// test proxy: byte accounting, conditional PUTs (Lance's commit protocol), Lance itself, faults.
//
//   eval "$(scripts/s3-local.sh start)" && node --import tsx --test test/s3-smoke.test.ts
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import * as lancedb from '@lancedb/lancedb';
import { startS3Proxy, type S3Proxy } from './support/s3-proxy.js';

const env = process.env;
const skip = env.S3_ENDPOINT ? false : 'S3_ENDPOINT is not set: start the local store with scripts/s3-local.sh start';
const bucket = env.S3_BUCKET ?? 'lance-test';
const prefix = `smoke-${randomUUID()}`;

function s3(endpoint: string, extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    endpoint,
    region: env.AWS_REGION ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '' },
    ...extra,
  });
}

async function getBytes(client: S3Client, key: string): Promise<Buffer> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

function httpStatus(err: unknown): number | undefined {
  return err instanceof S3ServiceException ? err.$metadata.httpStatusCode : undefined;
}

describe('S3 store through the test proxy', { skip }, () => {
  let proxy: S3Proxy;
  let client: S3Client;

  before(async () => {
    proxy = await startS3Proxy(env.S3_ENDPOINT!);
    client = s3(proxy.url);
  });

  after(async () => {
    if (!proxy) return;
    // best effort: the memstore cluster is throwaway anyway
    const direct = s3(env.S3_ENDPOINT!);
    let token: string | undefined;
    do {
      const page = await direct.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ContinuationToken: token }),
      );
      await Promise.all(
        (page.Contents ?? []).map((o) => direct.send(new DeleteObjectCommand({ Bucket: bucket, Key: o.Key! }))),
      );
      token = page.NextContinuationToken;
    } while (token);
    direct.destroy();
    client.destroy();
    await proxy.close();
  });

  it('counts the bytes of an SDK put and get', async () => {
    proxy.reset();
    const body = randomBytes(1024 * 1024 + 17);
    const key = `${prefix}/blob.bin`;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const back = await getBytes(client, key);
    assert.ok(back.equals(body), 'object read back differs');

    const st = proxy.stats();
    assert.equal(st.requests, 2);
    assert.ok(st.bytesIn >= body.length, `bytesIn ${st.bytesIn} < ${body.length}`);
    assert.ok(st.bytesOut >= body.length, `bytesOut ${st.bytesOut} < ${body.length}`);
    assert.ok(st.byMethod.GET!.bytesOut >= body.length);
    assert.equal(st.byMethod.PUT!.requests, 1);
  });

  it('answers 412 to If-None-Match: * on an existing key', async () => {
    const key = `${prefix}/once.txt`;
    proxy.reset();
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'first', IfNoneMatch: '*' }));
    await assert.rejects(
      client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'second', IfNoneMatch: '*' })),
      (err) => httpStatus(err) === 412,
    );
    assert.equal((await getBytes(client, key)).toString(), 'first');
    assert.equal(proxy.stats().byStatus[412], 1);
  });

  it('lets Lance create, append to and read a table', async () => {
    proxy.reset();
    // http endpoints need allow_http, or object_store fails with `reqwest::Error { kind: Builder, source: BadScheme }`
    const db = await lancedb.connect(`s3://${bucket}/${prefix}/lance`, {
      storageOptions: {
        aws_endpoint: proxy.url,
        aws_access_key_id: env.AWS_ACCESS_KEY_ID ?? '',
        aws_secret_access_key: env.AWS_SECRET_ACCESS_KEY ?? '',
        aws_region: env.AWS_REGION ?? 'us-east-1',
        allow_http: 'true',
        aws_virtual_hosted_style_request: 'false',
      },
    });
    const table = await db.createTable('t', [
      { id: 1, label: 'cat' },
      { id: 2, label: 'dog' },
    ]);
    await table.add([{ id: 3, label: 'fox' }]);

    const reopened = await db.openTable('t');
    const rows = (await reopened.query().toArray()) as Array<{ id: number; label: string }>;
    assert.deepEqual(rows.map((r) => [Number(r.id), r.label]).sort(), [
      [1, 'cat'],
      [2, 'dog'],
      [3, 'fox'],
    ]);
    assert.deepEqual(await db.tableNames(), ['t']);

    const st = proxy.stats();
    assert.ok(st.byMethod.PUT && st.byMethod.PUT.requests > 0, 'Lance wrote nothing through the proxy');
    assert.ok(st.byMethod.GET && st.byMethod.GET.requests > 0, 'Lance read nothing through the proxy');
    assert.ok(st.bytesIn > 0 && st.bytesOut > 0);
  });

  it('applies first-byte latency and bandwidth from a profile', async () => {
    const key = `${prefix}/slow.bin`;
    const body = randomBytes(2_000_000);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    // The proxy's clock moves only when the proxy sleeps: its reading is the delay the proxy added.
    let now = 0;
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms) };
    const latency = { name: 'test', firstByteMs: 50, bandwidthMBps: 20, source: 'test' };
    const slow = await startS3Proxy(env.S3_ENDPOINT!, { latency, clock });
    const slowClient = s3(slow.url);
    try {
      assert.deepEqual(await getBytes(slowClient, key), body);
      // 50 ms to the first byte + 2 MB at 20 MB/s = 150 ms; the throttle lets the last ≤ 4 ms of debt go.
      const delayed = Math.round(now);
      assert.ok(delayed >= 146 && delayed <= 150, `the GET was delayed ${now} ms`);
    } finally {
      slowClient.destroy();
      await slow.close();
    }
  });

  it('fails an SDK GET once injected 503s outlast its retries', async () => {
    const key = `${prefix}/flaky.bin`;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: randomBytes(1024) }));
    const flaky = s3(proxy.url, { maxAttempts: 2 });
    proxy.reset();
    proxy.setFaults({ rate: 1, kinds: [503], seed: 7 });
    try {
      await assert.rejects(
        getBytes(flaky, key),
        (err) => httpStatus(err) === 503 && (err as Error).name === 'SlowDown',
      );
      assert.equal(proxy.stats().faults, 2);
    } finally {
      proxy.setFaults(null);
      flaky.destroy();
    }
  });

  it('surfaces injected hangs and resets as client errors', async () => {
    const key = `${prefix}/impatient.bin`;
    const body = randomBytes(1024 * 1024 + 17);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    // without throwOnRequestTimeout, @smithy/node-http-handler 4.x only logs a warning and waits forever
    const impatient = s3(proxy.url, {
      maxAttempts: 1,
      requestHandler: { requestTimeout: 300, throwOnRequestTimeout: true },
    });
    try {
      proxy.setFaults({ rate: 1, kinds: ['timeout'] });
      await assert.rejects(getBytes(impatient, key), (err) => (err as Error).name === 'TimeoutError');
      proxy.setFaults({ rate: 1, kinds: ['reset'] });
      await assert.rejects(getBytes(impatient, key), (err) =>
        /ECONNRESET|socket hang up/.test(String((err as Error).message) + String((err as NodeJS.ErrnoException).code)),
      );
      proxy.setFaults(null);
      assert.ok((await getBytes(impatient, key)).equals(body), 'object read back differs');
    } finally {
      proxy.setFaults(null);
      impatient.destroy();
    }
  });
});
