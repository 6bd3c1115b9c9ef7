import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import { ImageReclaimer } from '../src/services/images/reclaimer.js';
import type { Services } from '../src/services/index.js';
import { COLOURS, distinctImages } from './support/images.js';
import { UPLOAD_ONE, execute, graphqlServer, openServices, upload } from './support/harness.js';
import { S3_SKIP, s3Env } from './support/s3.js';
import { startS3Proxy, type FaultProfile, type S3Proxy } from './support/s3-proxy.js';

type Outcome = { id?: string; error?: string; code?: unknown };

/**
 * An S3 endpoint that fails a share of requests (500, 503, reset connections, hangs): every
 * upload is either stored or refused with an error, and no row is ever left without its image.
 */
describe('uploads against a failing S3 endpoint', { skip: S3_SKIP }, () => {
  let proxy: S3Proxy;
  let server: ApolloServer<GraphQLContext>;
  let services: Services;
  const outcomes: Outcome[] = [];

  before(async () => {
    proxy = await startS3Proxy(process.env.S3_ENDPOINT!);
    server = await graphqlServer();
    // Short timeouts so that injected hangs cost seconds, not the default 30 s each.
    services = await openServices({ ...s3Env(proxy.url), S3_REQUEST_TIMEOUT_MS: '1500' });
  });
  after(async () => {
    await services?.close();
    await server?.stop();
    await proxy?.close();
  });

  async function uploadUnder(faults: FaultProfile, images: Buffer[]): Promise<void> {
    proxy.setFaults(faults);
    const results = await Promise.all(
      images.map((bytes) => execute(server, services, UPLOAD_ONE, { file: upload(bytes) })),
    );
    proxy.setFaults(null);
    for (const r of results) {
      outcomes.push({
        id: r.data?.uploadImage?.image.id,
        error: r.errors?.[0]?.message,
        code: r.errors?.[0]?.extensions?.code,
      });
    }
  }

  test('each upload is stored or fails with an error message', async (t) => {
    const [errorsAndResets, hangs, outage] = [
      await distinctImages(16, COLOURS.blue),
      await distinctImages(6, COLOURS.green),
      await distinctImages(8, COLOURS.yellow),
    ];
    // Occasional faults: the SDK's and Lance's retries absorb most of them.
    await uploadUnder({ rate: 0.3, kinds: [500, 503, 'reset'], seed: 7 }, errorsAndResets);
    await uploadUnder({ rate: 0.15, kinds: ['timeout'], seed: 11 }, hangs);
    // Nearly every write failing: retries run out, and uploads must fail cleanly.
    await uploadUnder({ rate: 0.9, kinds: [503, 'reset'], seed: 13, methods: ['PUT', 'POST'] }, outage);
    const failed = outcomes.filter((o) => o.error);
    assert.ok(failed.length > 0, 'some uploads failed under the outage');
    t.diagnostic(
      `${outcomes.length - failed.length} stored, ${failed.length} failed, ${proxy.stats().faults} faults injected`,
    );
    t.diagnostic(`e.g. ${failed[0]?.error}`);
    assert.ok(proxy.stats().faults > 0, 'faults were injected');
    for (const outcome of outcomes.filter((o) => !o.id)) {
      assert.equal(outcome.code, 'SERVICE_UNAVAILABLE');
      assert.match(outcome.error!, /could not be stored .* uploading it again is safe/);
    }
  });

  test('every row has its image, and every stored upload has its row', async () => {
    const rows = await services.catalog.list(1000, 0, ['id', 'key']);
    for (const row of rows) assert.equal(await services.objects.exists(row.key!), true, `row ${row.id} has its image`);
    const ids = new Set(rows.map((r) => r.id));
    for (const { id } of outcomes.filter((o) => o.id)) assert.ok(ids.has(id!), `stored upload ${id} is in the dataset`);
  });

  test('the service still works, and the maintenance command reclaims what failed uploads left', async () => {
    const [bytes] = await distinctImages(1, COLOURS.red, 4000);
    const ok = await execute(server, services, UPLOAD_ONE, { file: upload(bytes!) });
    assert.equal(ok.data?.uploadImage.created, true);
    const report = await new ImageReclaimer(services.objects, services.catalog).reclaim({ graceMs: 0, dryRun: false });
    const rows = await services.catalog.allIds();
    for (const orphan of report.orphans) assert.ok(!rows.has(orphan.key.slice(7, 71)), 'only unreferenced objects');
    const left = [];
    for await (const object of services.objects.list('images/')) left.push(object.key.slice(7, 71));
    assert.deepEqual(left.sort(), [...rows].sort(), 'every image object left belongs to a row');
  });
});
