// Several service processes (replicas) on one dataset in the real S3-compatible store (Ceph RGW
// from scripts/s3-local.sh): each process has its own Lance connection, writer and id set, and
// only Lance's commit protocol (conditional PUTs of the manifest) keeps them from losing writes.
//
//   eval "$(scripts/s3-local.sh start)" && node --import tsx --test test/s3-replicas.test.ts
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { loadSettings } from '../src/config.js';
import { openStorage } from '../src/services/storage/storage.js';
import { COLOURS, distinctImages } from './support/images.js';
import { S3_SKIP, emptyPrefix, s3Env } from './support/s3.js';
import { LATENCY_PROFILES, startS3Proxy, type S3Proxy } from './support/s3-proxy.js';
import {
  freePort,
  startServiceProcess,
  testModelDir,
  type LogLine,
  type ServiceProcess,
} from './support/service-process.js';
import { until } from './support/harness.js';

const ALL_IDS = '{ images(limit: 1000) { id } }';
const IDS_AT = 'query ($version: Int!) { images(version: $version, limit: 1000) { id } }';
const VERSIONS = '{ versions { version rowCount } }';

const REPAIRED = 'removed duplicate rows written by concurrent processes';
const TOOK_LEASE = 'took the maintenance lease';
const FOLDED = 'folded the newest fragments';
const DEFAULT_READ_CONSISTENCY_MS = loadSettings({}).READ_CONSISTENCY_MS;

/** The ids of every live row as `replica` reads them now, duplicates included. */
async function storedIds(replica: ServiceProcess): Promise<string[]> {
  const result = await replica.graphql<{ images: Array<{ id: string }> }>(ALL_IDS);
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data!.images.map((i) => i.id);
}

/** The versions of the dataset as `replica` lists them, oldest first. */
async function history(replica: ServiceProcess): Promise<Array<{ version: number; rowCount: number }>> {
  const result = await replica.graphql<{ versions: Array<{ version: number; rowCount: number }> }>(VERSIONS);
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data!.versions;
}

const logged = (replica: ServiceProcess, msg: string, match: (l: LogLine) => boolean = () => true) =>
  replica.logs.filter((l) => l.msg === msg && match(l));

describe('three service processes on one S3 prefix', { skip: S3_SKIP }, () => {
  let env: Record<string, string>;
  // The processes talk to the store through the counting proxy: its 412s are commits that lost a
  // race for a version number (Lance PUTs each manifest with If-None-Match: *), so they show
  // whether the processes really raced.
  let proxy: S3Proxy;
  let replicas: ServiceProcess[] = [];
  const lostCommitRaces = () => proxy.stats().byStatus[412] ?? 0;

  before(async () => {
    proxy = await startS3Proxy(process.env.S3_ENDPOINT!);
    env = s3Env(proxy.url);
    const model = await testModelDir();
    // All three start together on an empty prefix, so they also race to create the dataset.
    replicas = await Promise.all(
      [0, 1, 2].map(() =>
        startServiceProcess({
          ...env,
          EMBEDDING_MODEL: model,
          MODEL_CACHE_DIR: tmpdir(),
          READ_CONSISTENCY_MS: '0',
          INDEX_MIN_ROWS: '1000000',
        }),
      ),
    );
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    if (!proxy) return;
    await emptyPrefix(openStorage(loadSettings(env)).objects);
    await proxy.close();
  });

  test('60 uploads spread over three processes at once: nothing lost, no duplicates, every version readable', async (t) => {
    const images = await distinctImages(60, COLOURS.green);
    // The rows and versions the other tests made, if they ran first.
    const earlier = await storedIds(replicas[0]!);
    const start = (await history(replicas[0]!)).at(-1)!;
    assert.equal(start.rowCount, earlier.length);
    proxy.reset();
    const uploaded = await Promise.all(images.map((bytes, i) => replicas[i % 3]!.upload(bytes, `green-${i}.jpg`)));
    assert.ok(uploaded.every((u) => u.created));
    const ids = uploaded.map((u) => u.id);
    assert.equal(new Set(ids).size, 60);

    for (const replica of replicas) {
      const stored = await storedIds(replica);
      assert.equal(stored.length, earlier.length + 60, `rows as ${replica.url} reads them`);
      assert.deepEqual([...stored].sort(), [...earlier, ...ids].sort());
    }

    // Time travel: every version the three processes made opens and holds what its manifest says.
    const versions = (await history(replicas[0]!)).filter((v) => v.version >= start.version);
    for (const { version, rowCount } of versions) {
      const read = await replicas[0]!.graphql<{ images: Array<{ id: string }> }>(IDS_AT, { version });
      assert.equal(read.errors, undefined, `version ${version}: ${JSON.stringify(read.errors)}`);
      assert.equal(read.data!.images.length, rowCount, `version ${version}`);
      assert.equal(new Set(read.data!.images.map((i) => i.id)).size, rowCount, `duplicate ids in version ${version}`);
    }
    assert.deepEqual(
      versions.map((v) => v.rowCount),
      [...versions.map((v) => v.rowCount)].sort((a, b) => a - b),
      'only appends happened, so rows only grow',
    );
    assert.equal(versions.at(-1)!.rowCount, earlier.length + 60);
    const committed = replicas.map((r) => [...new Set(logged(r, 'image stored').map((l) => l.version))].join(','));
    const conflicts = replicas.map((r) => logged(r, 'commit conflict, retrying on the latest version').length);
    t.diagnostic(`${versions.length} versions for 60 uploads; versions each process made: ${committed.join(' | ')}`);
    t.diagnostic(`commits that lost a race (412): ${lostCommitRaces()}; conflicts retried per process: ${conflicts}`);
  });

  // Each process looks the id up before it commits, so both may find it absent and both commit.
  // The one whose commit lands second finds both copies at its version and deletes the copy
  // uploaded later, before it answers; nothing waits for a further write to repair it.
  test('the same image uploaded to two processes at the same moment: both answer, and one row is left with no further write', async (t) => {
    const [a, b] = replicas as [ServiceProcess, ServiceProcess];
    const rounds = 8;
    const same = await distinctImages(rounds, COLOURS.purple, 1000);
    proxy.reset();
    let bothCreated = 0;
    for (let round = 0; round < rounds; round++) {
      const answers = await Promise.allSettled([a.upload(same[round]!, 'a.jpg'), b.upload(same[round]!, 'b.jpg')]);
      const failed = answers.filter((answer) => answer.status === 'rejected');
      assert.deepEqual(failed, [], `round ${round}: an upload answered an error`);
      const [fromA, fromB] = answers.map(
        (answer) => (answer as PromiseFulfilledResult<{ id: string; created: boolean }>).value,
      );
      assert.equal(fromA!.id, fromB!.id);
      assert.ok(fromA!.created || fromB!.created, `round ${round}: neither created it`);
      if (fromA!.created && fromB!.created) bothCreated += 1;
      // Within the staleness bound, with no further write (the processes read at READ_CONSISTENCY_MS=0).
      await until(
        async () => (await storedIds(a)).filter((id) => id === fromA!.id).length === 1,
        `round ${round}: one row with the id`,
        DEFAULT_READ_CONSISTENCY_MS,
      ).catch(async (error: Error) => {
        const rows = (await storedIds(a)).filter((id) => id === fromA!.id).length;
        const warnings = [a, b].map((r) =>
          r.logs.filter((l) => l.level >= 40).map((l) => JSON.stringify(l).slice(0, 700)),
        );
        throw new Error(
          `${error.message}; rows with it: ${String(rows)}\n${warnings.map((w, i) => `process ${i}:\n${w.join('\n')}`).join('\n')}`,
        );
      });
    }
    const repairs = replicas.map((r) => logged(r, REPAIRED).length);
    t.diagnostic(
      `rounds both answered created: ${bothCreated} of ${rounds}; duplicate repairs logged per process: ${repairs}; commits that lost a race (412): ${lostCommitRaces()}`,
    );
    const all = await storedIds(a);
    assert.equal(new Set(all).size, all.length, 'no duplicate ids anywhere');
  });

  test('with READ_CONSISTENCY_MS=0 a write on one process is read at once on another', async () => {
    const [a, b] = replicas as [ServiceProcess, ServiceProcess];
    const [bytes] = await distinctImages(1, COLOURS.orange, 3000);
    const { id } = await a.upload(bytes!, 'orange.jpg');
    const read = await b.graphql<{ image: { id: string } | null; search: { hits: Array<{ image: { id: string } }> } }>(
      'query ($id: ID!) { image(id: $id) { id } search(text: "orange", limit: 1) { hits { image { id } } } }',
      { id },
    );
    assert.equal(read.errors, undefined, JSON.stringify(read.errors));
    assert.equal(read.data!.image?.id, id);
    assert.equal(read.data!.search.hits[0]?.image.id, id, 'the only orange image is the best match for "orange"');
  });

  // A look at the versions through R2's latency takes long, and readers keep starting them on b:
  // one is nearly always in flight when a's answer reaches the client. A read on b that joined it
  // would answer from a listing made before a's commit (6 of 30 did, before the fix).
  test('with READ_CONSISTENCY_MS=0 under load (R2 latency, readers busy), every write answered on one process is read at once on another', async (t) => {
    const [a, b] = replicas as [ServiceProcess, ServiceProcess];
    const images = await distinctImages(12, COLOURS.blue, 6000);
    proxy.setLatency(LATENCY_PROFILES.R2);
    let busy = true;
    const keepBusy = async () => {
      while (busy) await b.graphql('{ dataset { version } }');
    };
    const readers = [keepBusy(), keepBusy(), keepBusy()];
    const missed: string[] = [];
    try {
      for (const [i, bytes] of images.entries()) {
        const { id } = await a.upload(bytes, `blue-${i}.jpg`);
        const read = await b.graphql<{ image: { id: string } | null }>('query ($id: ID!) { image(id: $id) { id } }', {
          id,
        });
        assert.equal(read.errors, undefined, JSON.stringify(read.errors));
        if (!read.data!.image) missed.push(id);
      }
    } finally {
      busy = false;
      await Promise.all(readers);
      proxy.setLatency(null);
    }
    t.diagnostic(`${missed.length} of ${images.length} writes unseen on the other process right after their answer`);
    assert.deepEqual(missed, []);
  });

  test('an image uploaded on one process can be deleted on another', async () => {
    const [a, b] = replicas as [ServiceProcess, ServiceProcess];
    const [bytes] = await distinctImages(1, COLOURS.cyan, 4000);
    const { id } = await a.upload(bytes!, 'cyan.jpg');
    const deleted = await b.graphql('mutation ($id: ID!) { deleteImage(id: $id) { deleted } }', { id });
    assert.equal(deleted.errors, undefined, JSON.stringify(deleted.errors));
    assert.equal(deleted.data!.deleteImage.deleted, true);
    assert.ok(!(await storedIds(a)).includes(id));
  });
});

describe('the maintenance lease between two service processes on one S3 prefix', { skip: S3_SKIP }, () => {
  // A short term, so that a take-over after a crash happens within the test; the default term's
  // behaviour is in maintenance-lease.test.ts, on a clock moved by hand.
  const TERM_MS = 3000;
  let env: Record<string, string>;
  let replicas: ServiceProcess[] = [];

  before(async () => {
    env = s3Env();
    const model = await testModelDir();
    for (let i = 0; i < 2; i++) {
      replicas.push(
        await startServiceProcess({
          ...env,
          EMBEDDING_MODEL: model,
          MODEL_CACHE_DIR: tmpdir(),
          INDEX_MIN_ROWS: '1000000',
          MAINTENANCE_LEASE_MS: String(TERM_MS),
        }),
      );
    }
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    replicas = [];
    if (!env) return;
    await emptyPrefix(openStorage(loadSettings(env)).objects);
  });

  test('one process folds the small fragments both make; killed, the other takes the lease over once it expires, and folds', async () => {
    const [a, b] = replicas as [ServiceProcess, ServiceProcess];
    const images = await distinctImages(17, COLOURS.cyan, 5000);
    await a.upload(images[0]!, 'first.jpg'); // a's upkeep after its commit takes the free lease
    await until(() => logged(a, TOOK_LEASE).length === 1, 'a taking the lease', 10_000);
    // Single uploads on b leave small fragments; a sees them through its refresh, and folds them.
    for (let i = 1; i <= 8; i++) await b.upload(images[i]!, `b-${i}.jpg`);
    await until(() => logged(a, FOLDED).length > 0, "a folding b's fragments", 30_000);
    assert.deepEqual([logged(b, TOOK_LEASE).length, logged(b, FOLDED).length], [0, 0], 'b ran upkeep beside a');

    await a.kill(); // no release: the lease stays a's until it expires
    for (let i = 9; i < images.length; i++) await b.upload(images[i]!, `b-${i}.jpg`);
    await until(() => logged(b, TOOK_LEASE).length > 0, 'b taking the lease over', 30_000);
    const [takeOver] = logged(b, TOOK_LEASE);
    assert.equal(
      (takeOver!.previous as { released: boolean }).released,
      false,
      'taken over as released, not as expired',
    );
    await until(() => logged(b, FOLDED).length > 0, 'b folding', 30_000);
    const stored = await b.graphql<{ images: Array<{ id: string }> }>(ALL_IDS);
    assert.equal(stored.data!.images.length, images.length, 'rows as b reads them');
  });
});

describe('replicas handing their appends to the lease holder on one S3 prefix', { skip: S3_SKIP }, () => {
  const TOKEN = 'a-secret-the-replicas-share';
  const RELAY_FAILED = 'the lease holder did not take the appends; committing them here';
  let holderEnv: Record<string, string>;
  // The other replica talks to the store through the counting proxy: its PUTs show what it wrote.
  let proxy: S3Proxy;
  let replicas: ServiceProcess[] = [];
  const datasetPuts = () => proxy.stats().objectPuts.filter((key) => key.includes('/images.lance/'));

  /** A replica at its defaults, but for its address and the shared secret. */
  const startReplica = async (env: Record<string, string>) => {
    const port = await freePort();
    return startServiceProcess({
      ...env,
      EMBEDDING_MODEL: await testModelDir(),
      MODEL_CACHE_DIR: tmpdir(),
      PORT: String(port),
      REPLICA_URL: `http://127.0.0.1:${port}`,
      REPLICA_TOKEN: TOKEN,
    });
  };

  before(async () => {
    const prefix = `test-${randomUUID()}`;
    proxy = await startS3Proxy(process.env.S3_ENDPOINT!);
    holderEnv = s3Env(process.env.S3_ENDPOINT!, prefix);
    replicas.push(await startReplica(holderEnv));
    // Its readers never look for other processes' versions by themselves within the test: what it
    // reads of the holder's commits, it knows from the hand-offs.
    replicas.push(await startReplica({ ...s3Env(proxy.url, prefix), READ_CONSISTENCY_MS: '3600000' }));
  });

  after(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    replicas = [];
    if (!holderEnv) return;
    await emptyPrefix(openStorage(loadSettings(holderEnv)).objects);
    await proxy?.close();
  });

  test("the holder commits the other replica's uploads, which that replica reads at once, one row for bytes sent to both; with the holder dead the replica commits itself", async () => {
    const [holder, other] = replicas as [ServiceProcess, ServiceProcess];
    const images = await distinctImages(6, COLOURS.magenta, 7000);
    const first = await holder.upload(images[0]!, 'first.jpg'); // its commit takes the free lease
    await until(() => logged(holder, TOOK_LEASE).length === 1, 'the first replica taking the lease', 10_000);

    proxy.reset();
    const handed = await Promise.all([1, 2, 3].map((i) => other.upload(images[i]!, `other-${i}.jpg`)));
    assert.ok(handed.every((outcome) => outcome.created));
    assert.deepEqual(datasetPuts(), [], 'the replica wrote dataset files itself');
    // The replica reads the holder's version because the hand-off told it.
    for (const { id } of handed) {
      const found = await other.graphql<{ image: { id: string } | null }>(
        'query ($id: ID!) { image(id: $id) { id } }',
        {
          id,
        },
      );
      assert.equal(found.data?.image?.id, id, 'the uploading replica reads its upload');
    }
    // The same new bytes to both at once: the holder's writer commits its own upload and the
    // other's hand-off, and keeps one row.
    // Names of their own: a copy with this upload's time and name is this upload's (isCopyOf).
    const both = await Promise.all([
      holder.upload(images[5]!, 'both-holder.jpg'),
      other.upload(images[5]!, 'both-other.jpg'),
    ]);
    assert.deepEqual(
      both.map((outcome) => outcome.created).sort(),
      [false, true],
      'one of the two uploads created the image',
    );
    assert.deepEqual(datasetPuts(), [], 'the replica wrote dataset files itself');

    await holder.kill();
    const alone = await other.upload(images[4]!, 'alone.jpg');
    assert.equal(alone.created, true);
    assert.ok(
      datasetPuts().some((key) => key.includes('/_versions/')),
      'the replica committed no version of its own',
    );
    assert.equal(logged(other, RELAY_FAILED).length, 1);
    const uploaded = [first, ...handed, both[0], alone].map((outcome) => outcome.id);
    assert.deepEqual((await storedIds(other)).sort(), uploaded.sort(), 'one row for each upload');
  });
});
