import type { ImageCatalog } from '../../src/services/catalog/catalog.js';
import { COLUMNS, METADATA_COLUMNS, type Column } from '../../src/services/catalog/image-record.js';
import { GraphQLClient } from '../lib/graphql-client.js';
import { openApp } from '../lib/harness.js';
import { bytesRead } from '../lib/lance-plan.js';
import { bytes, ms, type Cell, type SuiteResult } from '../lib/report.js';
import { timed } from '../lib/stats.js';
import type { Suite, SuiteContext } from '../lib/suite.js';
import { SyntheticEmbeddings, fillCatalog } from '../lib/synthetic.js';
import { lanceReader } from '../../src/services/catalog/test-access.js';

const PAGE = 1000;

/** Column sets read straight from Lance, as `ImageCatalog` would ask for them. */
const COLUMN_SETS: Array<[string, Column[]]> = [
  ['id filename size', ['id', 'filename', 'size']],
  ['all metadata (every column but vector)', METADATA_COLUMNS],
  ['id vector', ['id', 'vector']],
  ['everything', [...COLUMNS]],
];

/** GraphQL selections of `images`, paged through the whole dataset. */
const SELECTIONS: Array<[string, string]> = [
  ['{ id filename size }', 'id filename size'],
  [
    '{ id key url filename contentType size width height createdAt }',
    'id key url filename contentType size width height createdAt',
  ],
  ['{ id vector }', 'id vector'],
  ['{ …every field, vector included }', 'id key url filename contentType size width height createdAt vector'],
];

interface ListCall {
  limit: number;
  offset: number;
  columns: Column[];
}

/** The columns `ImageCatalog.list` selects for a request: `id` first, in schema order. */
function selected(columns: readonly Column[]): Column[] {
  return COLUMNS.filter((c) => c === 'id' || columns.includes(c));
}

/** Bytes Lance reads for a full scan of `columns`, from `analyzePlan()`. */
async function scanBytes(catalog: ImageCatalog, columns: Column[]): Promise<number> {
  const { table } = await lanceReader(catalog);
  return bytesRead(table.query().select(selected(columns)));
}

/** Bytes Lance reads for one `ImageCatalog.list` call, replayed under the analyzer. */
async function listBytes(catalog: ImageCatalog, call: ListCall): Promise<number> {
  const { table } = await lanceReader(catalog);
  return bytesRead(table.query().select(selected(call.columns)).offset(call.offset).limit(call.limit));
}

/**
 * Records the columns that the `images` resolver passes to `catalog.list` (derived from the
 * selection by `imageColumns`), by wrapping that one method of this instance while `fn` runs.
 */
async function recordingListCalls<T>(
  catalog: ImageCatalog,
  fn: () => Promise<T>,
): Promise<{ value: T; calls: ListCall[] }> {
  const calls: ListCall[] = [];
  const original = catalog.list.bind(catalog);
  catalog.list = (limit, offset, columns, version, order) => {
    calls.push({ limit, offset, columns: [...columns] });
    return original(limit, offset, columns, version, order);
  };
  try {
    return { value: await fn(), calls };
  } finally {
    Reflect.deleteProperty(catalog, 'list');
  }
}

interface GraphQLRead {
  selection: string;
  columns: Column[];
  lanceBytes: number;
  responseBytes: number;
  ms: number;
}

/** Pages through every row with one selection; returns what Lance read and what the client got. */
async function graphqlRead(client: GraphQLClient, catalog: ImageCatalog, rows: number, fields: string) {
  const query = `query Page($offset: Int!) { images(limit: ${PAGE}, offset: $offset) { ${fields} } }`;
  const calls: ListCall[] = [];
  let responseBytes = 0;
  const { ms: elapsed } = await timed(async () => {
    for (let offset = 0; offset < rows; offset += PAGE) {
      const page = await recordingListCalls(catalog, () => client.request(query, { offset }));
      responseBytes += Buffer.byteLength(JSON.stringify(page.value));
      calls.push(...page.calls);
    }
  });
  let lanceBytes = 0;
  for (const call of calls) lanceBytes += await listBytes(catalog, call);
  return { columns: selected(calls[0]?.columns ?? []), lanceBytes, responseBytes, ms: elapsed };
}

type Scan = { name: string; columns: Column[]; bytes: number };

async function scanEachColumnSet(catalog: ImageCatalog): Promise<Scan[]> {
  const scans: Scan[] = [];
  for (const [name, columns] of COLUMN_SETS) {
    scans.push({ name, columns: selected(columns), bytes: await scanBytes(catalog, columns) });
  }
  return scans;
}

async function readEachSelection(client: GraphQLClient, catalog: ImageCatalog, rows: number): Promise<GraphQLRead[]> {
  await graphqlRead(client, catalog, rows, 'id'); // warm-up: the pinned handle, the HTTP connection
  const reads: GraphQLRead[] = [];
  for (const [selection, fields] of SELECTIONS) {
    reads.push({ selection, ...(await graphqlRead(client, catalog, rows, fields)) });
  }
  return reads;
}

async function run(ctx: SuiteContext): Promise<SuiteResult> {
  const rows = 2000;
  const running = await openApp(ctx.model);
  try {
    const { catalog } = running.services;
    await fillCatalog(running.services.writer, new SyntheticEmbeddings(running.services.batcher.dimension), rows);
    ctx.log(`projection: ${rows} rows, Lance scans`);
    const scans = await scanEachColumnSet(catalog);
    ctx.log(`projection: ${rows} rows, GraphQL images pages`);
    const reads = await readEachSelection(new GraphQLClient(running.url), catalog, rows);
    return report(rows, scans, reads);
  } finally {
    await running.close();
  }
}

const NOTES = [
  "bytes_read is the sum of the `bytes_read=` figures in Lance's `analyzePlan()` output (DataFusion counts: K = 1,000).",
  'GraphQL rows: the columns are the ones `imageColumns` (src/projection.ts) derived for each request, recorded by ' +
    'wrapping `catalog.list` during the request; each recorded call is then replayed under `analyzePlan()`.',
  'The vector column is 2 KiB a row (512 × 4 bytes) and dominates everything else; JSON serialisation of vectors ' +
    'makes the response far larger still.',
];

function report(rows: number, scans: Scan[], reads: GraphQLRead[]): SuiteResult {
  const everything = scans.at(-1)!.bytes;
  const share = (value: number) => `${((value / everything) * 100).toFixed(1)}%`;
  const scanRows: Cell[][] = scans.map((s) => [
    s.name,
    s.columns.join(', '),
    bytes(s.bytes),
    bytes(s.bytes / rows),
    share(s.bytes),
  ]);
  const readRows: Cell[][] = reads.map((r) => [
    `\`images ${r.selection}\``,
    r.columns.join(', '),
    bytes(r.lanceBytes),
    share(r.lanceBytes),
    bytes(r.responseBytes),
    ms(r.ms),
  ]);
  return {
    suite: 'projection',
    title: `Bytes Lance reads for metadata-only vs vector reads, at ${rows.toLocaleString('en')} rows.`,
    tables: [
      {
        title: 'Full scan of a column set (`table.query().select(columns)`)',
        columns: ['columns asked for', 'columns read', 'bytes_read', 'per row', 'of everything'],
        rows: scanRows,
      },
      {
        title: `Through GraphQL: \`images(limit: ${PAGE}, offset)\` paged over every row, over HTTP`,
        columns: ['selection', 'columns the catalog read', 'Lance bytes_read', 'of everything', 'response JSON', 'ms'],
        rows: readRows,
      },
    ],
    notes: [
      `${rows} synthetic rows (512-d float32 vectors, short metadata) appended through \`ImageCatalog.append\` in one commit.`,
      ...NOTES,
      '"ms" covers every page of one selection, request to parsed answer.',
    ],
    data: { rows, scans, reads },
  };
}

export const projectionSuite: Suite = { name: 'projection', run };
