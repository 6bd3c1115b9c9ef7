// The route through which replicas hand their appends to the holder of the maintenance lease
// (src/http/replica-appends.ts, src/services/catalog/append-relay.ts), on the real HTTP app: what
// it takes from a replica, and what it refuses from anyone else. Two real processes handing rows
// over on the real S3 server are in s3-replicas.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSettings } from '../src/config.js';
import { RELAY_PATH, encodeRows } from '../src/services/catalog/append-relay.js';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { openApp, syntheticRows, tempDir, until } from './support/harness.js';
import { COLOURS, distinctImages } from './support/images.js';
import { freePort, startServiceProcess, testModelDir } from './support/service-process.js';

const TOKEN = 'a-secret-the-replicas-share';
const IMAGE = 'query ($id: ID!) { image(id: $id) { id filename } }';

type App = Awaited<ReturnType<typeof openApp>>;

/** The same base64 vector with its first value NaN. */
function withNaN(vector: string): string {
  const bytes = Buffer.from(vector, 'base64');
  bytes.writeFloatLE(Number.NaN, 0);
  return bytes.toString('base64');
}

describe('POST /_replica/appends', () => {
  let app: App;
  let dimension: number;

  before(async () => {
    app = await openApp({ REPLICA_TOKEN: TOKEN });
    dimension = (await app.services).batcher.model.dimension;
  });
  after(() => app?.close());

  const post = (body: unknown, token: string | null = TOKEN) =>
    fetch(`${app.url}${RELAY_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const latestVersion = async () => (await app.services).catalog.version();
  const find = async (id: string) => {
    const response = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: IMAGE, variables: { id } }),
    });
    return ((await response.json()) as { data: { image: { id: string; filename: string } | null } }).data.image;
  };

  test("a replica's rows are committed and each is answered with its version", async () => {
    const rows = syntheticRows(2, dimension, 100);
    const response = await post(encodeRows(rows));
    assert.equal(response.status, 200);
    const { outcomes } = (await response.json()) as { outcomes: Array<{ created: boolean; version: number }> };
    assert.deepEqual(
      outcomes.map((o) => o.created),
      [true, true],
    );
    assert.equal(await latestVersion(), outcomes[0]!.version);
    assert.deepEqual(await find(rows[1]!.id), { id: rows[1]!.id, filename: rows[1]!.filename });
    // The same rows again (a hand-off tried again after its answer was lost): the same uploads,
    // created, not appended twice. Other uploads of the same bytes later: not created.
    const again = (await (await post(encodeRows(rows))).json()) as { outcomes: Array<{ created: boolean }> };
    const later = rows.map((row) => ({ ...row, createdAt: new Date(row.createdAt.getTime() + 1000) }));
    const other = (await (await post(encodeRows(later))).json()) as { outcomes: Array<{ created: boolean }> };
    assert.deepEqual(
      [...again.outcomes, ...other.outcomes].map((o) => o.created),
      [true, true, false, false],
    );
    assert.equal(await latestVersion(), outcomes[0]!.version, 'nothing committed again');
  });

  test('a file name is kept as an upload would keep it: control and bidi characters dropped', async () => {
    const [row] = syntheticRows(1, dimension, 400);
    const response = await post(encodeRows([{ ...row!, filename: 'cat\u202Egpj.exe\u0007' }]));
    assert.equal(response.status, 200);
    assert.equal((await find(row!.id))?.filename, 'catgpj.exe');
  });

  test('without the token, or with another, nothing is read or written: 401', async () => {
    const before = await latestVersion();
    const rows = encodeRows(syntheticRows(1, dimension, 200));
    for (const token of [null, 'not-the-secret-at-all', `${TOKEN}x`]) {
      const response = await post(rows, token);
      assert.equal(response.status, 401, String(token));
      const body = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
      assert.equal(body.errors[0]!.extensions.code, 'UNAUTHENTICATED');
    }
    assert.equal(await latestVersion(), before);
  });

  test('rows that are not what a replica sends are refused whole with BAD_USER_INPUT, and nothing is written', async () => {
    const before = await latestVersion();
    const [good, other] = encodeRows(syntheticRows(2, dimension, 300)).rows as [any, any]; // eslint-disable-line @typescript-eslint/no-explicit-any
    const short = encodeRows(syntheticRows(1, dimension - 1, 301)).rows[0];
    const cases: Array<[string, unknown]> = [
      ['not JSON', '{"rows": ['],
      ['no rows', { rows: [] }],
      ['a key that is not the id', { rows: [good, { ...other, key: good.key }] }],
      ['a path in the key', { rows: [good, { ...other, key: `images/../${other.id}.jpg` }] }],
      ['a vector of the wrong length', { rows: [good, short] }],
      ['a vector that is not base64', { rows: [good, { ...other, vector: '!!!' }] }],
      ['a negative size', { rows: [good, { ...other, size: -1 }] }],
      ['a content type that is no image', { rows: [good, { ...other, contentType: 'text/html' }] }],
      ['a time past the last date', { rows: [good, { ...other, createdAt: 2 ** 53 - 1 }] }],
      ['a vector with a NaN', { rows: [good, { ...other, vector: withNaN(other.vector as string) }] }],
    ];
    for (const [what, body] of cases) {
      const response = await post(body);
      assert.equal(response.status, 400, what);
      const answer = (await response.json()) as { errors: Array<{ extensions: { code: string } }> };
      assert.equal(answer.errors[0]!.extensions.code, 'BAD_USER_INPUT', what);
    }
    assert.equal(await latestVersion(), before);
    assert.equal(await find(good.id as string), null);
  });
});

describe('the hand-off route without REPLICA_TOKEN', () => {
  test('is not there: 404', async () => {
    const app = await openApp();
    try {
      const response = await fetch(`${app.url}${RELAY_PATH}`, { method: 'POST', body: '{}' });
      assert.equal(response.status, 404);
    } finally {
      await app.close();
    }
  });

  test('REPLICA_URL without REPLICA_TOKEN is refused at start', () => {
    assert.throws(
      () => loadSettings({ REPLICA_URL: 'http://10.0.0.5:4000' }),
      /REPLICA_URL: set without REPLICA_TOKEN/,
    );
  });
});

describe('a replica restarted at the same address', () => {
  test('does not hand its uploads to itself, named by the lease record its killed process left', async () => {
    const dir = await tempDir();
    const port = await freePort();
    const env = {
      DATA_URI: dir,
      EMBEDDING_MODEL: await testModelDir(),
      MODEL_CACHE_DIR: tmpdir(),
      PORT: String(port),
      REPLICA_URL: `http://127.0.0.1:${port}`,
      REPLICA_TOKEN: TOKEN,
    };
    const [before, after] = await distinctImages(2, COLOURS.orange, 8000);
    const first = await startServiceProcess(env);
    await first.upload(before!, 'before.jpg'); // takes the free lease, with this address in it
    await until(() => first.logs.some((l) => l.msg === 'took the maintenance lease'), 'taking the lease', 10_000);
    await first.kill(); // its lease stays for the term, naming this address
    const second = await startServiceProcess(env);
    try {
      assert.equal((await second.upload(after!, 'after.jpg')).created, true);
      const failed = second.logs.filter(
        (l) => l.msg === 'the lease holder did not take the appends; committing them here',
      );
      assert.deepEqual(failed, [], 'it handed its upload to itself');
    } finally {
      await second.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
