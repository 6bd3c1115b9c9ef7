// The route through which replicas hand their appends to the holder of the maintenance lease
// (src/http/replica-appends.ts, src/services/catalog/append-relay.ts), on the real HTTP app: what
// it takes from a replica, and what it refuses from anyone else. Two real processes handing rows
// over on the real S3 server are in s3-replicas.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadSettings } from '../src/config.js';
import { RELAY_PATH, encodeRows } from '../src/services/catalog/append-relay.js';
import { openApp, syntheticRows } from './support/harness.js';

const TOKEN = 'a-secret-the-replicas-share';
const IMAGE = 'query ($id: ID!) { image(id: $id) { id filename } }';

type App = Awaited<ReturnType<typeof openApp>>;

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
    // The same rows again are stored already: answered, not appended twice.
    const again = (await (await post(encodeRows(rows))).json()) as { outcomes: Array<{ created: boolean }> };
    assert.deepEqual(
      again.outcomes.map((o) => o.created),
      [false, false],
    );
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
