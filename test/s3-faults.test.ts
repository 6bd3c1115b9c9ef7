import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import { ImageReclaimer } from '../src/services/images/reclaimer.js';
import type { Services } from '../src/services/index.js';
import { COLOURS, distinctImages } from './support/images.js';
import { UPLOAD_ONE, execute, graphqlServer, openServices, storedIds, upload } from './support/harness.js';
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
  /** A dataset that took uploads under faults, and what each upload answered; no test writes to it. */
  let faulted: { services: Services; outcomes: Outcome[]; faultsInjected: number };

  /** Services on a new prefix, through the faulty proxy. */
  async function openThroughProxy(t?: TestContext): Promise<Services> {
    // Short timeouts so that injected hangs cost seconds, not the default 30 s each.
    const services = await openServices({ ...s3Env(proxy.url), S3_REQUEST_TIMEOUT_MS: '1500' });
    t?.after(() => services.close());
    return services;
  }

  /** Uploads every image at once while the proxy injects `faults`; returns what each upload answered. */
  async function uploadUnder(services: Services, faults: FaultProfile, images: Buffer[]): Promise<Outcome[]> {
    proxy.setFaults(faults);
    try {
      const results = await Promise.all(
        images.map((bytes) => execute(server, services, UPLOAD_ONE, { file: upload(bytes) })),
      );
      return results.map((r) => ({
        id: r.data?.uploadImage?.image.id,
        error: r.errors?.[0]?.message,
        code: r.errors?.[0]?.extensions?.code,
      }));
    } finally {
      proxy.setFaults(null);
    }
  }

  /** Nearly every write failing: retries run out, and uploads must fail cleanly. */
  const OUTAGE: FaultProfile = { rate: 0.9, kinds: [503, 'reset'], seed: 13, methods: ['PUT', 'POST'] };

  before(async () => {
    proxy = await startS3Proxy(process.env.S3_ENDPOINT!);
    server = await graphqlServer();
    const services = await openThroughProxy();
    const [errorsAndResets, hangs, outage] = [
      await distinctImages(16, COLOURS.blue),
      await distinctImages(6, COLOURS.green),
      await distinctImages(8, COLOURS.yellow),
    ];
    const outcomes = [
      // Occasional faults: the SDK's and Lance's retries absorb most of them.
      ...(await uploadUnder(services, { rate: 0.3, kinds: [500, 503, 'reset'], seed: 7 }, errorsAndResets)),
      ...(await uploadUnder(services, { rate: 0.15, kinds: ['timeout'], seed: 11 }, hangs)),
      ...(await uploadUnder(services, OUTAGE, outage)),
    ];
    faulted = { services, outcomes, faultsInjected: proxy.stats().faults };
  });
  after(async () => {
    try {
      await faulted?.services.close();
    } finally {
      await server?.stop();
      await proxy?.close();
    }
  });

  test('each upload is stored or fails with an error message', async (t) => {
    const { outcomes, faultsInjected } = faulted;
    assert.equal(outcomes.length, 30);
    const failed = outcomes.filter((o) => o.error);
    assert.ok(failed.length > 0, 'some uploads failed under the outage');
    t.diagnostic(
      `${outcomes.length - failed.length} stored, ${failed.length} failed, ${faultsInjected} faults injected`,
    );
    t.diagnostic(`e.g. ${failed[0]?.error}`);
    assert.ok(faultsInjected > 0, 'faults were injected');
    for (const outcome of outcomes.filter((o) => !o.id)) {
      assert.equal(outcome.code, 'SERVICE_UNAVAILABLE');
      assert.match(outcome.error!, /could not be stored .* uploading it again is safe/);
    }
  });

  test('every row has its image, and every stored upload has its row', async () => {
    const { services, outcomes } = faulted;
    const stored = outcomes.filter((o) => o.id);
    assert.ok(stored.length > 0, 'some uploads were stored despite the faults');
    const rows = await services.catalog.list(1000, 0, ['id', 'key']);
    for (const row of rows) assert.equal(await services.objects.exists(row.key!), true, `row ${row.id} has its image`);
    const ids = new Set(rows.map((r) => r.id));
    for (const { id } of stored) assert.ok(ids.has(id!), `stored upload ${id} is in the dataset`);
  });

  test('the service still works, and the maintenance command reclaims what failed uploads left', async (t) => {
    // A dataset of its own: reclaiming deletes objects. Every write fails for a while first.
    const services = await openThroughProxy(t);
    const outcomes = await uploadUnder(
      services,
      { ...OUTAGE, rate: 1 },
      await distinctImages(4, COLOURS.magenta, 3000),
    );
    assert.deepEqual(
      outcomes.map((o) => o.code),
      Array(4).fill('SERVICE_UNAVAILABLE'),
    );
    // Those failed at the image's PUT. An upload whose image was stored and whose row's commit then
    // failed leaves an object no row refers to; which uploads fail that way depends on timing, so
    // one is planted.
    const orphanKey = `images/${'e'.repeat(64)}.png`;
    await services.objects.put(orphanKey, Buffer.from('orphan'), 'image/png');

    const [bytes] = await distinctImages(1, COLOURS.red, 4000);
    const ok = await execute(server, services, UPLOAD_ONE, { file: upload(bytes!) });
    assert.equal(ok.data?.uploadImage.created, true);
    const report = await new ImageReclaimer(services.objects, services.catalog).reclaim({ graceMs: 0, dryRun: false });
    assert.ok(
      report.orphans.some((o) => o.key === orphanKey),
      'the object without a row is reclaimed',
    );
    const { ids: rows } = await storedIds(services);
    for (const orphan of report.orphans) assert.ok(!rows.has(orphan.key.slice(7, 71)), 'only unreferenced objects');
    const left = [];
    for await (const object of services.objects.list('images/')) left.push(object.key.slice(7, 71));
    assert.deepEqual(left.sort(), [...rows].sort(), 'every image object left belongs to a row');
  });
});
