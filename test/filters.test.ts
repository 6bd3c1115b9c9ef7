import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ApolloServer } from '@apollo/server';
import type { GraphQLContext } from '../src/context.js';
import { filterSql } from '../src/services/catalog/image-filter.js';
import type { NewImageRow } from '../src/services/catalog/image-record.js';
import { ACCEPTED_CONTENT_TYPES } from '../src/services/images/image-probe.js';
import type { Services } from '../src/services/index.js';
import { imageFilter } from '../src/validation.js';
import { commitRows, execute, graphqlServer, openServices, syntheticRows, testModel } from './support/harness.js';

/** File names that a pasted-in filter would misread, each stored once. */
const HOSTILE_NAMES = [
  "' OR 1=1 --",
  'it\'s "quoted".png',
  '100%.png',
  '100x.png',
  'a_b.png',
  'axb.png',
  'back\\slash.png',
  'back\\\\double.png',
  'ünïcödé-☃.png',
  'ÜNÏCÖDÉ-caps.png',
  'plain.png',
];

describe('filterSql', () => {
  test('renders each condition from typed values, and nothing for an empty filter', () => {
    assert.equal(filterSql(undefined), undefined);
    assert.equal(filterSql({}), undefined);
    assert.equal(
      filterSql({
        contentTypes: ['image/gif', 'image/png'],
        width: { min: 10 },
        size: { min: 1, max: 2 },
        createdAt: { max: new Date('2025-01-02T03:04:05.678Z') },
        filenameContains: "a'%_\\b",
      }),
      "content_type IN ('image/gif', 'image/png') AND width >= 10 AND size >= 1 AND size <= 2 AND " +
        "created_at <= TIMESTAMP '2025-01-02T03:04:05.678Z' AND filename ILIKE '%a''\\%\\_\\\\b%' ESCAPE '\\'",
    );
  });

  test('refuses values the validation would never pass, rather than render them', () => {
    assert.throws(() => filterSql({ contentTypes: ["image/png') OR (1=1"] }), TypeError);
    assert.throws(() => filterSql({ width: { min: 1.5 } }), TypeError);
    assert.throws(() => filterSql({ size: { max: Number.NaN } }), TypeError);
    assert.throws(() => filterSql({ createdAt: { min: new Date(Date.UTC(10_000, 0, 1)) } }), TypeError);
  });
});

describe('imageFilter (validation)', () => {
  const refused = (value: Parameters<typeof imageFilter>[0], field: string) =>
    assert.throws(() => imageFilter(value), { field });

  test('maps every ContentType to an accepted MIME type', () => {
    const all = ['JPEG', 'PNG', 'WEBP', 'GIF', 'AVIF', 'TIFF'] as const;
    const filter = imageFilter({ contentTypes: [...all, 'PNG'] });
    assert.deepEqual(new Set(filter?.contentTypes), ACCEPTED_CONTENT_TYPES);
    assert.equal(filter?.contentTypes?.length, all.length, 'duplicates dropped');
  });

  test('refuses empty lists, negative or crossed ranges, empty or long names and far dates', () => {
    refused({ contentTypes: [] }, 'filter.contentTypes');
    refused({ width: { min: -1 } }, 'filter.width');
    refused({ size: { min: 10, max: 9 } }, 'filter.size');
    refused({ createdAt: { from: new Date('2025-02-01'), to: new Date('2025-01-01') } }, 'filter.createdAt');
    refused({ createdAt: { from: new Date(Date.UTC(10_000, 0, 1)) } }, 'filter.createdAt');
    refused({ filenameContains: '' }, 'filter.filenameContains');
    refused({ filenameContains: 'x'.repeat(256) }, 'filter.filenameContains');
    assert.equal(imageFilter({ width: {}, height: null }), undefined, 'no condition: no filter');
  });
});

/**
 * Through GraphQL on real Lance datasets: one of hostile names and colours of several formats,
 * sizes and times (no test writes to it), and one of 300 rows where 3 match, with a vector index.
 */
describe('filtered reads through GraphQL', () => {
  let server: ApolloServer<GraphQLContext>;
  let services: Services;
  let rows: NewImageRow[];
  const run = (query: string, variables?: Record<string, unknown>) => execute(server, services, query, variables);
  const names = (images: Array<{ filename: string }>) => images.map((i) => i.filename).sort();
  const IMAGES =
    'query ($filter: ImageFilter, $orderBy: ImageOrderBy) { images(filter: $filter, orderBy: $orderBy, limit: 100) { filename } }';

  before(async () => {
    server = await graphqlServer();
    services = await openServices();
    const dimension = (await testModel()).dimension;
    // One row a minute, sizes and widths rising with the row: ranges select known rows.
    rows = syntheticRows(HOSTILE_NAMES.length, dimension).map((row, i) => ({
      ...row,
      filename: HOSTILE_NAMES[i]!,
      contentType: i % 3 === 0 ? 'image/gif' : 'image/png',
      size: 1000 + i * 100,
      width: 10 + i,
      height: 100 - i,
      createdAt: new Date(Date.UTC(2025, 0, 1, 0, i)),
    }));
    await commitRows(services, rows);
  });
  after(async () => {
    await server?.stop();
    await services?.close();
  });

  test('a file-name substring matches literally, whatever SQL or LIKE syntax it holds', async () => {
    const cases: Array<[string, string[]]> = [
      ["' OR 1=1 --", ["' OR 1=1 --"]],
      ["'", ["' OR 1=1 --", 'it\'s "quoted".png']],
      ['"quoted"', ['it\'s "quoted".png']],
      ['%', ['100%.png']],
      ['_', ['a_b.png']],
      ['\\', ['back\\\\double.png', 'back\\slash.png']],
      ['\\\\', ['back\\\\double.png']],
      ['\\s', ['back\\slash.png']],
      ['☃', ['ünïcödé-☃.png']],
      ['ünïcödé', ['ÜNÏCÖDÉ-caps.png', 'ünïcödé-☃.png'].sort()],
      ['PLAIN', ['plain.png']],
      ['no such name', []],
    ];
    for (const [text, expected] of cases) {
      const result = await run(IMAGES, { filter: { filenameContains: text } });
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      assert.deepEqual(names(result.data!.images), [...expected].sort(), `filenameContains ${JSON.stringify(text)}`);
    }
  });

  test('content types, ranges and times keep exactly the rows that pass every condition', async () => {
    const expect = (keep: (row: NewImageRow) => boolean) =>
      rows
        .filter(keep)
        .map((r) => String(r.filename))
        .sort();
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ contentTypes: ['GIF'] }, expect((r) => r.contentType === 'image/gif')],
      [{ contentTypes: ['GIF', 'PNG'], width: { min: 12, max: 15 } }, expect((r) => r.width >= 12 && r.width <= 15)],
      [{ height: { max: 93 }, size: { min: 1500 } }, expect((r) => r.height <= 93 && r.size >= 1500)],
      [
        { createdAt: { from: '2025-01-01T00:02:00Z', to: '2025-01-01T00:04:00.000Z' } },
        expect((r) => r.createdAt >= new Date('2025-01-01T00:02:00Z') && r.createdAt <= new Date('2025-01-01T00:04Z')),
      ],
      [{ contentTypes: ['JPEG'] }, []],
    ];
    for (const [filter, expected] of cases) {
      const result = await run(IMAGES, { filter });
      assert.equal(result.errors, undefined, JSON.stringify(result.errors));
      assert.ok(expected.length > 0 || filter.contentTypes, 'a case that keeps nothing is on purpose');
      assert.deepEqual(names(result.data!.images), expected, JSON.stringify(filter));
    }
  });

  test('orderBy pages newest first by default, oldest first when asked, filtered alike', async () => {
    const filtered = rows.filter((r) => r.contentType === 'image/png').map((r) => r.filename);
    const result = await run(`{
      newest: images(limit: 3) { filename }
      oldest: images(limit: 3, orderBy: OLDEST_FIRST) { filename }
      newestPng: images(limit: 2, offset: 1, filter: { contentTypes: [PNG] }) { filename }
      oldestPng: images(limit: 2, offset: 1, orderBy: OLDEST_FIRST, filter: { contentTypes: [PNG] }) { filename }
      legacy: images(limit: 1, order: STORAGE) { filename }
    }`);
    assert.equal(result.errors, undefined, JSON.stringify(result.errors));
    const got = (alias: string) => (result.data![alias] as Array<{ filename: string }>).map((i) => i.filename);
    const all = rows.map((r) => r.filename);
    assert.deepEqual(got('newest'), all.slice(-3).reverse());
    assert.deepEqual(got('oldest'), all.slice(0, 3));
    assert.deepEqual(got('newestPng'), filtered.slice(-3, -1).reverse());
    assert.deepEqual(got('oldestPng'), filtered.slice(1, 3));
    assert.deepEqual(got('legacy'), all.slice(0, 1), 'the deprecated order still decides when sent');
  });

  test('bad filter values are BAD_USER_INPUT naming the field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ width: { min: -5 } }, 'filter.width'],
      [{ size: { min: 10, max: 1 } }, 'filter.size'],
      [{ contentTypes: [] }, 'filter.contentTypes'],
      [{ filenameContains: '' }, 'filter.filenameContains'],
    ];
    for (const [filter, field] of cases) {
      const result = await run(IMAGES, { filter });
      assert.equal(result.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(filter));
      assert.equal(result.errors?.[0]?.extensions?.field, field);
    }
    const unknown = await run(IMAGES, { filter: { contentTypes: ['BMP'] } });
    assert.equal(unknown.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', 'an unknown enum value');
    // Not RFC 3339 date-times (an extended year neither): DateTime itself refuses them.
    for (const from of ['yesterday', '+010000-01-01T00:00:00.000Z']) {
      const notADate = await run(IMAGES, { filter: { createdAt: { from } } });
      assert.equal(notADate.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', from);
    }
  });

  test('a filter costs query budget', async () => {
    // A page of 1,000 ids costs 1,000: ten fill MAX_QUERY_COST (10,000) exactly.
    const pages = (last: string) =>
      `{ ${Array.from({ length: 9 }, (_, n) => `p${n}: images(limit: 1000) { id }`).join(' ')} last: ${last} }`;
    const plain = await run(pages('images(limit: 1000) { id }'));
    assert.equal(plain.errors, undefined, JSON.stringify(plain.errors));
    const filtered = await run(pages('images(limit: 1000, filter: { width: { min: 1 } }) { id }'));
    assert.equal(filtered.errors?.[0]?.extensions?.code, 'QUERY_TOO_COSTLY');
    // A filtered search costs what an exact one does (2,500, plus the filter and hits): three fit, four do not.
    const searches = (n: number) =>
      `{ ${Array.from({ length: n }, (_, i) => `s${i}: search(text: "red${i}", limit: 1, filter: { width: { min: 1 } }) { version }`).join(' ')} }`;
    assert.equal((await run(searches(3))).errors, undefined);
    assert.equal((await run(searches(4))).errors?.[0]?.extensions?.code, 'QUERY_TOO_COSTLY');
  });
});

describe('prefiltered vector search', () => {
  let server: ApolloServer<GraphQLContext>;
  let services: Services;
  const run = (query: string, variables?: Record<string, unknown>) => execute(server, services, query, variables);
  const SEARCH =
    'query ($filter: ImageFilter, $exact: Boolean) { search(text: "red", limit: 10, filter: $filter, exact: $exact) { cached hits { image { id contentType } } } }';

  before(async () => {
    server = await graphqlServer();
    services = await openServices();
    const dimension = (await testModel()).dimension;
    // 297 JPEG rows and 3 GIFs: an unfiltered search's 10 nearest are almost surely no GIF.
    const rows = syntheticRows(300, dimension).map((row, i) =>
      i % 100 === 42 ? { ...row, contentType: 'image/gif' } : row,
    );
    await commitRows(services, rows);
  });
  after(async () => {
    await server?.stop();
    await services?.close();
  });

  test('a filter that keeps 3 of 300 rows returns all 3, by scan and through the vector index', async () => {
    const filter = { contentTypes: ['GIF'] };
    const scan = await run(SEARCH, { filter, exact: true });
    assert.equal(scan.errors, undefined, JSON.stringify(scan.errors));
    assert.equal(scan.data!.search.hits.length, 3);
    const built = await run('mutation { createVectorIndex(type: IVF_PQ) { indexDetails { columns } } }');
    assert.equal(built.errors, undefined, JSON.stringify(built.errors));
    const indexed = await run(SEARCH, { filter });
    assert.equal(indexed.errors, undefined, JSON.stringify(indexed.errors));
    const hits = indexed.data!.search.hits as Array<{ image: { contentType: string } }>;
    assert.equal(hits.length, 3, 'the prefilter keeps every match, not the matches among the unfiltered nearest');
    assert.ok(hits.every((h) => h.image.contentType === 'image/gif'));
    const unfiltered = await run(SEARCH, {});
    assert.equal(unfiltered.data!.search.hits.length, 10);
  });

  test('the filter is part of the search-result cache key', async () => {
    const first = await run(SEARCH, { filter: { size: { max: 1100 } }, exact: true });
    const again = await run(SEARCH, { filter: { size: { max: 1100 } }, exact: true });
    const other = await run(SEARCH, { filter: { size: { max: 1050 } }, exact: true });
    assert.equal(first.data!.search.cached, false);
    assert.equal(again.data!.search.cached, true);
    assert.equal(other.data!.search.cached, false, 'another filter is another key');
    assert.equal(other.data!.search.hits.length, 10);
    const similar = await run(
      'query ($id: ID!) { similarImages(id: $id, filter: { size: { max: 1002 } }) { hits { image { size } } } }',
      {
        id: (await services.catalog.list(1, 0, ['id'])).at(0)!.id,
      },
    );
    assert.equal(similar.errors, undefined, JSON.stringify(similar.errors));
    assert.ok(similar.data!.similarImages.hits.every((h: { image: { size: number } }) => h.image.size <= 1002));
    assert.ok(similar.data!.similarImages.hits.length >= 2);
  });
});
