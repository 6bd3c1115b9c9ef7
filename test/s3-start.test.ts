// A start on s3:// whose bucket cannot be reached, or with no credentials: the service exits with
// one short line naming the setting and what happened, before Lance tries (and retries) the
// bucket. None of these needs the S3 store: the endpoints here refuse, do not resolve, or speak
// plain HTTP to TLS.
//
//   node --import tsx --test test/s3-start.test.ts
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { openServices, tempDir } from './support/harness.js';
import { startServiceToFailure, testModelDir, type FailedStart } from './support/service-process.js';

/** A port nothing listens on: connecting to it is refused at once. */
async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The fatal start-up message, wherever the service printed it (its log, or stderr). */
/** The message of the one fatal line a failed start logs (`start-up failed: <message>`). */
function startFailure(result: FailedStart): string {
  const fatal = result.logs.filter((line) => line.level >= 60);
  assert.equal(fatal.length, 1, JSON.stringify(result.logs));
  return fatal[0]!.msg.replace(/^start-up failed: /, '');
}

describe('a start that cannot reach the bucket', () => {
  let home: string;
  let base: Record<string, string>;

  before(async () => {
    // No profile, instance role or container role can supply credentials the test did not give.
    home = await tempDir('s3-start-home-');
    base = {
      HOME: home,
      AWS_CONFIG_FILE: path.join(home, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'none'),
      AWS_PROFILE: '',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
      AWS_WEB_IDENTITY_TOKEN_FILE: '',
      AWS_REGION: 'us-east-1',
      DATA_URI: 's3://lance-test/unreachable',
      OBJECT_CACHE_DIR: path.join(home, 'object-cache'),
      EMBEDDING_MODEL: await testModelDir(),
    };
  });

  after(() => rm(home, { recursive: true, force: true }));

  test('with no credentials, it exits with one short message naming the settings, and no AWS log', async () => {
    const result = await startServiceToFailure({
      ...base,
      S3_ENDPOINT: `http://127.0.0.1:${await refusingPort()}`,
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
    });
    assert.equal(result.code, 1);
    const message = startFailure(result);
    assert.match(
      message,
      /^DATA_URI s3:\/\/lance-test\/unreachable: no S3 credentials\. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/,
    );
    assert.ok(message.length < 300, message);
    // Lance's credential chain logs a warning per provider it tries (17 KB of them): it never runs.
    assert.ok(result.stderr.length < 1000, `stderr of ${result.stderr.length} bytes:\n${result.stderr.slice(0, 2000)}`);
  });

  test('with an S3_ENDPOINT that refuses, it exits naming S3_ENDPOINT and "connection refused", not a 502 of its own', async () => {
    const endpoint = `http://127.0.0.1:${await refusingPort()}`;
    const result = await startServiceToFailure({
      ...base,
      S3_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: 'SOMEKEY',
      AWS_SECRET_ACCESS_KEY: 'somesecret',
    });
    assert.equal(result.code, 1);
    const message = startFailure(result);
    assert.equal(
      message,
      `S3_ENDPOINT ${endpoint}: cannot reach it for DATA_URI s3://lance-test/unreachable (connection refused).`,
    );
    // Lance never tried the bucket: no retries logged, no answer from the read endpoint.
    assert.doesNotMatch(result.stderr, /lance::|BadGateway/);
  });

  test('an S3_ENDPOINT whose host does not resolve, or that does not speak TLS, is named with what happened', async () => {
    const notTls = http.createServer((_req, res) => res.end('plain http'));
    await new Promise<void>((resolve) => notTls.listen(0, '127.0.0.1', resolve));
    const credentials = { AWS_ACCESS_KEY_ID: 'SOMEKEY', AWS_SECRET_ACCESS_KEY: 'somesecret' };
    try {
      await assert.rejects(
        openServices({ ...base, ...credentials, S3_ENDPOINT: 'http://no-such-host.invalid:7480' }),
        /^Error: S3_ENDPOINT http:\/\/no-such-host\.invalid:7480: cannot reach it for DATA_URI \S+ \(DNS: host no-such-host\.invalid not found\)\.$/,
      );
      const tls = `https://127.0.0.1:${(notTls.address() as AddressInfo).port}`;
      await assert.rejects(openServices({ ...base, ...credentials, S3_ENDPOINT: tls }), (error: Error) => {
        assert.match(
          error.message,
          /^S3_ENDPOINT https:\/\/127\.0\.0\.1:\d+: cannot reach it for DATA_URI \S+ \(TLS: /,
        );
        assert.match(error.message, /does the endpoint speak http:\/\/ only\?/);
        return true;
      });
    } finally {
      notTls.closeAllConnections();
      await new Promise((resolve) => notTls.close(resolve));
    }
  });
});
