import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { NewImageRow } from '../../src/services/catalog/image-record.js';

/** The benchmark's own table: created, filled and dropped by the suite, nothing else touched. */
const TABLE = 'bench_peer_images';
const INDEX = `${TABLE}_embedding_idx`;

/** pgvector's HNSW build parameters: m 16 (its default) and ef_construction 128 (twice its default). */
export const HNSW_BUILD = { m: 16, efConstruction: 128 };

const PEER_SETTINGS = [
  'server_version',
  'shared_buffers',
  'maintenance_work_mem',
  'max_parallel_maintenance_workers',
  'work_mem',
  'jit',
];

/** What a typical client selects, as the service's hits (`id key filename width height`). */
const HIT_SELECT = 'id, key, filename, width, height';

/**
 * Float32 to text that reads back as the same float32 (9 significant digits always suffice), so
 * pgvector (which parses with strtof) holds exactly the vectors Lance holds.
 */
export function vectorLiteral(vector: ArrayLike<number>): string {
  return `[${Array.from(vector, (x) => x.toPrecision(9)).join(',')}]`;
}

/** One row as a line of COPY's text format (the synthetic rows hold no tab, newline or backslash). */
function copyLine(row: NewImageRow): string {
  const fields = [row.id, row.key, row.filename ?? '\\N', row.contentType, row.size, row.width, row.height];
  return `${fields.join('\t')}\t${row.createdAt.toISOString()}\t${vectorLiteral(row.vector)}\n`;
}

// Named statements are prepared once per connection, as a driver with a statement cache does.
const NEAREST = {
  name: 'peer_nearest',
  text: `SELECT ${HIT_SELECT}, embedding <=> $1::vector AS distance FROM ${TABLE} ORDER BY embedding <=> $1::vector LIMIT $2`,
};
// pgvector's documented form for "nearest to a row": the row's vector as a subquery.
const SIMILAR = {
  name: 'peer_similar',
  text: `SELECT ${HIT_SELECT}, embedding <=> (SELECT embedding FROM ${TABLE} WHERE id = $1) AS distance
         FROM ${TABLE} WHERE id <> $1 ORDER BY embedding <=> (SELECT embedding FROM ${TABLE} WHERE id = $1) LIMIT $2`,
};

/** Searches through a pool of connections that all use one `hnsw.ef_search`. */
export interface PeerSearcher {
  /** The `limit` nearest rows to a vector: one SQL statement. */
  nearest(vector: ArrayLike<number>, limit: number): Promise<string[]>;
  /** The `limit` nearest rows to a stored row, the row left out: one SQL statement, as `similarImages`. */
  similarTo(id: string, limit: number): Promise<string[]>;
  /** One statement run under EXPLAIN ANALYZE on a connection of the pool (so with its ef_search). */
  explain(query: { vector: ArrayLike<number> } | { id: string }, limit: number): Promise<Explained>;
  close(): Promise<void>;
}

/** What EXPLAIN ANALYZE says of one statement. */
export interface Explained {
  /**
   * Whether the plan walks the HNSW index: the planner weighs it against a scan of the whole
   * table by cost, which depends on the table's size and on ef_search, and a small table is
   * scanned (exactly) instead.
   */
  usesIndex: boolean;
  /** Whether PostgreSQL JIT-compiled it (on by default above a plan cost; it costs milliseconds). */
  jit: boolean;
  /** The server's own time; what the round trip adds is the rest. */
  planningMs: number;
  executionMs: number;
}

/**
 * The peer a user might pick instead: a table of the same rows in PostgreSQL with pgvector,
 * searched by cosine distance through its HNSW index. Every statement goes through `pg`, as an
 * application would send it.
 */
export class PgvectorPeer {
  private constructor(
    private readonly url: string,
    private readonly admin: pg.Client,
  ) {}

  static async open(url: string): Promise<PgvectorPeer> {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    return new PgvectorPeer(url, admin);
  }

  /** Versions and the settings that bear on the figures, for the report. */
  async describe(): Promise<Record<string, string>> {
    await this.admin.query('CREATE EXTENSION IF NOT EXISTS vector');
    const { rows } = await this.admin.query<{ name: string; value: string }>(
      `SELECT 'pgvector' AS name, extversion AS value FROM pg_extension WHERE extname = 'vector'
       UNION ALL SELECT name, current_setting(name) FROM unnest($1::text[]) AS name`,
      [PEER_SETTINGS],
    );
    return Object.fromEntries(rows.map((row) => [row.name, row.value]));
  }

  /** A fresh, empty table with the service's columns; `id` is the primary key, as it is looked up by. */
  async reset(dimension: number): Promise<void> {
    await this.admin.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await this.admin.query(
      `CREATE TABLE ${TABLE} (id text PRIMARY KEY, key text NOT NULL, filename text, content_type text NOT NULL,
         size integer NOT NULL, width integer NOT NULL, height integer NOT NULL,
         created_at timestamptz NOT NULL, embedding vector(${dimension}) NOT NULL)`,
    );
  }

  /** Streams the rows in with one COPY, pgvector's advice for bulk loading; returns the rows copied. */
  async load(batches: AsyncIterable<NewImageRow[]>): Promise<number> {
    const copy = this.admin.query(
      copyFrom(
        `COPY ${TABLE} (id, key, filename, content_type, size, width, height, created_at, embedding) FROM STDIN`,
      ),
    );
    async function* lines() {
      for await (const rows of batches) yield rows.map(copyLine).join('');
    }
    await pipeline(Readable.from(lines()), copy);
    return copy.rowCount;
  }

  /** The HNSW index by cosine distance, then statistics for the planner. */
  async buildIndex(): Promise<void> {
    const { m, efConstruction } = HNSW_BUILD;
    await this.admin.query(
      `CREATE INDEX ${INDEX} ON ${TABLE} USING hnsw (embedding vector_cosine_ops) WITH (m = ${m}, ef_construction = ${efConstruction})`,
    );
    await this.admin.query(`VACUUM ANALYZE ${TABLE}`);
  }

  /**
   * Loads the table and its indices into shared buffers (pg_prewarm, shipped with PostgreSQL), as
   * the service loads its indices at start; false when the extension is not there.
   */
  async prewarm(): Promise<boolean> {
    try {
      await this.admin.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm');
    } catch {
      return false;
    }
    for (const relation of [TABLE, INDEX, `${TABLE}_pkey`]) {
      await this.admin.query('SELECT pg_prewarm($1::regclass)', [relation]);
    }
    return true;
  }

  /** Bytes on disk: the table with all its indices (and TOAST), and the HNSW index alone. */
  async sizes(): Promise<{ totalBytes: number; vectorIndexBytes: number }> {
    const { rows } = await this.admin.query<{ total: string; index: string }>(
      'SELECT pg_total_relation_size($1::regclass) AS total, pg_relation_size($2::regclass) AS index',
      [TABLE, INDEX],
    );
    return { totalBytes: Number(rows[0]!.total), vectorIndexBytes: Number(rows[0]!.index) };
  }

  /** A pool of up to `clients` connections, each searching with `hnsw.ef_search = efSearch`. */
  searcher(efSearch: number, clients: number): PeerSearcher {
    const pool = new pg.Pool({ connectionString: this.url, max: clients, options: `-c hnsw.ef_search=${efSearch}` });
    const ids = (result: pg.QueryResult<{ id: string }>) => result.rows.map((row) => row.id);
    return {
      nearest: async (vector, limit) => ids(await pool.query({ ...NEAREST, values: [vectorLiteral(vector), limit] })),
      similarTo: async (id, limit) => ids(await pool.query({ ...SIMILAR, values: [id, limit] })),
      explain: async (query, limit) => {
        const [text, value] = 'id' in query ? [SIMILAR.text, query.id] : [NEAREST.text, vectorLiteral(query.vector)];
        const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ANALYZE ${text}`, [value, limit]);
        const plan = rows.map((row) => row['QUERY PLAN']).join('\n');
        const time = (label: string) => Number(new RegExp(`${label} Time: ([\\d.]+) ms`).exec(plan)?.[1] ?? NaN);
        return {
          usesIndex: plan.includes(`Index Scan using ${INDEX}`),
          jit: /^JIT:/m.test(plan),
          planningMs: time('Planning'),
          executionMs: time('Execution'),
        };
      },
      close: () => pool.end(),
    };
  }

  /** Drops the benchmark's table (and its indices) and disconnects. */
  async close({ drop }: { drop: boolean }): Promise<void> {
    try {
      if (drop) await this.admin.query(`DROP TABLE IF EXISTS ${TABLE}`);
    } finally {
      await this.admin.end();
    }
  }
}
